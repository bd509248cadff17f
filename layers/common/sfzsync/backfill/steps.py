"""The Step Functions engine: what each Lambda of the backfill state machine (`template.yaml`, `BackfillStateMachine`)
does. The state machine itself waits, loops, fans out and retries; these steps only talk to Zuora, Salesforce and S3.

    StartQuery   submit the accounts query (Data Query)                     -> {runId, dryRun, createMissing, jobId}
    CheckQuery   the job's state; once completed its file -> S3 `snapshots/`  -> {status, key}
    LinkBatch    one batch of the Distributed Map: the worker; rows -> S3 `rows/`; retryable failures raise
                 BatchIncompleteError so Step Functions runs the batch again (nothing is written twice)
    WriteReport  every batch's rows (and the batches the map gave up on)     -> S3 `reports/<run>/report.csv|.md`

Keys: `snapshots/<run>/accounts.csv`, `rows/<run>/<first account>.jsonl`, `reports/<run>/report.csv` and `report.md`;
the map's result writer writes under `results/`. Rows are named by their batch's first account: S3 lists them in
account-number order, the order of the query, so the report comes out in that order without sorting in memory.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sfzsync.backfill.connect import connect, options_of
from sfzsync.backfill.models import AccountResult, AccountRow, Options, Outcome
from sfzsync.backfill.report import ReportWriter, Summary
from sfzsync.backfill.source import ACCOUNTS_SQL
from sfzsync.backfill.worker import link_batch
from sfzsync.backfill.writes import Gateways
from sfzsync.errors import BatchIncompleteError, ConfigurationError, DataQueryFailedError
from sfzsync.gateways.s3 import ObjectStore, S3ObjectStore, s3_client
from sfzsync.gateways.zuora_data_query import DataQueryGateway
from sfzsync.observability import logger, metrics
from sfzsync.settings import load_settings, runtime_settings_from_env

CSV = "text/csv; charset=utf-8"


@dataclass
class BackfillSteps:
    gateways: Gateways
    data_query: DataQueryGateway
    store: ObjectStore
    options: Callable[[bool, bool], Options]  # (dry run, create missing) -> the run's options

    @classmethod
    def from_environment(cls) -> BackfillSteps:
        settings = load_settings()
        bucket = _bucket()
        runtime, secret = settings.runtime, settings.secret
        connections = connect(
            secret,
            concurrency=int(os.environ.get("BACKFILL_WRITE_CONCURRENCY", "8")),
            connect_timeout=runtime.connect_timeout,
            read_timeout=runtime.read_timeout,
        )
        store = S3ObjectStore(bucket, s3_client(runtime.connect_timeout, runtime.read_timeout))

        def options(dry_run: bool, create_missing: bool) -> Options:
            return options_of(secret, dry_run=dry_run, create_missing=create_missing)

        return cls(connections.gateways, connections.data_query, store, options)

    # --- StartQuery ------------------------------------------------------------------------------------------
    def start_query(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """`event`: `{"runId": <execution name>, "input": <execution input: dryRun, createMissing>}`."""
        given = event.get("input") or {}
        run = {
            "runId": str(event["runId"]),
            "dryRun": bool(given.get("dryRun", False)),
            "createMissing": bool(given.get("createMissing", False)),
        }
        job = self.gateways.patience.run(lambda: self.data_query.submit_query(ACCOUNTS_SQL))
        logger.info("backfill query submitted", extra={**run, "job": job.job_id})
        return {**run, "jobId": job.job_id}

    # --- CheckQuery ------------------------------------------------------------------------------------------
    def check_query(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """`event`: StartQuery's answer. Raises DataQueryFailedError for a failed or cancelled job."""
        job = self.gateways.patience.run(lambda: self.data_query.get_query_job(str(event["jobId"])))
        if job.status in ("failed", "cancelled"):
            raise DataQueryFailedError(job.job_id, job.status, job.error)
        if job.status != "completed":
            return {"status": job.status}
        key = f"snapshots/{event['runId']}/accounts.csv"
        with self.data_query.open_result(job) as stream:
            self.store.upload(key, stream, CSV)
        logger.info("backfill accounts stored", extra={"key": key, "rows": job.output_rows})
        return {"status": "completed", "key": key, "rows": job.output_rows}

    # --- LinkBatch -------------------------------------------------------------------------------------------
    def link_batch(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """`event`: an ItemBatcher batch, `{"Items": [CSV rows], "BatchInput": {runId, dryRun, createMissing}}`."""
        given = event["BatchInput"]
        rows = [AccountRow.from_record(item) for item in event["Items"]]
        if not rows:
            return {"accounts": 0}
        options = self.options(bool(given.get("dryRun")), bool(given.get("createMissing")))
        results = link_batch(rows, self.gateways, options)
        key = f"rows/{given['runId']}/{quote(rows[0].account_number, safe='')}.jsonl"
        self.store.put(key, "".join(result.to_json() + "\n" for result in results).encode(), "application/jsonl")
        outcomes = Counter(result.outcome for result in results)
        for outcome, count in outcomes.items():
            metrics.add_metric(name=f"Backfill_{outcome}", unit="Count", value=count)
        pending = [result for result in results if result.outcome == Outcome.FAILED and result.retryable]
        if pending:
            raise BatchIncompleteError(len(pending), [result.error.split(":", 1)[0] for result in pending])
        return {"rows": key, "accounts": len(results), "outcomes": dict(outcomes)}


@dataclass
class BackfillReport:
    """WriteReport: it needs the bucket only (not the secret)."""

    store: ObjectStore

    @classmethod
    def from_environment(cls) -> BackfillReport:
        runtime = runtime_settings_from_env()
        return cls(S3ObjectStore(_bucket(), s3_client(runtime.connect_timeout, runtime.read_timeout)))

    def write_report(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """`event`: `{"runId", "dryRun", "map": <the Distributed Map's output: ResultWriterDetails>}`."""
        run_id = str(event["runId"])
        failed_batches = list(self._failed_batches(event.get("map") or {}))
        with tempfile.TemporaryFile() as spool:  # a million lines: on disk (/tmp), uploaded as a stream
            csv_file = io.TextIOWrapper(spool, encoding="utf-8", newline="")
            writer = ReportWriter(csv_file, bool(event.get("dryRun")))
            seen: set[str] = set()
            for key in self.store.keys(f"rows/{run_id}/"):
                results = [AccountResult.from_json(line) for line in self.store.get(key).decode().splitlines() if line]
                seen.update(result.account_number for result in results)
                writer.add(results)
            for cause, items in failed_batches:
                missing = [AccountRow.from_record(item) for item in items]
                writer.add(_not_processed(row, cause) for row in missing if row.account_number not in seen)
                if missing:
                    writer.summary.failed_batches.append(f"{missing[0].account_number}…: {cause}")
            csv_file.flush()
            csv_file.detach()
            spool.seek(0)
            self.store.upload(f"reports/{run_id}/report.csv", spool, CSV)
        summary: Summary = writer.summary
        markdown_key = f"reports/{run_id}/report.md"
        self.store.put(markdown_key, summary.markdown().encode("utf-8"), "text/markdown; charset=utf-8")
        logger.info("backfill report written", extra={"run": run_id, "accounts": summary.total})
        return {
            "report": f"reports/{run_id}/report.csv",
            "summary": markdown_key,
            "accounts": summary.total,
            "outcomes": dict(summary.by_outcome),
        }

    def _failed_batches(self, map_output: Mapping[str, Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """The batches the map gave up on, from its result writer's manifest (`ResultFiles.FAILED`): their cause and
        items."""
        manifest_key = (map_output.get("ResultWriterDetails") or {}).get("Key")
        if not manifest_key:
            return
        manifest = json.loads(self.store.get(str(manifest_key)))
        for entry in (manifest.get("ResultFiles") or {}).get("FAILED") or []:
            for execution in json.loads(self.store.get(str(entry["Key"]))):
                cause = f"{execution.get('Error', 'Failed')}: {str(execution.get('Cause', ''))[:200]}"
                try:
                    items = json.loads(execution.get("Input") or "{}").get("Items") or []
                except ValueError:
                    items = []
                yield cause, [item for item in items if isinstance(item, dict) and item.get("account_number")]


def _bucket() -> str:
    bucket = os.environ.get("BACKFILL_BUCKET")
    if not bucket:
        raise ConfigurationError("missing environment variable: BACKFILL_BUCKET")
    return bucket


def _not_processed(row: AccountRow, cause: str) -> AccountResult:
    return AccountResult(
        row.account_number, row.crm_id or "", "", Outcome.FAILED.value, error=f"NOT_PROCESSED: {cause}", retryable=True
    )
