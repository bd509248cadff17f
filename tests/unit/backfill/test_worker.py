"""The worker (`sfzsync.backfill.worker`, `writes`): each kind of account ends in its outcome; writes are read first,
never blind, never twice; a dry run writes nothing; what cannot be done is reported with its reason."""

from __future__ import annotations

from typing import Any

from sandbox.salesforce import SalesforceSim
from sfzsync.backfill.models import AccountResult, AccountRow, Outcome
from sfzsync.backfill.worker import link_batch
from sfzsync.errors import UpstreamError
from sfzsync.ids import to_18
from tests.unit.backfill.fakes import FakeSalesforce, FakeZuora, gateways, options, row

FOREIGN = to_18("001XX0000000001")


def org() -> tuple[SalesforceSim, dict[str, str]]:
    sim = SalesforceSim()
    ids = {
        name: sim.insert("Account", {"Name": name, **({"Website": website} if website else {})})
        for name, website in (
            ("Acme", None),
            ("Initech", "https://initech.example"),
            ("Master", None),
            ("Merged", None),
            ("Gone", None),
        )
    }
    sim.insert("Contact", {"LastName": "Doe", "Email": "jane@acme.example", "AccountId": ids["Acme"]})
    sim.merge("Account", ids["Master"], ids["Merged"])
    sim.delete("Account", ids["Gone"])
    return sim, ids


def run(
    rows: list[AccountRow], *, zuora: FakeZuora | None = None, sim: SalesforceSim | None = None, **changes: Any
) -> tuple[dict[str, AccountResult], FakeZuora, FakeSalesforce]:
    sim = sim or org()[0]
    zuora = zuora or FakeZuora({r.account_number: r.crm_id for r in rows})
    salesforce = FakeSalesforce(sim)
    results = link_batch(rows, gateways(salesforce, zuora), options(**changes))
    return {result.account_number: result for result in results}, zuora, salesforce


def test_every_kind_of_crm_id_ends_in_its_outcome() -> None:
    # Given
    sim, ids = org()
    rows = [
        row("A1", None, "jane@acme.example"),
        row("A2", ids["Acme"][:15], "x@acme.example"),
        row("A3", ids["Merged"], "m@merged.example"),
        row("A4", ids["Gone"], "jane@acme.example"),
        row("A5", FOREIGN, "bob@initech.example"),
        row("A6", "SF-42", "jane@acme.example"),
        row("A7", ids["Acme"], "jane@acme.example"),
        row("A8", None, "someone@gmail.com"),
    ]
    # When
    results, zuora, _ = run(rows, sim=sim)
    # Then
    summary = {n: (r.outcome, r.crm_id_state, r.rule, r.new_crm_id) for n, r in results.items()}
    assert summary == {
        "A1": ("linked", "none", "contact_email", ids["Acme"]),
        "A2": ("normalised", "id_15", "id_18", ids["Acme"]),
        "A3": ("relinked_to_master", "merged", "master_record", ids["Master"]),
        "A4": ("linked", "deleted", "contact_email", ids["Acme"]),
        "A5": ("linked", "not_in_org", "account_domain", ids["Initech"]),
        "A6": ("linked", "malformed", "contact_email", ids["Acme"]),
        "A7": ("already_linked", "live", "", ""),
        "A8": ("unmatched", "none", "", ""),
    }
    assert zuora.crm_ids["A1"] == ids["Acme"]
    assert set(zuora.writes) == {"A1", "A2", "A3", "A4", "A5", "A6"}
    assert all(results[n].applied for n in zuora.writes)


def test_a_dry_run_decides_everything_and_writes_nothing_anywhere() -> None:
    # Given
    sim, ids = org()
    rows = [row("A1", None, "jane@acme.example"), row("A2", None, "someone@gmail.com")]
    accounts_before = len(sim.records("Account"))
    # When
    results, zuora, salesforce = run(rows, sim=sim, dry_run=True, create_missing=True)
    # Then
    assert (results["A1"].outcome, results["A1"].new_crm_id, results["A1"].applied) == ("linked", ids["Acme"], False)
    assert (results["A2"].outcome, results["A2"].applied) == ("created", False)
    assert zuora.writes == {} and zuora.reads == {}
    assert salesforce.creates == []
    assert len(sim.records("Account")) == accounts_before


def test_an_account_already_holding_the_new_crm_id_is_not_written_again() -> None:
    # Given: an earlier, interrupted attempt wrote it after the query ran
    sim, ids = org()
    zuora = FakeZuora({"A1": ids["Acme"]})
    # When
    results, zuora, _ = run([row("A1", None, "jane@acme.example")], sim=sim, zuora=zuora)
    # Then
    assert (results["A1"].outcome, results["A1"].applied) == ("linked", True)
    assert zuora.writes == {}


def test_an_account_linked_by_someone_else_since_the_query_is_left_alone() -> None:
    # Given
    sim, ids = org()
    zuora = FakeZuora({"A1": ids["Initech"]})
    # When
    results, zuora, _ = run([row("A1", None, "jane@acme.example")], sim=sim, zuora=zuora)
    # Then
    assert results["A1"].outcome == Outcome.CHANGED
    assert ids["Initech"] in results["A1"].error
    assert zuora.crm_ids["A1"] == ids["Initech"]
    assert zuora.writes == {}


