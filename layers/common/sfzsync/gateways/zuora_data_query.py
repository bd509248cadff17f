"""Zuora Data Query: submit a SQL query, poll its job, read its result file (API reference, "Data Queries").

The Zuora gateway's OAuth, headers, retries and error translation, extended: `ZuoraDataQueryGateway` is a
`ZuoraRestGateway` (one token cache serves both). The result file is a pre-signed S3 URL, fetched without Zuora's
bearer token: S3 refuses a request that carries a second authentication ("Only one auth mechanism allowed").
"""

from __future__ import annotations

import contextlib
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol, cast
from urllib.parse import quote

import requests

from sfzsync.errors import UpstreamError
from sfzsync.gateways.transport import transport_error
from sfzsync.gateways.zuora import ZuoraRestGateway
from sfzsync.observability import tracer

STAGE = "zuora_data_query"
FINISHED_STATES = frozenset({"completed", "failed", "cancelled"})
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class DataQueryJob:
    """A job as Zuora reports it; `data_file` once `completed`, `error` once `failed`."""

    job_id: str
    status: str  # submitted, accepted, in_progress, completed, failed, cancelled
    data_file: str | None = None
    output_rows: int | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATES


class DataQueryGateway(Protocol):
    def submit_query(self, sql: str) -> DataQueryJob:
        """Start a job whose result is a CSV file (header row first), gzip-compressed on the wire."""
        ...

    def get_query_job(self, job_id: str) -> DataQueryJob: ...

    def open_result(self, job: DataQueryJob) -> contextlib.AbstractContextManager[IO[bytes]]:
        """The completed job's result file, decompressed, as a stream of bytes."""
        ...


class ZuoraDataQueryGateway(ZuoraRestGateway):
    """Zuora's REST gateway plus Data Query."""

    def submit_query(self, sql: str) -> DataQueryJob:
        body = {"query": sql, "outputFormat": "CSV", "compression": "GZIP", "output": {"target": "S3"}}
        with tracer.provider.in_subsegment("zuora.data_query_submit"):
            # Repeating a submit after a lost answer starts a second (read-only) job: harmless.
            answer = self._api(STAGE, "POST", "/query/jobs", json=body, headers={"Content-Type": "application/json"})
        return _job(answer)

    def get_query_job(self, job_id: str) -> DataQueryJob:
        with tracer.provider.in_subsegment("zuora.data_query_job"):
            answer = self._api(STAGE, "GET", f"/query/jobs/{quote(job_id, safe='')}")
        return _job(answer)

    @contextlib.contextmanager
    def open_result(self, job: DataQueryJob) -> Iterator[IO[bytes]]:
        if job.status != "completed" or not job.data_file:
            raise UpstreamError(STAGE, "NOT_COMPLETED", f"Data Query job {job.job_id} is {job.status}", retryable=False)
        try:
            response = self._session.get(job.data_file, stream=True)
        except requests.RequestException as exc:
            raise transport_error("Zuora", STAGE, exc) from None
        try:
            if response.status_code != 200:
                raise UpstreamError(
                    STAGE,
                    f"HTTP_{response.status_code}",
                    "the Data Query result file could not be read (its URL expires: run a new query)",
                    retryable=response.status_code >= 500,
                )
            response.raw.decode_content = True
            response.raw.auto_close = False  # read to its end through the buffers below, closed by `finally`
            stream = io.BufferedReader(response.raw)
            yield cast(IO[bytes], gzip.GzipFile(fileobj=stream) if stream.peek(2)[:2] == _GZIP_MAGIC else stream)
        finally:
            response.close()


def _job(answer: dict[str, Any]) -> DataQueryJob:
    data = answer.get("data")
    if not isinstance(data, dict) or not data.get("id"):
        raise UpstreamError(STAGE, "UNEXPECTED_RESPONSE", "Zuora's Data Query answer had no job", retryable=True)
    rows = data.get("outputRows")
    return DataQueryJob(
        job_id=str(data["id"]),
        status=str(data.get("queryStatus", "")),
        data_file=str(data["dataFile"]) if data.get("dataFile") else None,
        output_rows=int(rows) if isinstance(rows, int) else None,
        error=str(data["errorMessage"]) if data.get("errorMessage") else None,
    )
