"""The state machine's steps (`sfzsync.backfill.steps`) over fakes: the query's file into the bucket, a batch's rows
out of the worker, a retryable failure handed to Step Functions' Retry, the report from every batch's rows and the
batches the map gave up on."""

from __future__ import annotations

import csv
import io
import json

import pytest

from sandbox.salesforce import SalesforceSim
from sfzsync.backfill.models import AccountRow, Options
from sfzsync.backfill.steps import BackfillReport, BackfillSteps
from sfzsync.errors import BatchIncompleteError, DataQueryFailedError, UpstreamError
from tests.unit.backfill.fakes import FakeDataQuery, FakeSalesforce, FakeZuora, MemoryStore, csv_of, gateways, row


def steps_over(
    rows: list[AccountRow], zuora: FakeZuora | None = None, status: str = "completed"
) -> tuple[BackfillSteps, MemoryStore, SalesforceSim]:
    sim = SalesforceSim()
    account = sim.insert("Account", {"Name": "Acme"})
    sim.insert("Contact", {"LastName": "Doe", "Email": "jane@acme.example", "AccountId": account})
    store = MemoryStore()
    zuora = zuora or FakeZuora({r.account_number: r.crm_id for r in rows})
    steps = BackfillSteps(
        gateways(FakeSalesforce(sim), zuora),
        FakeDataQuery(rows, polls=2, status=status),
        store,
        lambda dry_run, create_missing: Options(dry_run=dry_run, create_missing=create_missing),
    )
    return steps, store, sim


def items(rows: list[AccountRow]) -> list[dict[str, str]]:
    """The batch's items as the Distributed Map's CSV reader hands them over: header name -> text."""
    return list(csv.DictReader(io.StringIO(csv_of(rows))))


def test_the_query_is_started_with_the_execution_s_options_and_its_file_lands_in_the_bucket() -> None:
    # Given
    rows = [row("A1", None, "jane@acme.example")]
    steps, store, _ = steps_over(rows)
    # When
    started = steps.start_query({"runId": "run-1", "input": {"dryRun": True}})
    first = steps.check_query(started)
    second = steps.check_query(started)
    # Then
    assert started == {"runId": "run-1", "dryRun": True, "createMissing": False, "jobId": "job-1"}
    assert first == {"status": "in_progress"}
    assert second == {"status": "completed", "key": "snapshots/run-1/accounts.csv", "rows": 1}
    assert store.objects["snapshots/run-1/accounts.csv"].decode().splitlines()[1].startswith("id-A1,A1,")


def test_a_failed_query_raises_for_the_state_machine_s_query_failed_state() -> None:
    # Given
    steps, _, _ = steps_over([], status="failed")
    # When / Then
    with pytest.raises(DataQueryFailedError, match="cannot be resolved"):
        for _ in range(3):
            steps.check_query({"runId": "run-1", "jobId": "job-1"})


def test_a_batch_is_linked_and_its_rows_stored_under_its_first_account() -> None:
    # Given
    rows = [row("A1", None, "jane@acme.example"), row("A2", None, "x@gmail.com")]
    steps, store, _ = steps_over(rows)
    # When
    answer = steps.link_batch({"Items": items(rows), "BatchInput": {"runId": "run-1", "dryRun": False}})
    # Then
    assert answer == {"rows": "rows/run-1/A1.jsonl", "accounts": 2, "outcomes": {"linked": 1, "unmatched": 1}}
    lines = store.objects["rows/run-1/A1.jsonl"].decode().splitlines()
    assert [json.loads(line)["outcome"] for line in lines] == ["linked", "unmatched"]


def test_a_batch_with_accounts_a_retry_may_get_past_stores_its_rows_and_raises_for_step_functions() -> None:
    # Given: Zuora keeps refusing A2 as rate limited
    rows = [row("A1", None, "jane@acme.example"), row("A2", None, "jane@acme.example")]
    zuora = FakeZuora({"A1": None, "A2": None})
    zuora.failures["A2"] = [UpstreamError("zuora_backfill", "HTTP_429", "slow down", retryable=True)] * 10
    steps, store, _ = steps_over(rows, zuora)
    # When
    with pytest.raises(BatchIncompleteError, match="1 account"):
        steps.link_batch({"Items": items(rows), "BatchInput": {"runId": "run-1"}})
    # Then: A1 is done and its row kept; a retry of the batch would only read A1, not write it again
    assert zuora.writes == {"A1": 1}
    assert b'"outcome":"failed"' in store.objects["rows/run-1/A1.jsonl"]


def test_the_report_joins_every_batch_s_rows_in_account_order_and_lists_the_batches_the_map_gave_up_on() -> None:
    # Given: two batches linked, and a third the map gave up on (its result writer's FAILED file)
    rows = [row(f"A{i}", None, "jane@acme.example") for i in range(1, 6)]
    steps, store, _ = steps_over(rows)
    for batch in (rows[2:4], rows[0:2]):
        steps.link_batch({"Items": items(batch), "BatchInput": {"runId": "run-1"}})
    failed = [{"Input": json.dumps({"Items": items(rows[4:])}), "Error": "States.Timeout", "Cause": "took too long"}]
    store.put("results/map-run/FAILED_0.json", json.dumps(failed).encode(), "application/json")
    manifest = {"ResultFiles": {"FAILED": [{"Key": "results/map-run/FAILED_0.json", "Size": 1}], "SUCCEEDED": []}}
    store.put("results/map-run/manifest.json", json.dumps(manifest).encode(), "application/json")
    map_output = {"ResultWriterDetails": {"Bucket": "b", "Key": "results/map-run/manifest.json"}}
    # When
    answer = BackfillReport(store).write_report({"runId": "run-1", "dryRun": False, "map": map_output})
    # Then
    report = list(csv.reader(io.StringIO(store.objects["reports/run-1/report.csv"].decode())))
    assert [line[0] for line in report[1:]] == ["A1", "A2", "A3", "A4", "A5"]
    assert report[5][6:] == ["failed", "no", "NOT_PROCESSED: States.Timeout: took too long"]
    assert answer["outcomes"] == {"linked": 4, "failed": 1}
    assert "batch not processed: A5…: States.Timeout" in store.objects["reports/run-1/report.md"].decode()
