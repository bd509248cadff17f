"""Deleted and merged records, queryAll, and the query limits the backfill sizes its lookups by.

Sources: REST API Developer Guide ("QueryAll": deleted and merged records are included, `IsDeleted` says which;
"Composite": up to 5 of the 25 subrequests may be queries), SOAP API Developer Guide ("merge()": up to three records
of one type, the others deleted and their related records reparented; queryAll() shows the deleted ones), Object
Reference (`MasterRecordId`: the record that remained after the merge that deleted this one), Developer Limits and
Allocations Quick Reference (SOQL statements up to 100,000 characters).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from simple_salesforce.format import format_soql

from sandbox.salesforce import SalesforceSim
from tests.sandbox.salesforce.conftest import VERSION, error_code_of, ids_of, run_composite
from tests.sandbox.salesforce.sf_client import Salesforce, SalesforceMalformedRequest


def _query(url: str, ref: str) -> dict[str, Any]:
    return {"method": "GET", "url": f"/services/data/v{VERSION}/{url}", "referenceId": ref}


def _account_with_contact(sim: SalesforceSim, name: str, email: str) -> tuple[str, str]:
    account_id = sim.insert("Account", {"Name": name})
    contact_id = sim.insert("Contact", {"LastName": name, "Email": email, "AccountId": account_id})
    return account_id, contact_id


def test_a_deleted_account_is_gone_from_query_but_found_by_query_all_with_is_deleted(
    sim: SalesforceSim, sf: Salesforce
) -> None:
    # Given
    kept = sim.insert("Account", {"Name": "Kept"})
    gone = sim.insert("Account", {"Name": "Gone"})
    # When
    sf.Account.delete(gone)
    soql = format_soql("SELECT Id, IsDeleted FROM Account WHERE Id IN {}", [kept, gone])
    # Then
    assert ids_of(sf.query(soql)) == [kept]
    found = {r["Id"]: r["IsDeleted"] for r in sf.query(soql, include_deleted=True)["records"]}
    assert found == {kept: False, gone: True}


def test_deleting_an_account_deletes_its_contacts_too(sim: SalesforceSim, sf: Salesforce) -> None:
    # Given
    account_id, contact_id = _account_with_contact(sim, "Gone", "jo@gone.example")
    # When
    sf.Account.delete(account_id)
    # Then
    assert sf.query("SELECT Id FROM Contact")["records"] == []
    deleted = sf.query("SELECT Id, IsDeleted FROM Contact", include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in deleted] == [(contact_id, True)]


def test_a_merge_deletes_the_losers_with_master_record_id_and_moves_their_contacts(
    sim: SalesforceSim, sf: Salesforce
) -> None:
    # Given
    master = sim.insert("Account", {"Name": "Acme"})
    loser, contact_id = _account_with_contact(sim, "ACME Inc", "jo@acme.example")
    # When
    sim.merge("Account", master, loser)
    # Then
    soql = format_soql("SELECT Id, IsDeleted, MasterRecordId FROM Account WHERE Id IN {}", [master, loser])
    rows = {r["Id"]: (r["IsDeleted"], r["MasterRecordId"]) for r in sf.query(soql, include_deleted=True)["records"]}
    assert rows == {master: (False, None), loser: (True, master)}
    assert (
        sf.query(format_soql("SELECT AccountId FROM Contact WHERE Id = {}", contact_id))["records"][0]["AccountId"]
        == master
    )


def test_a_merge_takes_at_most_three_records(sim: SalesforceSim) -> None:
    # Given
    master, *others = (sim.insert("Account", {"Name": f"A{i}"}) for i in range(4))
    # When / Then
    with pytest.raises(ValueError, match="three at most"):
        sim.merge("Account", master, *others)


def test_master_record_id_cannot_be_written(sim: SalesforceSim, sf: Salesforce) -> None:
    # Given
    master = sim.insert("Account", {"Name": "Acme"})
    # When
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Account.create({"Name": "Other", "MasterRecordId": master})
    # Then
    assert error_code_of(refused) == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_an_emptied_recycle_bin_hides_the_record_from_query_all_too(sim: SalesforceSim, sf: Salesforce) -> None:
    # Given
    gone = sim.insert("Account", {"Name": "Gone"})
    sim.delete("Account", gone)
    # When
    sim.empty_recycle_bin()
    # Then
    assert sf.query(format_soql("SELECT Id FROM Account WHERE Id = {}", gone), include_deleted=True)["records"] == []


def test_query_all_in_composite_reads_the_recycle_bin(sim: SalesforceSim, sf: Salesforce) -> None:
    # Given
    gone = sim.insert("Account", {"Name": "Gone"})
    sim.delete("Account", gone)
    soql = format_soql("SELECT Id FROM Account WHERE Id = {}", gone)
    # When
    results = run_composite(
        sf, [_query(f"query?q={soql}", "live"), _query(f"queryAll?q={soql}", "all")], all_or_none=False
    )
    # Then
    assert [len(r["body"]["records"]) for r in results] == [0, 1]


def test_a_composite_call_runs_five_queries_and_refuses_a_sixth(sim: SalesforceSim, sf: Salesforce) -> None:
    # Given
    five = [_query("query?q=SELECT Id FROM Account LIMIT 1", f"q{i}") for i in range(4)]
    five.append(_query("queryAll?q=SELECT Id FROM Account LIMIT 1", "q4"))
    # When
    accepted = run_composite(sf, five, all_or_none=False)
    with pytest.raises(SalesforceMalformedRequest) as refused:
        run_composite(sf, [*five, _query("query?q=SELECT Id FROM Contact LIMIT 1", "q5")], all_or_none=False)
    # Then
    assert [r["httpStatusCode"] for r in accepted] == [200] * 5
    assert error_code_of(refused) == "INVALID_INPUT"


def _statement_of(length: int) -> str:
    head = "SELECT Id FROM Contact WHERE Email IN ('"
    soql = head + "a" * (length - len(head) - 2) + "')"
    assert len(soql) == length
    return soql


@pytest.mark.parametrize(("length", "status"), [(100_000, 200), (100_001, 400)])
def test_a_statement_runs_up_to_100000_characters_and_is_malformed_beyond(
    sim: SalesforceSim, sf: Salesforce, length: int, status: int
) -> None:
    # Given: a statement in a Composite subrequest (a GET's URI would be limited to 16,384 bytes first)
    subrequest = _query(f"query?{urlencode({'q': _statement_of(length)})}", "long")
    # When
    (result,) = run_composite(sf, [subrequest], all_or_none=False)
    # Then
    assert result["httpStatusCode"] == status
    if status == 400:
        assert result["body"][0]["errorCode"] == "MALFORMED_QUERY"


def test_an_in_list_of_ids_matches_15_and_18_character_forms(sim: SalesforceSim, sf: Salesforce) -> None:
    # Given
    first = sim.insert("Account", {"Name": "One"})
    second = sim.insert("Account", {"Name": "Two"})
    # When
    result = sf.query(format_soql("SELECT Id FROM Account WHERE Id IN {} ORDER BY Name", [first[:15], second]))
    # Then
    assert ids_of(result) == [first, second]
