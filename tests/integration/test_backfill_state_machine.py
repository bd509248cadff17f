"""The backfill's state machine as template.yaml defines it, run in-process (`local_state_machine`) over the real
Lambda handlers, the sandbox's Salesforce and Zuora, and moto's S3: a dry run then a run end in their report; a batch
that keeps failing fails the run with its reason in the rows, and a redrive after the fix finishes it; a Data Query
that fails ends in QueryFailed with Zuora's reason."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode.cfn_yaml import load as load_cfn_yaml

from sandbox.backfill_mix import seed_backfill_mix
from sandbox.invoke import LambdaContext, load_handler
from sandbox.stack import BACKFILL_BUCKET, Sandbox
from tests.integration.local_state_machine import ExecutionFailedError, LocalStateMachine, render

ROOT = Path(__file__).resolve().parents[2]
TIMEOUTS = {"start_query": 25.0, "check_query": 900.0, "link_batch": 300.0, "write_report": 900.0}


@pytest.fixture(scope="module")
def template() -> Mapping[str, Any]:
    loaded: Mapping[str, Any] = load_cfn_yaml(str(ROOT / "template.yaml"))
    return loaded


def build_machine(
    template: Mapping[str, Any], items_per_batch: int, batch_timeout: float | None = None
) -> LocalStateMachine:
    """The definition with its substitutions resolved: each function a handler of functions/backfill, the bucket the
    sandbox's, the limits the parameters' defaults (batch size as given)."""
    app = load_handler("backfill")
    properties = template["Resources"]["BackfillStateMachine"]["Properties"]
    substitutions = {}
    for name, value in properties["DefinitionSubstitutions"].items():
        if "Fn::GetAtt" in value:
            substitutions[name] = f"local:{value['Fn::GetAtt'][0]}"
        elif value == {"Ref": "BackfillBucket"}:
            substitutions[name] = BACKFILL_BUCKET
        else:
            substitutions[name] = str(template["Parameters"][value["Ref"]]["Default"])
    substitutions["ItemsPerBatch"] = str(items_per_batch)
    functions = {
        "BackfillStartQueryFunction": "start_query",
        "BackfillCheckQueryFunction": "check_query",
        "BackfillLinkBatchFunction": "link_batch",
        "BackfillWriteReportFunction": "write_report",
    }

    def invoker(handler: str) -> Callable[[dict[str, Any]], Any]:
        timeout = batch_timeout if handler == "link_batch" and batch_timeout else TIMEOUTS[handler]
        return lambda event: getattr(app, handler)(event, LambdaContext(f"backfill-{handler}", timeout))

    lambdas = {f"local:{resource}": invoker(handler) for resource, handler in functions.items()}
    return LocalStateMachine(
        render(properties["Definition"], substitutions), lambdas, boto3.client("s3"), BACKFILL_BUCKET
    )


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKFILL_BUCKET", BACKFILL_BUCKET)


def report(run_id: str) -> dict[str, dict[str, str]]:
    body = boto3.client("s3").get_object(Bucket=BACKFILL_BUCKET, Key=f"reports/{run_id}/report.csv")["Body"].read()
    return {line["zuora_account_number"]: line for line in csv.DictReader(io.StringIO(body.decode()))}


def crm_ids(sandbox: Sandbox) -> dict[str, str | None]:
    with sandbox.zuora.lock:
        return {number: account.get("crmId") for number, account in sandbox.zuora.accounts.items()}


@pytest.mark.usefixtures("environment")
def test_a_dry_run_then_a_run_of_the_state_machine_end_in_their_reports(
    sandbox: Sandbox, template: Mapping[str, Any]
) -> None:
    # Given
    mix = seed_backfill_mix(sandbox.salesforce, sandbox.zuora, 400)
    machine = build_machine(template, items_per_batch=100)
    before = crm_ids(sandbox)
    # When
    dry = machine.start({"dryRun": True}, "sm-dry-run")
    after_dry_run = crm_ids(sandbox)
    done = machine.start({}, "sm-run")
    # Then
    assert after_dry_run == before
    assert {n: line["outcome"] for n, line in report("sm-dry-run").items()} == {
        n: e.outcome for n, e in mix.expected.items()
    }
    assert {n: line["applied"] for n, line in report("sm-dry-run").items()} == dict.fromkeys(mix.expected, "no")
    assert {n: (line["outcome"], line["new_crm_id"]) for n, line in report("sm-run").items()} == {
        n: (e.outcome, e.new_crm_id) for n, e in mix.expected.items()
    }
    assert {n: crm for n, crm in crm_ids(sandbox).items() if mix.expected[n].new_crm_id} == {
        n: e.new_crm_id for n, e in mix.expected.items() if e.new_crm_id
    }
    assert dry["report"]["report"]["accounts"] == done["report"]["report"]["accounts"] == 400
    assert machine.visited.count("LinkBatch") == 8  # 4 batches of 100, in each run
    assert {"Configure", "StartQuery", "WaitForQuery", "CheckQuery", "QueryDone", "WriteReport"} <= set(machine.visited)


@pytest.mark.usefixtures("environment")
def test_a_batch_that_keeps_failing_fails_the_run_and_a_redrive_after_the_fix_finishes_it(
    sandbox: Sandbox, template: Mapping[str, Any]
) -> None:
    # Given: Zuora refuses every write of one account (503) until it is fixed
    mix = seed_backfill_mix(sandbox.salesforce, sandbox.zuora, 150)
    stuck = next(n for n, e in mix.expected.items() if e.outcome == "linked")
    outage = sandbox.zuora.add_fault(path=f"/v1/accounts/{stuck}$", method="PUT", status=503, times=-1)
    machine = build_machine(template, items_per_batch=50, batch_timeout=4.0)
    # When
    with pytest.raises(ExecutionFailedError) as failed:
        machine.start({}, "sm-redrive")
    rows = boto3.client("s3").list_objects_v2(Bucket=BACKFILL_BUCKET, Prefix="rows/sm-redrive/")["Contents"]
    batches_before = machine.visited.count("LinkBatch")
    sandbox.zuora.clear_faults()
    machine.redrive()
    # Then: the run failed in the map, the stuck account's row said why; the redrive ran only that batch again
    assert (failed.value.state, failed.value.error) == ("LinkAccounts", "States.ExceedToleratedFailureThreshold")
    assert outage.fired >= 6  # the batch was tried again by the task's Retry
    assert len(rows) == 3
    assert machine.visited.count("LinkBatch") == batches_before + 1
    lines = report("sm-redrive")
    assert (lines[stuck]["outcome"], lines[stuck]["new_crm_id"]) == ("linked", mix.expected[stuck].new_crm_id)
    assert not [line for line in lines.values() if line["outcome"] == "failed"]
    assert len(lines) == 150


@pytest.mark.usefixtures("environment")
def test_a_data_query_that_fails_ends_the_run_in_query_failed_with_zuora_s_reason(
    sandbox: Sandbox, template: Mapping[str, Any]
) -> None:
    # Given
    reason = "Query exceeded the maximum time limit of 3600.00s"
    failed_job = {"data": {"id": "job-1", "queryStatus": "failed", "errorMessage": reason}}
    sandbox.zuora.add_fault(path=r"^/query/jobs/", method="GET", status=200, body=failed_job)
    machine = build_machine(template, items_per_batch=100)
    # When
    with pytest.raises(ExecutionFailedError) as failed:
        machine.start({}, "sm-query-failed")
    # Then
    assert (failed.value.state, failed.value.error) == ("QueryFailed", "DataQueryFailed")
    assert reason in failed.value.cause
    assert "LinkAccounts" not in machine.visited
