"""What a crmId says before and after Salesforce is asked (`sfzsync.backfill.crm_ids`)."""

from __future__ import annotations

from typing import Any

import pytest

from sfzsync.backfill.crm_ids import classify, masters_to_ask, resolve_ids
from sfzsync.backfill.models import CrmIdState
from sfzsync.ids import to_18

ACCOUNT = to_18("001000000000001")
MASTER = to_18("001000000000002")
FINAL = to_18("001000000000003")
CONTACT = to_18("003000000000001")


@pytest.mark.parametrize(
    ("raw", "state", "lookup"),
    [
        (None, CrmIdState.NONE, None),
        ("   ", CrmIdState.NONE, None),
        ("SF-123", CrmIdState.MALFORMED, None),
        ("001000000000001XYZ", CrmIdState.MALFORMED, None),  # 18 characters, wrong checksum
        (CONTACT, CrmIdState.NOT_AN_ACCOUNT, None),
        (ACCOUNT[:15], CrmIdState.SHORT, ACCOUNT),
        (ACCOUNT, CrmIdState.VALID, ACCOUNT),
        (f" {ACCOUNT} ", CrmIdState.VALID, ACCOUNT),
    ],
)
def test_a_crm_id_is_classified_by_its_text_and_named_in_18_characters(
    raw: str | None, state: CrmIdState, lookup: str | None
) -> None:
    # When
    found = classify(raw)
    # Then
    assert found == (state, lookup)


def _row(account_id: str, deleted: bool = False, master: str | None = None) -> dict[str, Any]:
    return {"Id": account_id, "IsDeleted": deleted, "MasterRecordId": master}


def test_a_live_account_stays_itself() -> None:
    # When
    checks = resolve_ids([ACCOUNT], {ACCOUNT: _row(ACCOUNT)})
    # Then
    assert (checks[ACCOUNT].state, checks[ACCOUNT].live_id) == (CrmIdState.LIVE, ACCOUNT)


def test_an_account_unknown_to_query_all_is_not_in_this_org() -> None:
    # When
    checks = resolve_ids([ACCOUNT], {})
    # Then
    assert (checks[ACCOUNT].state, checks[ACCOUNT].live_id) == (CrmIdState.NOT_IN_ORG, None)


def test_a_deleted_account_without_a_master_is_deleted() -> None:
    # When
    checks = resolve_ids([ACCOUNT], {ACCOUNT: _row(ACCOUNT, deleted=True)})
    # Then
    assert (checks[ACCOUNT].state, checks[ACCOUNT].live_id) == (CrmIdState.DELETED, None)


def test_a_merged_account_resolves_to_its_live_master_through_later_merges() -> None:
    # Given: ACCOUNT merged into MASTER, MASTER later merged into FINAL
    known = {
        ACCOUNT: _row(ACCOUNT, deleted=True, master=MASTER),
        MASTER: _row(MASTER, deleted=True, master=FINAL),
        FINAL: _row(FINAL),
    }
    # When
    checks = resolve_ids([ACCOUNT], known)
    # Then
    assert (checks[ACCOUNT].state, checks[ACCOUNT].live_id) == (CrmIdState.MERGED, FINAL)


def test_a_master_not_asked_about_yet_is_named_and_the_id_left_open() -> None:
    # Given
    known = {ACCOUNT: _row(ACCOUNT, deleted=True, master=MASTER)}
    # When
    checks = resolve_ids([ACCOUNT], known)
    # Then
    assert ACCOUNT not in checks
    assert masters_to_ask([ACCOUNT], known) == {MASTER}


def test_an_account_merged_into_one_deleted_since_is_deleted() -> None:
    # Given
    known = {ACCOUNT: _row(ACCOUNT, deleted=True, master=MASTER), MASTER: _row(MASTER, deleted=True)}
    # When
    checks = resolve_ids([ACCOUNT], known)
    # Then
    assert checks[ACCOUNT].state == CrmIdState.DELETED
