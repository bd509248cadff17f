"""The report (`sfzsync.backfill.report`) and the rows it is made from (`models`, `source`)."""

from __future__ import annotations

import csv
import io

from sfzsync.backfill.models import CSV_COLUMNS, AccountResult, AccountRow
from sfzsync.backfill.report import ReportWriter
from sfzsync.backfill.source import ACCOUNTS_SQL, batches, read_rows

LINKED = AccountResult("A1", "", "none", "linked", "001A", "contact_email", ("001A", "001B"), applied=True)
FAILED = AccountResult("A2", "SF-1", "malformed", "failed", error="HTTP_429: Too many requests", retryable=True)
UNMATCHED = AccountResult("A3", "", "none", "unmatched")


def test_the_csv_has_a_line_per_account_with_every_candidate() -> None:
    # Given
    stream = io.StringIO()
    # When
    ReportWriter(stream, dry_run=False).add([LINKED, FAILED, UNMATCHED])
    lines = list(csv.reader(io.StringIO(stream.getvalue())))
    # Then
    assert lines[0] == list(CSV_COLUMNS)
    assert lines[1] == ["A1", "", "none", "001A", "contact_email", "001A 001B", "linked", "yes", ""]
    assert lines[2][-3:] == ["failed", "no", "HTTP_429: Too many requests"]
    assert len(lines) == 4


def test_the_summary_counts_outcomes_rules_and_groups_failures_by_reason() -> None:
    # Given
    writer = ReportWriter(io.StringIO(), dry_run=False)
    more = [AccountResult(f"F{i}", "", "none", "failed", error="HTTP_429: Too many requests") for i in range(7)]
    # When
    writer.add([LINKED, FAILED, UNMATCHED, *more])
    summary = writer.summary
    text = summary.markdown()
    # Then
    assert (summary.total, summary.written) == (10, 1)
    assert summary.by_outcome == {"linked": 1, "failed": 8, "unmatched": 1}
    assert summary.by_rule == {"contact_email": 1}
    assert "- **HTTP_429**: 8 account(s), e.g. A2, F0, F1, F2, F3 and 3 more" in text
    assert "| linked | 1 |" in text


def test_a_dry_run_summary_says_nothing_was_written() -> None:
    # Given
    writer = ReportWriter(io.StringIO(), dry_run=True)
    # When
    writer.add([LINKED])
    # Then
    assert "**Dry run**: nothing was written" in writer.summary.markdown()
    assert "1 would be linked" in writer.summary.markdown()


def test_a_result_survives_its_journal_line() -> None:
    assert AccountResult.from_json(LINKED.to_json()) == LINKED


def test_rows_are_read_from_the_query_s_csv_with_the_personal_email_when_no_work_email() -> None:
    # Given: the header of ACCOUNTS_SQL's aliases, quoting, and empty fields for nulls
    text = (
        "account_id,account_number,account_name,crm_id,work_email,personal_email,first_name,last_name,"
        "address1,city,state,postal_code,country\r\n"
        'z1,A1,"Acme, Inc.",,,home@mail.example,Jo,Doe,"1 Main St, Suite 2",Springfield,IL,62701,United States\r\n'
        "z2,A2,Globex,001000000000001,  ,,,,,,,,\r\n"
    )
    # When
    rows = list(read_rows(io.BytesIO(text.encode())))
    # Then
    assert rows[0] == AccountRow(
        "A1", "z1", "Acme, Inc.", None, "home@mail.example", "Jo", "Doe", "1 Main St, Suite 2", "Springfield", "IL",
        "62701", "United States",
    )  # fmt: skip
    assert (rows[1].crm_id, rows[1].email) == ("001000000000001", None)


def test_the_query_names_every_column_a_row_is_read_from() -> None:
    for column in ("account_number", "crm_id", "work_email", "personal_email", "postal_code"):
        assert f"AS {column}" in ACCOUNTS_SQL


def test_batches_cut_the_rows_in_order_with_a_short_last_one() -> None:
    rows = [AccountRow(f"A{i}") for i in range(5)]
    assert [[r.account_number for r in b] for b in batches(rows, 2)] == [["A0", "A1"], ["A2", "A3"], ["A4"]]
