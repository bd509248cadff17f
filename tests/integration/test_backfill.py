"""The backfill's local engine end to end, over HTTPS to the sandbox: real gateways, the Zuora simulator's Data Query,
the Salesforce simulator's queryAll, merges and Recycle Bin, counted at the simulators.

1. A seeded mix of 2,000 accounts: every category ends in its expected outcome; a dry run writes nothing anywhere.
2. A re-run changes nothing; a run killed halfway and started again ends as an uninterrupted run does.
3. Contact-email matching costs at most one Salesforce call per 50 accounts.
4. Zuora refusing one call in five (429) and Salesforce refusing one (REQUEST_LIMIT_EXCEEDED) lose no account.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.backfill_mix import MIX, BackfillMix, seed_backfill_mix, seed_zuora
from sandbox.stack import Sandbox
from sfzsync.backfill.connect import connect, options_of
from sfzsync.backfill.local import REPORT_CSV, RESULTS, Finished, run_local
from sfzsync.backfill.progress import ProgressBar
from sfzsync.settings import parse_secret

ROOT = Path(__file__).resolve().parents[2]
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def backfill(sandbox: Sandbox, runs: Path, *, batch_size: int = 200, **flags: bool) -> Finished:
    """One run of the local command's engine against the sandbox (flags: dry_run, create_missing)."""
    secret = parse_secret(sandbox.secret_document())
    connections = connect(secret, concurrency=8)
    options = options_of(secret, dry_run=flags.get("dry_run", False), create_missing=flags.get("create_missing", False))
    with open(os.devnull, "w", encoding="utf-8") as quiet:
        return run_local(
            connections.gateways,
            connections.data_query,
            options,
            runs,
            batch_size=batch_size,
            progress=ProgressBar(quiet),
            poll_seconds=0.01,
        )


def report_of(finished: Finished) -> dict[str, dict[str, str]]:
    with (finished.directory / REPORT_CSV).open(encoding="utf-8", newline="") as stream:
        return {line["zuora_account_number"]: line for line in csv.DictReader(stream)}


def crm_ids(sandbox: Sandbox) -> dict[str, str | None]:
    with sandbox.zuora.lock:
        return {number: account.get("crmId") for number, account in sandbox.zuora.accounts.items()}


def write_calls(sandbox: Sandbox) -> list[str]:
    """Every call to either simulator that could change something (a Composite that only queries is a read)."""
    zuora = [f"{c.method} {c.path}" for c in sandbox.zuora.calls if c.method in WRITES and c.path.startswith("/v1/")]
    salesforce = [
        f"{c.method} {c.path}"
        for c in sandbox.salesforce.calls
        if c.method in WRITES
        and c.path.startswith("/services/data/")
        and not (c.path.endswith("/composite") and all(r["method"] == "GET" for r in _subrequests(c.body)))
    ]
    return zuora + salesforce


def _subrequests(body: bytes) -> list[dict[str, str]]:
    return list(json.loads(body or b"{}").get("compositeRequest") or [{"method": "?"}])


# --- 1. every category, and the dry run -------------------------------------------------------------------------


@dataclass(frozen=True)
class MixRun:
    mix: BackfillMix
    report: dict[str, dict[str, str]]
    crm_ids: dict[str, str | None]
    rerun: dict[str, dict[str, str]]
    rerun_crm_ids: dict[str, str | None]
    rerun_writes: list[str]
    seconds: float


@pytest.fixture(scope="module")
def mix_run(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MixRun]:
    """2,000 accounts in the mix, linked once, then the whole backfill run again."""
    sandbox.reset()
    mix = seed_backfill_mix(sandbox.salesforce, sandbox.zuora, 2000)
    started = time.monotonic()
    first = backfill(sandbox, tmp_path_factory.mktemp("runs"))
    seconds = time.monotonic() - started
    linked = crm_ids(sandbox)
    sandbox.salesforce.clear_calls()
    sandbox.zuora.clear_calls()
    again = backfill(sandbox, tmp_path_factory.mktemp("rerun"))
    yield MixRun(mix, report_of(first), linked, report_of(again), crm_ids(sandbox), write_calls(sandbox), seconds)


