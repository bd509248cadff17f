"""`make doctor`: read-only checks of a deployment's secret against the live Salesforce and Zuora.

Each check says what it looked at and, when it fails, exactly what to fix: the secret's fields, the Salesforce login
and the integration user's create access, the fields the service reads and writes (Product2's rate plan mapping, the
button's write-back fields, the matching domain field), the Connected App's callback, the Zuora login, the pinned
Zuora-Version and the product catalog. Nothing is written anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlencode

from sfzsync.errors import ConfigurationError, UpstreamError
from sfzsync.gateways.salesforce import SalesforceAuthenticator
from sfzsync.gateways.transport import TimeoutSession
from sfzsync.gateways.zuora import ZuoraRestGateway
from sfzsync.settings import Settings, load_settings


@dataclass(frozen=True)
class Check:
    name: str
    problem: str | None = None  # None: passed

    def line(self) -> str:
        return f"ok    {self.name}" if self.problem is None else f"FAIL  {self.name}: {self.problem}"


class _Salesforce:
    """The integration user's read-only view: sObject describes (cached) and the OAuth authorize page."""

    def __init__(self, settings: Settings, http: TimeoutSession) -> None:
        self._settings = settings.secret.salesforce
        self._http = http
        self._auth = SalesforceAuthenticator(self._settings, http)
        self._described: dict[str, dict[str, Any] | None] = {}

    def login(self) -> None:
        self._auth.token("doctor")

    def describe(self, sobject: str) -> dict[str, Any] | None:
        if sobject not in self._described:
            token, instance = self._auth.token("doctor")
            response = self._http.get(
                f"{instance}/services/data/v{self._settings.apiVersion}/sobjects/{sobject}/describe",
                headers={"Authorization": f"Bearer {token}"},
            )
            self._described[sobject] = response.json() if response.status_code == 200 else None
        return self._described[sobject]

    def callback_refused(self, callback_url: str) -> bool:
        query = urlencode({"response_type": "code", "client_id": self._settings.clientId, "redirect_uri": callback_url})
        response = self._http.get(f"{self._settings.base_url}/services/oauth2/authorize?{query}", allow_redirects=False)
        return "redirect_uri_mismatch" in (response.headers.get("Location", "") + response.text)


def _field_names(describe: dict[str, Any]) -> set[str]:
    return {str(field["name"]).lower() for field in describe.get("fields", [])}


def required_fields(settings: Settings) -> dict[str, list[tuple[str, str]]]:
    """(field, the setting that names it) by sObject: what the service reads or writes beyond standard fields."""
    secret = settings.secret
    fields: dict[str, list[tuple[str, str]]] = {
        "Product2": [(secret.sendToZuora.productRatePlanField, "sendToZuora.productRatePlanField")]
    }
    if secret.matching.domainField:
        fields.setdefault("Account", []).append((secret.matching.domainField, "matching.domainField"))
    write_back = secret.sendToZuora.writeBack
    for sobject, section, names in (
        ("Order", "order", write_back.order.model_dump()),
        ("OrderItem", "orderItem", write_back.orderItem.model_dump()),
    ):
        for setting, field in names.items():
            fields.setdefault(sobject, []).append((field, f"sendToZuora.writeBack.{section}.{setting}"))
    charge_field = secret.sendToZuora.productRatePlanChargeField
    if charge_field:
        fields["Product2"].append((charge_field, "sendToZuora.productRatePlanChargeField"))
    return fields


def _attempt(name: str, action: Callable[[], str | None]) -> Check:
    try:
        return Check(name, action())
    except UpstreamError as error:
        return Check(name, f"{error.code}: {error.message}")


def _salesforce_checks(settings: Settings, salesforce: _Salesforce, callback_url: str | None) -> Iterator[Check]:
    def can_create(sobject: str) -> str | None:
        if (salesforce.describe(sobject) or {}).get("createable"):
            return None
        return f"the integration user's profile or permission sets do not let it create {sobject}"

    def has_field(sobject: str, field: str, setting: str) -> str | None:
        if field.lower() in _field_names(salesforce.describe(sobject) or {}):
            return None
        return f"{sobject} has no field {field}: create it, or name another one in {setting}"

    def accepts(callback: str) -> str | None:
        if salesforce.callback_refused(callback):
            return "the Connected App's callback URL is not this one (redirect_uri_mismatch)"
        return None

    for sobject in ("Account", "Contact"):
        yield _attempt(f"the integration user can create {sobject} records", partial(can_create, sobject))
    for sobject, wanted in required_fields(settings).items():
        for field, setting in wanted:
            yield _attempt(f"{sobject}.{field} exists ({setting})", partial(has_field, sobject, field, setting))
    callback = callback_url or settings.secret.sendToZuora.callbackUrl
    if callback:
        yield _attempt(f"the Connected App accepts the callback {callback}", partial(accepts, callback))


def doctor_checks(settings: Settings, callback_url: str | None = None) -> Iterator[Check]:
    http = TimeoutSession(settings.runtime.connect_timeout, settings.runtime.read_timeout)
    salesforce = _Salesforce(settings, http)

    def login() -> None:
        salesforce.login()

    signed_in = _attempt(f"Salesforce login ({settings.secret.salesforce.authFlow})", login)
    yield signed_in
    if signed_in.problem is None:
        yield from _salesforce_checks(settings, salesforce, callback_url)
    zuora = ZuoraRestGateway(settings.secret.zuora, http)

    def zuora_login() -> None:
        zuora.find_accounts_by_crm_id("doctor-check")  # a token, the pinned Zuora-Version, an Object Query read

    def catalog() -> None:
        zuora.get_rate_plan("doctor-check")  # not found is fine: the catalog answered

    yield _attempt(f"Zuora login and Zuora-Version {settings.secret.zuora.zuoraVersion}", zuora_login)
    yield _attempt("Zuora's product catalog is readable", catalog)


def run_doctor(secret_id: str | None, callback_url: str | None = None) -> int:
    """Print every check; exit status 1 when one fails."""
    if not secret_id:
        print("FAIL  secret: give --secret-id or set SECRET_ID")
        return 1
    os.environ["SECRET_ID"] = secret_id
    os.environ.setdefault("IDEMPOTENCY_TABLE", "not-used-by-doctor")
    try:
        settings = load_settings()
    except ConfigurationError as error:
        print(Check("the secret", str(error)).line())
        return 1
    print(Check(f"the secret {secret_id} is valid").line())
    checks = list(doctor_checks(settings, callback_url))
    for check in checks:
        print(check.line())
    return 1 if any(check.problem for check in checks) else 0
