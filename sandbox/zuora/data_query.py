"""Data Query: ``POST /query/jobs``, ``GET /query/jobs[/{job-id}]``, ``DELETE /query/jobs/{job-id}`` and the result
file, over the SQL subset of ``sandbox.zuora.sql`` (tables ``account`` and ``contact``).

Documented behaviour reproduced (API reference "Data Queries"; Knowledge Center "Use Data Query through API"):

- The submit body is validated against the published schema (``query``, ``outputFormat``, ``compression`` and
  ``output.target: S3`` required); it must be sent as JSON, else ``415 {"code": 415, "message": "HTTP 415
  Unsupported Media Type"}``; a body the schema refuses is ``400 {"code": 400, "message": ...}``. An unknown job is
  ``404 {"code": 1001, "message": "No such query: <id>"}``.
- A job moves ``accepted`` → ``in_progress`` → ``completed`` (or ``failed``, or ``cancelled`` by DELETE while it is
  ``accepted`` or ``in_progress``); callers poll until one of the last three. Here each GET of a running job moves it
  one state on, ``data_query_polls`` GETs in all; the query runs when the job completes, over the tenant as it is
  then. A query Data Query cannot run fails with ``errorMessage`` (e.g. "Column x cannot be resolved").
- A completed job has ``dataFile`` (a pre-signed S3 URL: fetched without Zuora's bearer token; S3 refuses a request
  that carries both, "Only one auth mechanism allowed"), ``outputRows`` and ``processingTime``. Formats: ``JSON``
  (JSON Lines), ``CSV`` (a header row, then RFC 4180 rows, empty for null), ``TSV``, ``DSV`` (``columnSeparator``);
  ``compression`` ``GZIP`` or ``ZIP`` compresses the file.
- ``readDeleted: true`` reads only deleted records; otherwise deleted records are left out unless the query selects
  the ``deleted`` column (Data Query UI guide, "READ DELETED"). The sandbox marks an account deleted with
  ``delete_account``.

Sandbox limits: no ``encryptionKey`` (400), no ``sourceData: DATAHUB``; jobs are kept until ``reset()``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import secrets
import time
import uuid
import zipfile
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.core import json_response
from sandbox.zuora import sql
from sandbox.zuora.openapi import find_violations
from sandbox.zuora.state import ZuoraState, not_allowed, now_iso

QUERY_JOBS = "/query/jobs"
DATA_QUERY_FILES = "/query/results"
TERMINAL_STATES = frozenset({"completed", "failed", "cancelled"})
_RUNNING = ("accepted", "in_progress")
_ACCOUNT_COLUMNS = "id accountnumber name crmid status currency billtocontactid soldtocontactid createddate updateddate"
_CONTACT_COLUMNS = "id accountid firstname lastname workemail personalemail workphone address1 address2 city state"
TABLE_COLUMNS = {
    "account": frozenset([*_ACCOUNT_COLUMNS.split(), "deleted"]),
    "contact": frozenset([*_CONTACT_COLUMNS.split(), "postalcode", "country", "deleted"]),
}
_EXTENSIONS = {"JSON": "jsonl", "CSV": "csv", "TSV": "tsv", "DSV": "dsv"}
_S3_BAD_SIGNATURE = (
    "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the "
    "signature you provided.</Message></Error>"
)
_S3_ONE_AUTH = (
    "<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query "
    "parameter, Signature query string parameter or the Authorization header should be specified</Message></Error>"
)


class DataQueryApi(ZuoraState):
    """Data Query jobs (`data_query_jobs`, by id) and their result files (`data_query_files`, by file name)."""

    data_query_jobs: dict[str, dict[str, Any]]
    data_query_files: dict[str, tuple[bytes, str]]
    data_query_polls: int

    # --- Python API --------------------------------------------------------------------------------------------
    def delete_account(self, account_number: str) -> None:
        """Mark an account deleted: Data Query then reads it only with readDeleted (or when selecting `deleted`)."""
        with self.lock:
            self.accounts[account_number]["deleted"] = True

    def data_query_tables(self) -> dict[str, list[dict[str, Any]]]:
        """The tenant as Data Query sees it: `account` and `contact` rows (their columns: `TABLE_COLUMNS`)."""
        with self.lock:
            accounts = [_account_row(account) for account in self.accounts.values()]
            contacts: dict[str, dict[str, Any]] = {}
            for account in self.accounts.values():
                for key in ("billToContact", "soldToContact"):
                    contact = account.get(key) or {}
                    if contact.get("id") and contact["id"] not in contacts:
                        contacts[contact["id"]] = _contact_row(contact, account)
        return {"account": accounts, "contact": list(contacts.values())}

    # --- HTTP ----------------------------------------------------------------------------------------------------
    def _data_query(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == QUERY_JOBS:
            if method == "POST":
                return self._submit_query(request)
            if method == "GET":
                return self._list_queries(request)
            return not_allowed()
        job_id = path.rsplit("/", 1)[1]
        with self.lock:
            job = self.data_query_jobs.get(job_id)
            if job is None or path.count("/") != 3:
                return json_response({"code": 1001, "message": f"No such query: {job_id}"}, 404)
            if method == "GET":
                self._advance(job)
                return json_response({"data": _public(job)})
            if method == "DELETE":
                if job["queryStatus"] not in _RUNNING:
                    return json_response({"code": 400, "message": f"Query {job_id} is {job['queryStatus']}"}, 400)
                job.update(queryStatus="cancelled", updatedOn=now_iso())
                return json_response({"data": _public(job)})
        return not_allowed()

    def _submit_query(self, request: Request) -> Response:
        if request.mimetype != "application/json":
            return json_response({"code": 415, "message": "HTTP 415 Unsupported Media Type"}, 415)
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            return json_response({"code": 400, "message": "Unable to process JSON"}, 400)
        violations = find_violations("POST", QUERY_JOBS, body, strict=self.strict_fields)
        if violations:
            with self.lock:
                self.schema_violations.append((f"POST {QUERY_JOBS}", [str(v) for v in violations]))
            return json_response({"code": 400, "message": str(violations[0])}, 400)
        if body.get("encryptionKey") or body.get("sourceData") == "DATAHUB":
            return json_response({"code": 400, "message": "The sandbox does not encrypt results or read DATAHUB"}, 400)
        job = {
            "id": str(uuid.uuid4()),
            "query": body["query"],
            "queryStatus": "accepted",
            "remainingRetries": 3,
            "updatedOn": now_iso(),
            "_request": body,
            "_polls": 0,
            "_started": time.monotonic(),
        }
        with self.lock:
            self.data_query_jobs[job["id"]] = job
        return json_response({"data": _public(job)})

    def _list_queries(self, request: Request) -> Response:
        wanted = request.args.get("queryStatus")
        with self.lock:
            jobs = [_public(job) for job in reversed(self.data_query_jobs.values())]
        return json_response({"data": [job for job in jobs if wanted is None or job["queryStatus"] == wanted]})

    def _data_query_file(self, request: Request, name: str) -> Response:
        with self.lock:
            stored = self.data_query_files.get(name)
        if "Authorization" in request.headers:
            return Response(_S3_ONE_AUTH, status=400, content_type="application/xml")
        if stored is None or not secrets.compare_digest(request.args.get("X-Amz-Signature", ""), stored[1]):
            return Response(_S3_BAD_SIGNATURE, status=403, content_type="application/xml")
        return Response(stored[0], status=200, content_type="application/octet-stream")

    # --- the job -------------------------------------------------------------------------------------------------
    def _advance(self, job: dict[str, Any]) -> None:
        """One poll of a running job: on to the next state; the last poll runs the query."""
        if job["queryStatus"] in TERMINAL_STATES:
            return
        job["_polls"] += 1
        if job["_polls"] < self.data_query_polls:
            job.update(queryStatus="in_progress", updatedOn=now_iso())
            return
        request = job["_request"]
        try:
            query = sql.parse(request["query"])
            rows = sql.run(query, self._visible_tables(query, bool(request.get("readDeleted"))))
        except sql.SqlError as error:
            job.update(queryStatus="failed", errorMessage=str(error), updatedOn=now_iso())
            return
        columns = [name for _, name in query.columns]
        data = _encoded(rows, columns, request)
        name = f"{job['id']}_{uuid.uuid4().int % 10**17}.{_EXTENSIONS[request['outputFormat']]}"
        name += {"GZIP": ".gz", "ZIP": ".zip"}.get(request["compression"], "")
        signature = secrets.token_hex(32)
        self.data_query_files[name] = (data, signature)
        url = f"{self.url}{DATA_QUERY_FILES}/{name}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=604800"
        job.update(
            queryStatus="completed",
            dataFile=f"{url}&X-Amz-Signature={signature}",
            outputRows=len(rows),
            processingTime=int((time.monotonic() - job["_started"]) * 1000),
            updatedOn=now_iso(),
        )

    def _visible_tables(self, query: sql.Select, read_deleted: bool) -> dict[str, sql.Table]:
        everything = query.mentions("deleted") and not read_deleted
        return {
            name: sql.Table(
                TABLE_COLUMNS[name], [row for row in rows if everything or bool(row.get("deleted")) == read_deleted]
            )
            for name, rows in self.data_query_tables().items()
        }


def _public(job: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in job.items() if not key.startswith("_")}


def _account_row(account: dict[str, Any]) -> dict[str, Any]:
    """Data Query's `account` columns the sandbox fills (a subset of Zuora's Account object)."""
    return {
        "id": account["id"],
        "accountnumber": account["accountNumber"],
        "name": account.get("name"),
        "crmid": account.get("crmId"),
        "status": account.get("status"),
        "currency": account.get("currency"),
        "billtocontactid": (account.get("billToContact") or {}).get("id"),
        "soldtocontactid": (account.get("soldToContact") or {}).get("id"),
        "createddate": account.get("createdDate"),
        "updateddate": account.get("updatedDate"),
        "deleted": bool(account.get("deleted", False)),
    }


def _contact_row(contact: dict[str, Any], account: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": contact["id"],
        "accountid": account["id"],
        "firstname": contact.get("firstName"),
        "lastname": contact.get("lastName"),
        "workemail": contact.get("workEmail"),
        "personalemail": contact.get("personalEmail"),
        "workphone": contact.get("workPhone"),
        "address1": contact.get("address1"),
        "address2": contact.get("address2"),
        "city": contact.get("city"),
        "state": contact.get("state"),
        "postalcode": contact.get("zipCode", contact.get("postalCode")),
        "country": contact.get("country"),
        "deleted": bool(account.get("deleted", False)),
    }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _encoded(rows: list[dict[str, Any]], columns: list[str], request: dict[str, Any]) -> bytes:
    output_format = request["outputFormat"]
    if output_format == "JSON":
        text = "".join(json.dumps(row) + "\n" for row in rows)
    else:
        delimiter = {"CSV": ",", "TSV": "\t"}.get(output_format) or str(request.get("columnSeparator") or ",")
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter[0])
        writer.writerow(columns)
        writer.writerows([_text(row[name]) for name in columns] for row in rows)
        text = buffer.getvalue()
    data = text.encode("utf-8")
    if request["compression"] == "GZIP":
        return gzip.compress(data)
    if request["compression"] == "ZIP":
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
            bundle.writestr(f"result.{_EXTENSIONS[output_format]}", data)
        return archive.getvalue()
    return data
