"""What a Zuora account's crmId says, before and after Salesforce is asked about it (pure functions)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simple_salesforce.format import format_soql

from sfzsync.backfill.models import CrmIdState
from sfzsync.ids import is_salesforce_id, to_18

ACCOUNT_KEY_PREFIX = "001"
MAX_MERGE_HOPS = 5  # a master merged again later: followed this far


def classify(raw: str | None) -> tuple[CrmIdState, str | None]:
    """The crmId's state from its text alone, and the 18-character Account Id to look up (None: nothing to look up)."""
    text = (raw or "").strip()
    if not text:
        return CrmIdState.NONE, None
    if not is_salesforce_id(text):
        return CrmIdState.MALFORMED, None
    try:
        canonical = to_18(text)
    except ValueError:  # an 18-character Id whose checksum does not match
        return CrmIdState.MALFORMED, None
    if not canonical.startswith(ACCOUNT_KEY_PREFIX):
        return CrmIdState.NOT_AN_ACCOUNT, None
    return (CrmIdState.SHORT if len(text) == 15 else CrmIdState.VALID), canonical


def id_check_soql(account_ids: Sequence[str]) -> str:
    """The queryAll that says, of each Id, whether it is live, deleted or merged (and into which Account)."""
    return format_soql(
        "SELECT Id, IsDeleted, MasterRecordId FROM Account WHERE Id IN {} LIMIT {:literal}",
        list(account_ids),
        str(len(account_ids)),
    )


@dataclass(frozen=True)
class IdCheck:
    """An Account Id as Salesforce knows it: `live_id` is the Account to link (itself, or its master), if any."""

    state: CrmIdState  # LIVE, DELETED, MERGED or NOT_IN_ORG
    live_id: str | None = None


def resolve_ids(account_ids: Collection[str], known: Mapping[str, Mapping[str, Any]]) -> dict[str, IdCheck]:
    """Each Id's fate from the queryAll rows seen so far (`known`, by 18-character Id); a merged Account's master is
    followed through later merges. An Id whose master chain leaves `known` is absent: ask about `masters_to_ask`."""
    checks: dict[str, IdCheck] = {}
    for account_id in account_ids:
        record = known.get(account_id)
        if record is None:
            checks[account_id] = IdCheck(CrmIdState.NOT_IN_ORG)
        elif not record.get("IsDeleted"):
            checks[account_id] = IdCheck(CrmIdState.LIVE, account_id)
        elif not record.get("MasterRecordId"):
            checks[account_id] = IdCheck(CrmIdState.DELETED)
        else:
            master = _live_master(account_id, known)
            if master is not None:
                checks[account_id] = IdCheck(CrmIdState.MERGED, master)
            elif _chain_end(account_id, known) in known:
                checks[account_id] = IdCheck(CrmIdState.DELETED)  # its master was deleted too: re-matched
    return checks


def masters_to_ask(account_ids: Collection[str], known: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Masters of merged Accounts that Salesforce has not been asked about yet."""
    wanted = set()
    for account_id in account_ids:
        end = _chain_end(account_id, known)
        if end is not None and end not in known:
            wanted.add(end)
    return wanted


def _chain_end(account_id: str, known: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The last Id of the merge chain from `account_id` (a live, deleted or unknown Account), or None if too long."""
    current = account_id
    for _ in range(MAX_MERGE_HOPS + 1):
        record = known.get(current)
        if record is None or not record.get("IsDeleted") or not record.get("MasterRecordId"):
            return current
        current = to_18(str(record["MasterRecordId"]))
    return None


def _live_master(account_id: str, known: Mapping[str, Mapping[str, Any]]) -> str | None:
    end = _chain_end(account_id, known)
    record = known.get(end) if end is not None else None
    return end if record is not None and not record.get("IsDeleted") else None