@pytest.mark.parametrize("category", [name for name, _ in MIX])
def test_on_a_mix_of_2000_accounts_each_category_ends_in_its_expected_outcome(mix_run: MixRun, category: str) -> None:
    # Given
    numbers = [number for number, found in mix_run.mix.category.items() if found == category]
    # When: the report's line and Zuora's crmId after the run
    wrong: list[tuple[str, object, object]] = []
    for number in numbers:
        line, want = mix_run.report[number], mix_run.mix.expected[number]
        got = (line["outcome"], line["crm_id_state"], line["rule"], line["new_crm_id"])
        if got != (want.outcome, want.crm_id_state, want.rule, want.new_crm_id):
            wrong.append((number, got, want))
        elif want.candidates and tuple(line["candidates"].split()) != want.candidates:
            wrong.append((number, line["candidates"], want.candidates))
        elif want.new_crm_id and mix_run.crm_ids[number] != want.new_crm_id:
            wrong.append((number, "zuora crmId", mix_run.crm_ids[number]))
    # Then
    assert len(numbers) == 2000 * dict(MIX)[category] // 100
    assert wrong == []


def test_the_mix_run_reports_every_account_once_and_fails_none(mix_run: MixRun) -> None:
    assert len(mix_run.report) == 2000
    assert not [line for line in mix_run.report.values() if line["outcome"] == "failed"]
    assert mix_run.seconds < 60


def test_a_dry_run_decides_as_a_real_run_and_writes_nothing_in_either_system(sandbox: Sandbox, tmp_path: Path) -> None:
    # Given
    mix = seed_backfill_mix(sandbox.salesforce, sandbox.zuora, 300)
    before = (crm_ids(sandbox), sandbox.salesforce.records("Account"), sandbox.salesforce.records("Contact"))
    sandbox.salesforce.clear_calls()
    sandbox.zuora.clear_calls()
    # When: even with --create-missing
    finished = backfill(sandbox, tmp_path, dry_run=True, create_missing=True)
    # Then
    after = (crm_ids(sandbox), sandbox.salesforce.records("Account"), sandbox.salesforce.records("Contact"))
    assert write_calls(sandbox) == []
    assert after == before
    report = report_of(finished)
    assert {n: line["outcome"] for n, line in report.items()} == {
        n: mix.expected_with_create_missing(n).outcome for n in mix.expected
    }
    assert not [line for line in report.values() if line["applied"] == "yes"]


# --- 2. re-running, and a run killed halfway -----------------------------------------------------------------------


def test_running_again_changes_nothing(mix_run: MixRun) -> None:
    # Then: nothing written; what was linked reads as linked; what matched nothing still matches nothing
    assert mix_run.rerun_writes == []
    assert mix_run.rerun_crm_ids == mix_run.crm_ids
    outcomes = Counter(line["outcome"] for line in mix_run.rerun.values())
    assert outcomes == {"already_linked": 2000 - 140, "unmatched": 140}


