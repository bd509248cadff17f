"""The local engine (`sfzsync.backfill.local`): a run in a directory of its own, resumed after an interruption with no
account done twice and a report that lists every account once, as an uninterrupted run does."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox.salesforce import SalesforceSim
from sfzsync.backfill.local import REPORT_CSV, REPORT_MD, Finished, run_local
from sfzsync.backfill.models import AccountRow
from sfzsync.backfill.progress import ProgressBar
from sfzsync.errors import ConfigurationError, DataQueryFailedError
from tests.unit.backfill.fakes import FakeDataQuery, FakeSalesforce, FakeZuora, gateways, options, row


class RunInterruptedError(Exception):
    """Stands for Ctrl-C or a crash between two batches."""


def tenant(accounts: int = 10) -> tuple[SalesforceSim, list[AccountRow]]:
    sim = SalesforceSim()
    rows = []
    for i in range(accounts):
        account = sim.insert("Account", {"Name": f"Firm {i}"})
        sim.insert("Contact", {"LastName": "Doe", "Email": f"c{i}@firm{i}.example", "AccountId": account})
        rows.append(row(f"A{i:03d}", None, f"c{i}@firm{i}.example" if i % 3 else f"c{i}@gmail.com"))
    return sim, rows


def quiet() -> ProgressBar:
    return ProgressBar(io.StringIO())


def run(
    sim: SalesforceSim,
    zuora: FakeZuora,
    rows: list[AccountRow],
    runs: Path,
    after_batch: Callable[[int], None] | None = None,
) -> Finished:
    return run_local(
        gateways(FakeSalesforce(sim), zuora),
        FakeDataQuery(rows, polls=2),
        options(),
        runs,
        batch_size=3,
        progress=quiet(),
        poll_seconds=0,
        after_batch=after_batch,
    )


def test_a_run_queries_links_and_reports_every_account(tmp_path: Path) -> None:
    # Given
    sim, rows = tenant()
    zuora = FakeZuora({r.account_number: None for r in rows})
    # When
    finished = run(sim, zuora, rows, tmp_path)
    # Then
    lines = (finished.directory / REPORT_CSV).read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == [r.account_number for r in rows]
    assert finished.summary.by_outcome == {"linked": 6, "unmatched": 4}
    assert "# Backfill report" in (finished.directory / REPORT_MD).read_text()
    assert not finished.resumed


def test_a_run_interrupted_between_batches_resumes_without_doing_anything_twice(tmp_path: Path) -> None:
    # Given: the same tenant twice, one run straight through, one interrupted after its second batch
    sim, rows = tenant()
    straight = FakeZuora({r.account_number: None for r in rows})
    interrupted = FakeZuora({r.account_number: None for r in rows})
    expected = run(sim, straight, rows, tmp_path / "straight")

    def stop_after_two(batch: int) -> None:
        if batch == 2:
            raise RunInterruptedError

    with pytest.raises(RunInterruptedError):
        run(sim, interrupted, rows, tmp_path / "interrupted", after_batch=stop_after_two)
    written_before = sum(interrupted.writes.values())
    # When
    resumed = run(sim, interrupted, rows, tmp_path / "interrupted")
    # Then
    assert resumed.resumed
    assert 0 < written_before < sum(straight.writes.values())
    assert max(interrupted.writes.values()) == 1
    assert interrupted.crm_ids == straight.crm_ids
    assert (resumed.directory / REPORT_CSV).read_text() == (expected.directory / REPORT_CSV).read_text()


def test_an_account_caught_between_its_write_and_its_journal_line_is_read_and_not_written_again(
    tmp_path: Path,
) -> None:
    # Given: a crash after Zuora took A001's write but before the run noted it
    sim, rows = tenant(3)
    zuora = FakeZuora({r.account_number: None for r in rows})
    first = run(sim, zuora, rows, tmp_path)
    results_file = first.directory / "results.jsonl"
    lines = results_file.read_text().splitlines()
    results_file.write_text("\n".join(line for line in lines if '"A001"' not in line) + "\n")
    (first.directory / "run.json").write_text((first.directory / "run.json").read_text().replace('"done"', '"linking"'))
    # When
    again = run(sim, zuora, rows, tmp_path)
    # Then
    assert again.resumed
    assert zuora.writes["A001"] == 1
    assert (again.directory / REPORT_CSV).read_text() == (first.directory / REPORT_CSV).read_text()


def test_resuming_with_other_options_is_refused_and_restart_starts_anew(tmp_path: Path) -> None:
    # Given: an unfinished run without --dry-run
    sim, rows = tenant()
    zuora = FakeZuora({r.account_number: None for r in rows})

    def stop(batch: int) -> None:
        raise RunInterruptedError

    with pytest.raises(RunInterruptedError):
        run(sim, zuora, rows, tmp_path, after_batch=stop)
    dry = gateways(FakeSalesforce(sim), zuora)
    # When / Then
    with pytest.raises(ConfigurationError, match="--restart"):
        run_local(dry, FakeDataQuery(rows), options(dry_run=True), tmp_path, progress=quiet(), poll_seconds=0)
    fresh = run_local(
        dry, FakeDataQuery(rows), options(dry_run=True), tmp_path, progress=quiet(), poll_seconds=0, restart=True
    )
    assert not fresh.resumed
    assert fresh.summary.dry_run


def test_a_data_query_that_fails_stops_the_run_with_zuora_s_reason(tmp_path: Path) -> None:
    # Given
    sim, rows = tenant()
    # When / Then
    with pytest.raises(DataQueryFailedError, match="cannot be resolved"):
        run_local(
            gateways(FakeSalesforce(sim), FakeZuora()),
            FakeDataQuery(rows, status="failed"),
            options(),
            tmp_path,
            progress=quiet(),
            poll_seconds=0,
        )


def test_the_progress_bar_prints_every_tenth_off_a_terminal() -> None:
    # Given
    stream = io.StringIO()
    bar = ProgressBar(stream)
    # When
    bar.start(100)
    for _ in range(100):
        bar.advance(1)
    # Then
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[-1].startswith("[##############################] 100/100 accounts 100%")
