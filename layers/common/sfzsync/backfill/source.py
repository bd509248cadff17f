"""Where the accounts come from: one Zuora Data Query over accounts and their bill-to contacts, read as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import IO

from sfzsync.backfill.models import AccountRow

# Every account that is not cancelled, in account-number order (stable batches, a resumable order), with the bill-to
# contact the checkout would have matched on. Which crmIds need work is decided against Salesforce, not in SQL: a
# well-formed Id may name a deleted, merged or foreign Account. Column names are the report's and the batch items'.
ACCOUNTS_SQL = (
    "SELECT a.id AS account_id, a.accountnumber AS account_number, a.name AS account_name, a.crmid AS crm_id, "
    "c.workemail AS work_email, c.personalemail AS personal_email, c.firstname AS first_name, "
    "c.lastname AS last_name, c.address1 AS address1, c.city AS city, c.state AS state, "
    "c.postalcode AS postal_code, c.country AS country "
    "FROM account a LEFT JOIN contact c ON c.id = a.billtocontactid "
    "WHERE a.status <> 'Canceled' "
    "ORDER BY a.accountnumber"
)


def read_rows(stream: IO[bytes]) -> Iterator[AccountRow]:
    """The accounts of a result file (CSV with a header row), one at a time."""
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    for record in csv.DictReader(text):
        yield AccountRow.from_record(record)


def batches(rows: Iterable[AccountRow], size: int) -> Iterator[list[AccountRow]]:
    batch: list[AccountRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
