"""The backfill half of `make bench`: the local command over a sandbox seeded with 10,000 accounts in the backfill's
mix (`sandbox.backfill_mix`), every Salesforce and Zuora call waiting the benchmark's injected latency, and the
projection of its figures to a million accounts under stated allowances.

How it measures: the command (`python -m sfzsync.backfill`) runs in a subprocess of its own (it does not share a GIL
with the simulators, and its peak RSS, from `os.wait4`, is its own), against the simulators in this process; calls
are counted at the simulators (their call logs), the run's outcomes read from its report.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# --- the stated allowances and prices of the projection (sources in the README's Backfill section) ---------------
SALESFORCE_DAILY_ALLOWANCE = 100_000  # Enterprise Edition's base daily API requests, before per-licence additions
SALESFORCE_SHARE = 0.25  # of it, what the backfill may spend in a day (the checkout keeps the rest)
ZUORA_API_PER_MINUTE = 50_000  # Zuora's default API rate limit per tenant
ZUORA_CONCURRENT = 200  # Zuora's default concurrent request limit per tenant
ZUORA_CALL_SECONDS = 0.3  # a real Zuora account read or update, as seen from AWS (assumed)
SALESFORCE_CALL_SECONDS = 0.5  # a real Composite call of 5 queries (assumed)
MAX_CONCURRENCY, WRITE_CONCURRENCY, ITEMS_PER_BATCH = 5, 8, 500  # the template's defaults: 40 Zuora calls at once
LAMBDA_GB_SECOND = 0.0000133334  # arm64, us-east-1
LAMBDA_REQUEST = 0.0000002
STATE_TRANSITION = 0.000025  # Step Functions standard workflows
S3_REQUEST = 0.000005  # PUT/LIST (GETs cost less)
TRANSITIONS_PER_BATCH = 4  # a child execution: started, its task scheduled and done, succeeded


@dataclass(frozen=True)
class BackfillResult:
    accounts: int
    seconds: float
    maxrss_kib: int
    latency: float
    batch_size: int
    concurrency: int
    salesforce: int
    salesforce_auth: int
    zuora: int
    zuora_auth: int
    zuora_by_kind: Counter[str]
    outcomes: Counter[str]


def measure_backfill(sandbox: Any, accounts: int, latency: float, batch_size: int, concurrency: int) -> BackfillResult:
    from sandbox.backfill_mix import seed_backfill_mix

    sandbox.reset()
    sandbox.salesforce.latency = sandbox.zuora.latency = 0.0
    seed_backfill_mix(sandbox.salesforce, sandbox.zuora, accounts)
    sandbox.salesforce.clear_calls()
    sandbox.zuora.clear_calls()
    sandbox.salesforce.latency = sandbox.zuora.latency = latency
    with tempfile.TemporaryDirectory(prefix="sfzsync-bench-backfill-") as workdir:
        secret = Path(workdir) / "secret.json"
        secret.write_text(json.dumps(sandbox.secret_document()))
        command = [sys.executable, "-m", "sfzsync.backfill", "--secret-file", str(secret)]
        command += ["--runs-dir", str(Path(workdir) / "runs"), "--batch-size", str(batch_size)]
        command += ["--concurrency", str(concurrency), "--poll-seconds", "0.5"]
        env = {**os.environ, **sandbox.environ(), "POWERTOOLS_LOG_LEVEL": "ERROR"}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)])
        started = time.monotonic()
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        if status != 0:
            raise RuntimeError(
                f"the backfill failed ({status}): {process.stderr.read().decode() if process.stderr else ''}"
            )
        report = next(Path(workdir, "runs").glob("*/report.csv"))
        with report.open(encoding="utf-8", newline="") as stream:
            outcomes = Counter(line["outcome"] for line in csv.DictReader(stream))
    sandbox.salesforce.latency = sandbox.zuora.latency = 0.0
    sf, zu = list(sandbox.salesforce.calls), list(sandbox.zuora.calls)
    kinds = Counter(_kind(call.method, call.path) for call in zu)
    return BackfillResult(
        accounts=accounts,
        seconds=seconds,
        maxrss_kib=int(usage.ru_maxrss),
        latency=latency,
        batch_size=batch_size,
        concurrency=concurrency,
        salesforce=sum(1 for c in sf if c.path.startswith("/services/data/")),
        salesforce_auth=sum(1 for c in sf if c.path == "/services/oauth2/token"),
        zuora=sum(1 for c in zu if c.path != "/oauth/token"),
        zuora_auth=sum(1 for c in zu if c.path == "/oauth/token"),
        zuora_by_kind=kinds,
        outcomes=outcomes,
    )


def _kind(method: str, path: str) -> str:
    if path == "/oauth/token":
        return "token"
    if path.startswith("/query/results/"):
        return "result file"
    if path.startswith("/query/jobs"):
        return "Data Query job"
    if path.startswith("/v1/accounts/"):
        return "account read" if method == "GET" else "account update"
    return f"{method} {path}"


def backfill_section(result: BackfillResult) -> list[str]:
    """The Backfill section of docs/benchmarks.md: the measured table, then the projection to a million accounts."""
    n = result.accounts
    sf_per, zu_per = result.salesforce / n, result.zuora / n
    written = sum(result.outcomes[o] for o in ("linked", "normalised", "relinked_to_master", "created"))
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(result.zuora_by_kind.items()) if kind != "token")
    rows = [
        ("Zuora accounts (the mix of `sandbox.backfill_mix`)", f"{n:,}"),
        ("Outcomes", ", ".join(f"{name} {count:,}" for name, count in sorted(result.outcomes.items()))),
        ("Batch size / Zuora writes in flight", f"{result.batch_size} / {result.concurrency}"),
        ("Wall time, query to report", f"{result.seconds:.1f} s"),
        ("Accounts per second", f"{n / result.seconds:,.0f}"),
        (
            "Salesforce calls (Composite) / per account",
            f"{result.salesforce:,} / {sf_per:.4f} (1 per {n / max(result.salesforce, 1):.0f} accounts)",
        ),
        ("  of which authentication", f"{result.salesforce_auth}"),
        ("Zuora calls / per account", f"{result.zuora:,} / {zu_per:.3f} ({kinds})"),
        (
            "  per account written (a read, then the write)",
            f"{(result.zuora_by_kind['account read'] + result.zuora_by_kind['account update']) / max(written, 1):.2f}",
        ),
        ("  of which authentication", f"{result.zuora_auth}"),
        ("Peak RSS of the command's process", f"{result.maxrss_kib / 1024:.0f} MiB"),
    ]
    lines = [
        "## Backfill (`python -m sfzsync.backfill` over the sandbox)",
        "",
        f"Every Salesforce and Zuora call waits {result.latency * 1000:g} ms; the command runs in its own process.",
        "",
        "| metric | value |",
        "| --- | --- |",
        *[f"| {name} | {value} |" for name, value in rows],
        "",
        *projection(sf_per, zu_per, n / result.seconds, result.latency),
    ]
    return lines


def projection(sf_per: float, zu_per: float, local_rate: float, latency: float) -> list[str]:
    """A million accounts, from the calls per account measured above and the stated allowances and prices."""
    million = 1_000_000
    sf_calls, zu_calls = sf_per * million, zu_per * million
    sf_days = sf_calls / (SALESFORCE_DAILY_ALLOWANCE * SALESFORCE_SHARE)
    in_flight = MAX_CONCURRENCY * WRITE_CONCURRENCY
    zuora_rate = min(in_flight / ZUORA_CALL_SECONDS, ZUORA_API_PER_MINUTE / 60)
    batches = million / ITEMS_PER_BATCH
    batch_seconds = (zu_per * ITEMS_PER_BATCH * ZUORA_CALL_SECONDS / WRITE_CONCURRENCY) + (
        sf_per * ITEMS_PER_BATCH * SALESFORCE_CALL_SECONDS
    )
    hours = batches * batch_seconds / MAX_CONCURRENCY / 3600
    lambda_cost = batches * batch_seconds * 1.0 * LAMBDA_GB_SECOND + batches * LAMBDA_REQUEST
    report_cost = 600 * 2.0 * LAMBDA_GB_SECOND + 900 * 1.0 * LAMBDA_GB_SECOND  # report and copy, at most
    sfn_cost = (batches * TRANSITIONS_PER_BATCH + 20) * STATE_TRANSITION
    s3_cost = (batches * 2 + 50) * S3_REQUEST
    return [
        "### A million accounts, projected",
        "",
        "From the calls per account above, under these allowances: Salesforce "
        f"{SALESFORCE_DAILY_ALLOWANCE:,} API calls a day of which the backfill takes {SALESFORCE_SHARE:.0%}; Zuora's "
        f"default limits ({ZUORA_API_PER_MINUTE:,} API calls a minute, {ZUORA_CONCURRENT} concurrent requests per "
        f"tenant); a real Zuora call taking {ZUORA_CALL_SECONDS * 1000:.0f} ms and a Composite call "
        f"{SALESFORCE_CALL_SECONDS * 1000:.0f} ms; the state machine at the template's defaults "
        f"(BackfillMaxConcurrency {MAX_CONCURRENCY} x BackfillWriteConcurrency {WRITE_CONCURRENCY} = {in_flight} Zuora "
        f"calls at once, {ITEMS_PER_BATCH} accounts a batch); us-east-1 prices (Lambda arm64 "
        f"${LAMBDA_GB_SECOND:.10f} per GB-s, Step Functions ${STATE_TRANSITION * 1000:g} per 1,000 transitions).",
        "",
        "| | a million accounts |",
        "| --- | --- |",
        f"| Salesforce calls | {sf_calls:,.0f}: {sf_days:.2f} of a day's {SALESFORCE_SHARE:.0%} share |",
        f"| Zuora calls | {zu_calls:,.0f}: {zu_calls / zuora_rate / 3600:.1f} h at {zuora_rate:.0f} calls/s "
        f"({in_flight} at once; the minute's quota allows {ZUORA_API_PER_MINUTE / 60:.0f}/s) |",
        f"| State machine, time | {batches:,.0f} batches of {batch_seconds:.1f} s, {MAX_CONCURRENCY} at once: "
        f"{hours:.1f} h (raise BackfillMaxConcurrency to go faster, within the allowances) |",
        f"| State machine, cost | Lambda ${lambda_cost + report_cost:.2f}, Step Functions ${sfn_cost:.2f}, "
        f"S3 ${s3_cost:.2f}: about ${lambda_cost + report_cost + sfn_cost + s3_cost:.2f} (plus CloudWatch Logs) |",
        f"| Local command, time | {million / local_rate / 3600:.1f} h at this run's {local_rate:,.0f} accounts/s "
        f"({latency * 1000:g} ms calls, {WRITE_CONCURRENCY} writes in flight) |",
        "",
    ]
