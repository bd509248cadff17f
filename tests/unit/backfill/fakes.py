"""Fakes of the backfill's gateway interfaces, with no socket: Salesforce answers from a simulator's record store
in-process (its real SOQL engine, no HTTP), Zuora and S3 from dicts; each counts what it is asked."""

from __future__ import annotations

import contextlib
import csv
import io
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from sandbox.salesforce import SalesforceApiError, SalesforceSim
from sfzsync.backfill.models import AccountRow, Options
from sfzsync.backfill.pacing import Patience
from sfzsync.backfill.writes import Gateways
from sfzsync.errors import UpstreamError
from sfzsync.gateways.salesforce import MAX_COMPOSITE_QUERIES, CreatedAccount, QueryPage, Soql
from sfzsync.gateways.zuora import ZuoraAccount
from sfzsync.gateways.zuora_data_query import DataQueryJob

CSV_HEADER = (
    "account_id,account_number,account_name,crm_id,work_email,personal_email,first_name,last_name,address1,city,"
    "state,postal_code,country"
)


class FakeSalesforce:
    """`run_batch_queries` and `create_account_with_contact` over a SalesforceSim's store, without HTTP."""

    def __init__(self, sim: SalesforceSim) -> None:
        self.sim = sim
        self.calls: list[dict[str, Soql]] = []
        self.creates: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.failures: list[UpstreamError] = []  # raised by the next calls, one each
        self.incomplete_once: set[str] = set()  # SOQL texts answered `done: false` the first time
        self.duplicate_of: str | None = None  # an Account a duplicate rule points the next create at

    def run_batch_queries(self, queries: dict[str, Soql]) -> dict[str, QueryPage]:
        assert len(queries) <= MAX_COMPOSITE_QUERIES, "a Composite call carries at most 5 queries"
        self.calls.append(dict(queries))
        if self.failures:
            raise self.failures.pop(0)
        pages = {}
        for name, soql in queries.items():
            try:
                answer = self.sim.query(soql.text, all_rows=soql.all_rows)
            except SalesforceApiError as error:
                raise UpstreamError("salesforce_lookup", str(error.error_code), str(error), retryable=False) from None
            complete = soql.text not in self.incomplete_once
            self.incomplete_once.discard(soql.text)
            pages[name] = QueryPage(answer["records"], complete)
        return pages

    def create_account_with_contact(self, account: dict[str, Any], contact: dict[str, Any]) -> CreatedAccount:
        self.creates.append((account, contact))
        if self.failures:
            raise self.failures.pop(0)
        if self.duplicate_of is not None:
            return CreatedAccount(self.duplicate_of, duplicate_of_existing=True)
        account_id = self.sim.insert("Account", account)
        self.sim.insert("Contact", {**contact, "AccountId": account_id})
        return CreatedAccount(account_id, duplicate_of_existing=False)


@dataclass
class FakeZuora:
    """Zuora accounts as crmId by account number; `writes` counts each account's PUTs."""

    crm_ids: dict[str, str | None] = field(default_factory=dict)
    writes: Counter[str] = field(default_factory=Counter)
    reads: Counter[str] = field(default_factory=Counter)
    failures: dict[str, list[UpstreamError]] = field(default_factory=dict)  # by account: raised by its next calls
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get_account(self, account_key: str) -> ZuoraAccount | None:
        with self.lock:
            self.reads[account_key] += 1
            self._fail(account_key)
            if account_key not in self.crm_ids:
                return None
            return ZuoraAccount(f"id-{account_key}", account_key, "USD", "Active", self.crm_ids[account_key])

    def update_account(self, account_key: str, body: dict[str, Any], stage: str = "zuora_account") -> None:
        with self.lock:
            self._fail(account_key)
            self.writes[account_key] += 1
            self.crm_ids[account_key] = body["crmId"]

    def _fail(self, account_key: str) -> None:
        pending = self.failures.get(account_key)
        if pending:
            raise pending.pop(0)


class FakeDataQuery:
    """A Data Query whose job completes after `polls` checks, with `rows` as its CSV result."""

    def __init__(self, rows: Sequence[AccountRow], polls: int = 1, status: str = "completed") -> None:
        self.rows = list(rows)
        self.polls = polls
        self.final_status = status
        self.submitted: list[str] = []
        self.checks = 0

    def submit_query(self, sql: str) -> DataQueryJob:
        self.submitted.append(sql)
        return DataQueryJob(f"job-{len(self.submitted)}", "accepted")

    def get_query_job(self, job_id: str) -> DataQueryJob:
        self.checks += 1
        if self.checks < self.polls:
            return DataQueryJob(job_id, "in_progress")
        if self.final_status != "completed":
            return DataQueryJob(job_id, self.final_status, error="Column x cannot be resolved")
        return DataQueryJob(job_id, "completed", "https://results.example/file.csv", len(self.rows))

    @contextlib.contextmanager
    def open_result(self, job: DataQueryJob) -> Iterator[IO[bytes]]:
        yield io.BytesIO(csv_of(self.rows).encode())


def csv_of(rows: Sequence[AccountRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER.split(","))
    for row in rows:
        writer.writerow(
            [row.account_id, row.account_number, row.name, row.crm_id or "", row.email or "", "", row.first_name or "",
             row.last_name or "", row.address1 or "", row.city or "", row.state or "", row.postal_code or "",
             row.country or ""]
        )  # fmt: skip
    return out.getvalue()


@dataclass
class MemoryStore:
    objects: dict[str, bytes] = field(default_factory=dict)

    def upload(self, key: str, stream: IO[bytes], content_type: str) -> None:
        self.objects[key] = stream.read()

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = body

    def get(self, key: str) -> bytes:
        return self.objects[key]

    def keys(self, prefix: str) -> list[str]:
        return sorted(key for key in self.objects if key.startswith(prefix))


def no_wait() -> Patience:
    """Patience that never sleeps (tests count its waits instead)."""
    return Patience(attempts=4, sleep=lambda _seconds: None)


def gateways(salesforce: FakeSalesforce, zuora: FakeZuora, concurrency: int = 4) -> Gateways:
    return Gateways(salesforce, zuora, no_wait(), concurrency)


def options(**changes: Any) -> Options:
    return Options(**changes)


def row(number: str, crm_id: str | None = None, email: str | None = None, **fields: Any) -> AccountRow:
    return AccountRow(
        account_number=number, account_id=f"id-{number}", name=fields.pop("name", f"Customer {number}"),
        crm_id=crm_id, email=email, first_name="Pat", last_name=fields.pop("last_name", f"Doe {number}"), **fields
    )  # fmt: skip
