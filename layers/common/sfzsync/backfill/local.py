"""The local engine: the whole backfill in one process, resumable.

A run lives in a directory of its own (`<runs dir>/<run id>/`): `run.json` (options, Data Query job, state),
`accounts.csv` (the Data Query result: the snapshot every batch is cut from), `results.jsonl` (one line per account,
appended and flushed as each finishes), and at the end `report.csv` and `report.md`. Started again after an
interruption (Ctrl-C, a crash, a kill), the newest unfinished run resumes: the snapshot is not queried again, accounts
with a line in `results.jsonl` are not touched again, and an account caught mid-write is read before it is written
(`writes`), so nothing is done twice and the report lists every account once, as an uninterrupted run would.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sfzsync.backfill.models import AccountResult, Options
from sfzsync.backfill.pacing import Patience
from sfzsync.backfill.progress import ProgressBar
from sfzsync.backfill.report import ReportWriter, Summary
from sfzsync.backfill.source import ACCOUNTS_SQL, batches, read_rows
from sfzsync.backfill.worker import link_batch
from sfzsync.backfill.writes import Gateways
from sfzsync.errors import ConfigurationError, DataQueryFailedError
from sfzsync.gateways.zuora_data_query import DataQueryGateway
from sfzsync.observability import logger

SNAPSHOT, RESULTS, REPORT_CSV, REPORT_MD, STATE = "accounts.csv", "results.jsonl", "report.csv", "report.md", "run.json"


@dataclass(frozen=True)
class Finished:
    """A finished run: where its files are, and its counts."""

    directory: Path
    summary: Summary
    resumed: bool


class RunDirectory:
    """One run's files; `state` is run.json."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state: dict[str, Any] = json.loads((path / STATE).read_text()) if (path / STATE).exists() else {}

    @classmethod
    def resume_or_start(cls, runs_dir: Path, options: Options, restart: bool = False) -> tuple[RunDirectory, bool]:
        """The newest unfinished run under `runs_dir` (refused if its options differ), else a new one."""
        runs_dir.mkdir(parents=True, exist_ok=True)
        unfinished = [cls(path) for path in sorted(runs_dir.iterdir()) if (path / STATE).exists()]
        unfinished = [run for run in unfinished if run.state.get("status") not in ("done", "abandoned")]
        wanted = _options_json(options)
        for run in unfinished:
            if restart:
                run.save(status="abandoned")
            elif run.state.get("options") != wanted:
                raise ConfigurationError(
                    f"an unfinished run in {run.path} has other options ({run.state.get('options')}): run it again "
                    "with the same options to finish it, or pass --restart to abandon it"
                )
        if unfinished and not restart:
            return unfinished[-1], True
        run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        run = cls(runs_dir / run_id)
        run.path.mkdir()
        run.save(id=run_id, status="querying", options=wanted, started=dt.datetime.now(dt.UTC).isoformat())
        return run, False

    def save(self, **changes: Any) -> None:
        self.state.update(changes)
        temporary = self.path / f"{STATE}.part"
        temporary.write_text(json.dumps(self.state, indent=2))
        temporary.replace(self.path / STATE)

    def finished_results(self) -> dict[str, AccountResult]:
        """Results already in results.jsonl, by account number (a line cut short by a kill is ignored)."""
        found: dict[str, AccountResult] = {}
        journal = self.path / RESULTS
        if journal.exists():
            for line in journal.read_text(encoding="utf-8").splitlines():
                try:
                    result = AccountResult.from_json(line)
                except (ValueError, TypeError):
                    continue
                found[result.account_number] = result
        return found


class Journal:
    """results.jsonl, appended by the worker's threads, each line flushed as it is written."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def append(self, result: AccountResult) -> None:
        with self._lock:
            self._file.write(result.to_json() + "\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()


def run_local(
    gateways: Gateways,
    data_query: DataQueryGateway,
    options: Options,
    runs_dir: Path,
    *,
    batch_size: int = 500,
    progress: ProgressBar | None = None,
    restart: bool = False,
    poll_seconds: float = 5.0,
    after_batch: Callable[[int], None] | None = None,
) -> Finished:
    """Query the accounts (unless resuming), link them batch by batch, then write the report."""
    run, resumed = RunDirectory.resume_or_start(runs_dir, options, restart)
    snapshot = run.path / SNAPSHOT
    if not snapshot.exists():
        job_id = fetch_snapshot(data_query, snapshot, gateways.patience, poll_seconds)
        run.save(job=job_id, accounts=_count_rows(snapshot), status="linking")
    done = run.finished_results()
    progress = progress or ProgressBar()
    progress.start(int(run.state.get("accounts", 0)), already_done=len(done))
    journal = Journal(run.path / RESULTS)
    try:
        for number, batch in enumerate(_batches(snapshot, batch_size), start=1):
            todo = [row for row in batch if row.account_number not in done]
            if todo:
                link_batch(todo, gateways, options, on_result=journal.append)
                progress.advance(len(todo))
            if after_batch is not None:
                after_batch(number)
    finally:
        journal.close()
    progress.finish()
    summary = write_report(run, options)
    run.save(status="done", finished=dt.datetime.now(dt.UTC).isoformat())
    return Finished(run.path, summary, resumed)


def fetch_snapshot(data_query: DataQueryGateway, target: Path, patience: Patience, poll_seconds: float) -> str:
    """Run the accounts query in Zuora, wait for it, and store its result as `target` (atomically)."""
    job = patience.run(lambda: data_query.submit_query(ACCOUNTS_SQL))
    logger.info("data query submitted", extra={"job": job.job_id})
    while not job.finished:
        time.sleep(poll_seconds)
        job = patience.run(partial(data_query.get_query_job, job.job_id))
    if job.status != "completed":
        raise DataQueryFailedError(job.job_id, job.status, job.error)
    download = target.with_name(target.name + ".part")
    with data_query.open_result(job) as stream, download.open("wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    download.replace(target)
    return job.job_id


def write_report(run: RunDirectory, options: Options) -> Summary:
    """report.csv (every account of the snapshot, in its order) and report.md; a missing result is a failure."""
    results = run.finished_results()
    with (run.path / REPORT_CSV).open("w", encoding="utf-8", newline="") as stream:
        writer = ReportWriter(stream, options.dry_run)
        for batch in _batches(run.path / SNAPSHOT, 1000):
            writer.add(results.get(row.account_number) or _missing(row.account_number, row.crm_id) for row in batch)
    (run.path / REPORT_MD).write_text(writer.summary.markdown(), encoding="utf-8")
    return writer.summary


def _missing(account_number: str, crm_id: str | None) -> AccountResult:
    return AccountResult(account_number, crm_id or "", "", "failed", error="NOT_PROCESSED: no result was recorded")


def _batches(snapshot: Path, size: int) -> Iterator[list[Any]]:
    with snapshot.open("rb") as stream:
        yield from batches(read_rows(stream), size)


def _count_rows(snapshot: Path) -> int:
    return sum(len(batch) for batch in _batches(snapshot, 1000))


def _options_json(options: Options) -> dict[str, Any]:
    values = asdict(options)
    values["rules"] = list(options.rules)
    values["account_defaults"] = dict(options.account_defaults)
    return values
