"""What the backfill reads (a Zuora account with its bill-to contact), decides and reports (one result per account)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from sfzsync.matching import CustomerEmail


class Outcome(StrEnum):
    """What became of one Zuora account (the report's `outcome` column)."""

    ALREADY_LINKED = "already_linked"  # its crmId is a live Account of this org: nothing to do
    NORMALISED = "normalised"  # a 15-character Id of a live Account, now its 18-character form
    RELINKED_TO_MASTER = "relinked_to_master"  # its Account was merged: now the Account that remained
    LINKED = "linked"  # matched by the checkout's rules
    CREATED = "created"  # no match: a new Account + Contact (only with --create-missing)
    UNMATCHED = "unmatched"  # no match, nothing created: listed for a person to decide
    CHANGED = "changed_since_snapshot"  # someone set its crmId after the query ran: left alone
    FAILED = "failed"  # an error the run could not wait out: listed with its reason; a re-run retries it


WRITES = frozenset({Outcome.NORMALISED, Outcome.RELINKED_TO_MASTER, Outcome.LINKED, Outcome.CREATED})


class CrmIdState(StrEnum):
    """What the account's crmId was (the report's `crm_id_state` column)."""

    NONE = "none"
    MALFORMED = "malformed"  # not a Salesforce Id at all (length, characters, checksum)
    NOT_AN_ACCOUNT = "not_an_account"  # an Id, of another object (not the 001 key prefix)
    SHORT = "id_15"  # a 15-character Id
    VALID = "valid"  # an 18-character Id (before its Account is checked)
    LIVE = "live"  # the Id of a live Account of this org
    DELETED = "deleted"  # of an Account in the Recycle Bin
    MERGED = "merged"  # of an Account merged into another (MasterRecordId)
    NOT_IN_ORG = "not_in_org"  # found nowhere in this org: another org's (a sandbox refresh), or purged


@dataclass(frozen=True)
class AccountRow:
    """One Zuora account and its bill-to contact, as the Data Query returns it (`source.ACCOUNTS_SQL`)."""

    account_number: str
    account_id: str = ""
    name: str = ""
    crm_id: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> AccountRow:
        """From a result row (CSV: every value a string, empty for null); the work email, else the personal one."""

        def text(name: str) -> str | None:
            value = record.get(name)
            return str(value).strip() or None if value is not None else None

        return cls(
            account_number=str(record["account_number"]),
            account_id=text("account_id") or "",
            name=text("account_name") or "",
            crm_id=text("crm_id"),
            email=text("work_email") or text("personal_email"),
            first_name=text("first_name"),
            last_name=text("last_name"),
            address1=text("address1"),
            city=text("city"),
            state=text("state"),
            postal_code=text("postal_code"),
            country=text("country"),
        )


@dataclass(frozen=True)
class AccountResult:
    """One line of the report."""

    account_number: str
    old_crm_id: str
    crm_id_state: str
    outcome: str
    new_crm_id: str = ""
    rule: str = ""
    candidates: tuple[str, ...] = ()
    applied: bool = False
    error: str = ""
    retryable: bool = False  # a failure a later attempt may get past (rate limits, timeouts): Step Functions retries

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> AccountResult:
        values = json.loads(line)
        values["candidates"] = tuple(values.get("candidates") or ())
        return cls(**values)

    def csv_row(self) -> list[str]:
        applied = "yes" if self.applied else "no"
        return [
            self.account_number,
            self.old_crm_id,
            self.crm_id_state,
            self.new_crm_id,
            self.rule,
            " ".join(self.candidates),
            self.outcome,
            applied,
            self.error,
        ]


CSV_COLUMNS = (
    "zuora_account_number",
    "old_crm_id",
    "crm_id_state",
    "new_crm_id",
    "rule",
    "candidates",
    "outcome",
    "applied",
    "error",
)


@dataclass(frozen=True)
class Plan:
    """What the Salesforce side decided for one account; `create_key` groups accounts that share one new Account."""

    row: AccountRow
    state: CrmIdState
    outcome: Outcome | None = None  # None: not decided yet
    target: str | None = None
    rule: str = ""
    candidates: tuple[str, ...] = ()
    email: CustomerEmail | None = None
    create_key: str | None = None
    error: str = ""
    retryable: bool = False


@dataclass(frozen=True)
class Options:
    """How a run behaves: the matching configuration comes from the secret, the rest from the person running it."""

    dry_run: bool = False
    create_missing: bool = False
    rules: tuple[str, ...] = ("contact_email", "account_domain")
    domain_field: str | None = None
    account_defaults: Mapping[str, Any] = field(default_factory=dict)