def test_create_missing_makes_one_account_per_company_and_links_the_others_to_it() -> None:
    # Given: two new customers at one company, one twice, and a free-mail customer
    sim, _ = org()
    rows = [
        row("A1", None, "ann@newco.example", name="NewCo", address1="1 Main St", city="Springfield", country="US"),
        row("A2", None, "ann@newco.example"),
        row("A3", None, "ben@newco.example"),
        row("A4", None, "someone@gmail.com"),
    ]
    # When
    results, zuora, salesforce = run(rows, sim=sim, create_missing=True)
    # Then
    assert [(r.outcome, r.rule) for r in results.values()] == [
        ("created", "created"),
        ("linked", "contact_email"),
        ("linked", "account_domain"),
        ("created", "created"),
    ]
    assert len({zuora.crm_ids[n] for n in ("A1", "A2", "A3")}) == 1
    assert len(salesforce.creates) == 2
    account, contact = salesforce.creates[0]
    assert (account["Name"], account["Website"], account["BillingCity"]) == ("NewCo", "newco.example", "Springfield")
    assert (contact["Email"], contact["LastName"]) == ("ann@newco.example", "Doe A1")
    assert results["A1"].candidates == (zuora.crm_ids["A1"],)


def test_a_duplicate_rule_hit_links_the_existing_account() -> None:
    # Given
    sim, ids = org()
    zuora = FakeZuora({"A1": None})
    salesforce = FakeSalesforce(sim)
    salesforce.duplicate_of = ids["Initech"]
    # When
    results = link_batch([row("A1", None, "x@gmail.com")], gateways(salesforce, zuora), options(create_missing=True))
    # Then
    assert (results[0].outcome, results[0].rule, results[0].new_crm_id) == ("linked", "duplicate_rule", ids["Initech"])


def test_a_refused_write_is_reported_with_its_reason_and_the_rest_of_the_batch_goes_on() -> None:
    # Given
    sim, ids = org()
    zuora = FakeZuora({"A1": None, "A2": None})
    refused = UpstreamError("zuora_backfill", "53100020", "crmId is not valid", retryable=False)
    zuora.failures["A1"] = [refused]
    rows = [row("A1", None, "jane@acme.example"), row("A2", None, "jane@acme.example")]
    # When
    results, zuora, _ = run(rows, sim=sim, zuora=zuora)
    # Then
    assert (results["A1"].outcome, results["A1"].error, results["A1"].retryable) == (
        "failed",
        "53100020: crmId is not valid",
        False,
    )
    assert (results["A2"].outcome, zuora.crm_ids["A2"]) == ("linked", ids["Acme"])


def test_a_rate_limited_write_is_waited_out_and_done() -> None:
    # Given: Zuora answers 429 twice (Retry-After 2 s) before taking the write
    sim, ids = org()
    zuora = FakeZuora({"A1": None})
    throttled = UpstreamError("zuora_backfill", "HTTP_429", "Too many requests", retryable=True, retry_after_seconds=2)
    zuora.failures["A1"] = [throttled, throttled]
    # When
    results, zuora, _ = run([row("A1", None, "jane@acme.example")], sim=sim, zuora=zuora)
    # Then
    assert (results["A1"].outcome, zuora.crm_ids["A1"]) == ("linked", ids["Acme"])


def test_a_write_still_refused_after_every_wait_fails_as_retryable() -> None:
    # Given
    sim, _ = org()
    zuora = FakeZuora({"A1": None})
    zuora.failures["A1"] = [UpstreamError("zuora_backfill", "HTTP_503", "down", retryable=True)] * 10
    # When
    results, _, _ = run([row("A1", None, "jane@acme.example")], sim=sim, zuora=zuora)
    # Then
    assert (results["A1"].outcome, results["A1"].retryable) == ("failed", True)


def test_a_salesforce_outage_fails_the_batch_s_accounts_with_the_reason_and_writes_nothing() -> None:
    # Given
    sim, ids = org()
    salesforce = FakeSalesforce(sim)
    salesforce.failures = [UpstreamError("salesforce_lookup", "SERVER_UNAVAILABLE", "down", retryable=True)] * 10
    zuora = FakeZuora({"A1": ids["Acme"], "A2": None})
    rows = [row("A1", ids["Acme"], "jane@acme.example"), row("A2", None, "jane@acme.example")]
    # When
    results: list[AccountResult] = link_batch(rows, gateways(salesforce, zuora), options())
    # Then
    assert [(r.outcome, r.error, r.retryable) for r in results] == [("failed", "SERVER_UNAVAILABLE: down", True)] * 2
    assert zuora.writes == {}


def test_results_come_in_the_batch_s_order_whatever_order_the_writes_finish_in() -> None:
    # Given
    sim, _ = org()
    rows = [row(f"A{i:03d}", None, "jane@acme.example" if i % 2 else "someone@gmail.com") for i in range(40)]
    zuora = FakeZuora({r.account_number: None for r in rows})
    # When
    results = link_batch(rows, gateways(FakeSalesforce(sim), zuora, concurrency=8), options())
    # Then
    assert [r.account_number for r in results] == [r.account_number for r in rows]
