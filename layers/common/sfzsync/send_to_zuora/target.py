"""The button URL: `?sfdc=<org my-domain host>&accountId=...|orderId=...`, checked before anything else happens."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sfzsync.errors import ButtonLinkError
from sfzsync.ids import is_salesforce_id, to_18

RECORD_PARAMS = {"accountId": ("001", "Account"), "orderId": ("801", "Order")}


@dataclass(frozen=True)
class ButtonTarget:
    domain: str
    param: str
    record_id: str

    @property
    def kind(self) -> str:
        return RECORD_PARAMS[self.param][1]

    def query(self) -> str:
        return urlencode({"sfdc": self.domain, self.param: self.record_id})


def parse_target(params: dict[str, str], allowed_domains: list[str]) -> ButtonTarget:
    """The button URL's `sfdc` must be an allowed domain, and exactly one well-formed Account or Order Id given."""
    domain = (params.get("sfdc") or "").strip().lower()
    if domain not in {d.lower() for d in allowed_domains}:
        # The service's own words only: the query text never reaches the page (it could be anybody's).
        raise ButtonLinkError(
            "This button points at a Salesforce org this service does not serve. "
            "Check the button URL and the allowedDomains setting."
        )
    given = [name for name in RECORD_PARAMS if params.get(name)]
    if len(given) != 1:
        raise ButtonLinkError("The button URL needs exactly one of accountId or orderId.")
    name = given[0]
    raw = params[name].strip()
    prefix, kind = RECORD_PARAMS[name]
    if not is_salesforce_id(raw) or not raw.startswith(prefix):
        raise ButtonLinkError(f"{name} is not a Salesforce {kind} Id (15 or 18 characters starting with {prefix}).")
    try:
        record_id = to_18(raw)
    except ValueError:
        raise ButtonLinkError(f"{name} is not a valid Salesforce Id (its checksum does not match).") from None
    return ButtonTarget(domain, name, record_id)