def test_a_run_killed_halfway_and_started_again_ends_as_an_uninterrupted_run(sandbox: Sandbox, tmp_path: Path) -> None:
    # Given: the outcome of an uninterrupted run, then the same Zuora tenant again, unlinked
    mix = seed_backfill_mix(sandbox.salesforce, sandbox.zuora, 600)
    uninterrupted = backfill(sandbox, tmp_path / "straight", batch_size=50)
    expected_state = crm_ids(sandbox)
    sandbox.zuora.reset()
    seed_zuora(sandbox.zuora, mix)
    secret_file = tmp_path / "secret.json"
    secret_file.write_text(json.dumps(sandbox.secret_document()))
    command = [sys.executable, "-m", "sfzsync.backfill", "--secret-file", str(secret_file), "--batch-size", "50"]
    command += ["--runs-dir", str(tmp_path / "killed"), "--concurrency", "4", "--poll-seconds", "0.05"]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)])}
    # When: killed (SIGKILL, no chance to tidy up) once half the accounts are done, then started again
    sandbox.zuora.latency = 0.005  # time to catch it halfway
    try:
        killed_at = _kill_halfway(command, environment, tmp_path / "killed", 600)
    finally:
        sandbox.zuora.latency = 0.0
    again = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300, check=False)
    # Then
    assert again.returncode == 0, again.stderr
    assert 300 <= killed_at < 600
    run_dir = next(path for path in (tmp_path / "killed").iterdir() if path.is_dir())
    assert (run_dir / REPORT_CSV).read_text() == (uninterrupted.directory / REPORT_CSV).read_text()
    assert crm_ids(sandbox) == expected_state
    puts = Counter(c.path for c in sandbox.zuora.calls if c.method == "PUT")
    assert puts and max(puts.values()) == 1  # no account written twice


def _kill_halfway(command: list[str], environment: dict[str, str], runs: Path, accounts: int) -> int:
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = sum(len(path.read_bytes().splitlines()) for path in runs.glob(f"*/{RESULTS}"))
            if done >= accounts // 2:
                assert process.poll() is None, "the run ended before it could be killed"
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=30)
                return done
            time.sleep(0.01)
        raise AssertionError("the run never got halfway")
    finally:
        if process.poll() is None:
            process.kill()


# --- 3. batched Salesforce calls -----------------------------------------------------------------------------------


def test_contact_email_matching_costs_at_most_one_salesforce_call_per_50_accounts(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # Given: 1,000 Zuora accounts without crmId, each customer a Contact of its own Account
    accounts = 1000
    for i in range(accounts):
        account = sandbox.salesforce.insert("Account", {"Name": f"Firm {i}"})
        email = f"buyer{i}@firm{i}.example"
        sandbox.salesforce.insert("Contact", {"LastName": "Buyer", "Email": email, "AccountId": account})
        sandbox.zuora.seed_account(
            f"Firm {i}", account_number=f"E{i:05d}", bill_to_contact={"lastName": "Buyer", "workEmail": email},
            with_payment_method=False,
        )  # fmt: skip
    sandbox.salesforce.clear_calls()
    # When
    finished = backfill(sandbox, tmp_path)
    # Then
    calls = sandbox.salesforce.call_count(r"^/services/data/")
    assert finished.summary.by_outcome == {"linked": accounts}
    assert finished.summary.by_rule == {"contact_email": accounts}
    assert calls <= accounts / 50, f"{calls} Salesforce calls for {accounts} accounts"


# --- 4. rate limits --------------------------------------------------------------------------------------------------


def test_rate_limits_in_both_systems_slow_the_run_and_lose_no_account(sandbox: Sandbox, tmp_path: Path) -> None:
    # Given: Zuora answers 429 (Retry-After 1) to one API call in five; Salesforce refuses one call as over its limit
    mix = seed_backfill_mix(sandbox.salesforce, sandbox.zuora, 200)
    sandbox.zuora.throttle(every=5, retry_after=1)
    limit = sandbox.salesforce.add_fault(
        path=r"/composite$",
        status=403,
        body=[{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
    )
    # When
    finished = backfill(sandbox, tmp_path)
    # Then: every account linked or reported as the mix says, none failed, none missing
    report = report_of(finished)
    assert sandbox.zuora.throttled >= 40
    assert limit.fired == 1
    assert len(report) == 200
    assert {n: line["outcome"] for n, line in report.items()} == {n: e.outcome for n, e in mix.expected.items()}
    assert {n: crm for n, crm in crm_ids(sandbox).items() if mix.expected[n].new_crm_id} == {
        n: e.new_crm_id for n, e in mix.expected.items() if e.new_crm_id
    }
