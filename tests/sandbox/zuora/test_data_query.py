"""Data Query (`sandbox.zuora.data_query`, `sandbox.zuora.sql`) against Zuora's documentation: API reference "Data
Queries" (submit, retrieve, list, cancel; `queryStatus`, `dataFile`, `outputRows`; the 400/404/415 bodies), Knowledge
Center "Use Data Query through API" (poll until completed, failed or cancelled; download the file), "Construct SQL
Queries in Data Query" (Trino, tables per object) and its help page (error texts), Data Query UI guide (READ DELETED).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from typing import Any

import pytest
import requests

from sandbox.zuora import ZuoraSim
from tests.sandbox.zuora.conftest import TIMEOUT, call

BACKFILL_SQL = (
    "SELECT a.accountnumber AS account_number, a.crmid AS crm_id, c.workemail AS work_email "
    "FROM Account a LEFT JOIN Contact c ON c.id = a.billtocontactid WHERE a.status <> 'Canceled' "
    "ORDER BY a.accountnumber"
)


def submit(sim: ZuoraSim, token: str, query: str, **options: Any) -> requests.Response:
    body = {"query": query, "outputFormat": "CSV", "compression": "NONE", "output": {"target": "S3"}, **options}
    return call(sim, token, "POST", "/query/jobs", json=body)


def poll(sim: ZuoraSim, token: str, job_id: str) -> list[dict[str, Any]]:
    """Every answer of GET /query/jobs/{id} until the job is completed, failed or cancelled."""
    answers = []
    for _ in range(10):
        answer = call(sim, token, "GET", f"/query/jobs/{job_id}")
        assert answer.status_code == 200
        answers.append(answer.json()["data"])
        if answers[-1]["queryStatus"] in ("completed", "failed", "cancelled"):
            return answers
    raise AssertionError(f"job never ended: {answers}")


def download(job: dict[str, Any]) -> bytes:
    response = requests.get(job["dataFile"], timeout=TIMEOUT)
    assert response.status_code == 200
    return response.content


def run_query(sim: ZuoraSim, token: str, query: str, **options: Any) -> dict[str, Any]:
    submitted = submit(sim, token, query, **options)
    assert submitted.status_code == 200, submitted.text
    return poll(sim, token, submitted.json()["data"]["id"])[-1]


def seed(sim: ZuoraSim) -> None:
    jo = {"firstName": "Jo", "lastName": "Doe", "workEmail": "jo@acme.example"}
    al = {"firstName": "Al", "lastName": "Ng", "workEmail": "al@globex.example"}
    sim.seed_account("Acme", account_number="A-1", bill_to_contact=jo)
    sim.seed_account("Globex", account_number="A-2", crm_id="001000000000001AAA", bill_to_contact=al)
    sim.seed_account("Gone", account_number="A-3")
    with sim.lock:
        sim.accounts["A-3"]["status"] = "Canceled"


def test_a_submitted_query_is_accepted_then_in_progress_then_completed(sim: ZuoraSim, token: str) -> None:
    # Given
    seed(sim)
    # When
    submitted = submit(sim, token, BACKFILL_SQL)
    states = [job["queryStatus"] for job in poll(sim, token, submitted.json()["data"]["id"])]
    # Then
    assert submitted.json()["data"]["queryStatus"] == "accepted"
    assert states == ["in_progress", "completed"]


def test_a_completed_csv_job_has_a_data_file_with_a_header_row_and_its_rows(sim: ZuoraSim, token: str) -> None:
    # Given
    seed(sim)
    # When
    job = run_query(sim, token, BACKFILL_SQL)
    rows = list(csv.DictReader(io.StringIO(download(job).decode())))
    # Then: the join, the WHERE and the ORDER BY; a null is an empty field
    assert job["outputRows"] == 2
    assert isinstance(job["processingTime"], int)
    assert rows == [
        {"account_number": "A-1", "crm_id": "", "work_email": "jo@acme.example"},
        {"account_number": "A-2", "crm_id": "001000000000001AAA", "work_email": "al@globex.example"},
    ]


def test_json_output_is_json_lines_with_nulls(sim: ZuoraSim, token: str) -> None:
    # Given
    seed(sim)
    # When
    job = run_query(sim, token, BACKFILL_SQL, outputFormat="JSON")
    lines = download(job).decode().splitlines()
    # Then
    assert json.loads(lines[0]) == {"account_number": "A-1", "crm_id": None, "work_email": "jo@acme.example"}


def test_gzip_compression_compresses_the_file(sim: ZuoraSim, token: str) -> None:
    # Given
    seed(sim)
    # When
    job = run_query(sim, token, BACKFILL_SQL, compression="GZIP")
    # Then
    assert gzip.decompress(download(job)).decode().startswith("account_number,crm_id,work_email")


def test_the_data_file_is_a_presigned_url_that_refuses_a_second_auth_mechanism(sim: ZuoraSim, token: str) -> None:
    # Given
    seed(sim)
    job = run_query(sim, token, BACKFILL_SQL)
    # When: fetched with Zuora's bearer token as well, or with a forged signature
    both = requests.get(job["dataFile"], headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
    forged = requests.get(job["dataFile"].rsplit("=", 1)[0] + "=00", timeout=TIMEOUT)
    # Then
    assert both.status_code == 400
    assert "Only one auth mechanism allowed" in both.text
    assert forged.status_code == 403


def test_a_query_on_an_unknown_column_fails_with_data_query_s_message(sim: ZuoraSim, token: str) -> None:
    # When
    job = run_query(sim, token, "SELECT a.region__c FROM Account a")
    # Then
    assert job["queryStatus"] == "failed"
    assert job["errorMessage"] == "Column a.region__c cannot be resolved"
    assert "dataFile" not in job


def test_a_query_on_an_unknown_table_fails(sim: ZuoraSim, token: str) -> None:
    # When
    job = run_query(sim, token, "SELECT id FROM acccount")
    # Then
    assert (job["queryStatus"], job["errorMessage"]) == ("failed", "Table acccount does not exist")


def test_deleted_accounts_are_read_only_with_read_deleted(sim: ZuoraSim, token: str) -> None:
    # Given
    seed(sim)
    sim.delete_account("A-1")
    query = "SELECT accountnumber FROM Account ORDER BY accountnumber"
    # When
    live = download(run_query(sim, token, query)).decode().split()
    deleted = download(run_query(sim, token, query, readDeleted=True)).decode().split()
    both = download(run_query(sim, token, "SELECT accountnumber, deleted FROM Account ORDER BY accountnumber"))
    # Then
    assert live == ["accountnumber", "A-2", "A-3"]  # Canceled is a status, not a deletion
    assert deleted == ["accountnumber", "A-1"]
    assert both.decode().split() == ["accountnumber,deleted", "A-1,true", "A-2,false", "A-3,false"]


def test_a_where_with_or_is_null_and_in_selects_as_trino_would(sim: ZuoraSim, token: str) -> None:
    # Given
    seed(sim)
    query = (
        "SELECT accountnumber FROM account WHERE (crmid IS NULL OR crmid = '') AND status IN ('Active', 'Draft') "
        "ORDER BY accountnumber DESC"
    )
    # When
    rows = download(run_query(sim, token, query)).decode().split()
    # Then
    assert rows == ["accountnumber", "A-1"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"query": "SELECT id FROM account", "outputFormat": "CSV", "compression": "NONE"}, 400, 400),
        (
            {
                "query": "SELECT id FROM account",
                "outputFormat": "XML",
                "compression": "NONE",
                "output": {"target": "S3"},
            },
            400,
            400,
        ),
    ],
)
def test_a_body_the_schema_refuses_is_a_400(
    sim: ZuoraSim, token: str, body: dict[str, Any], status: int, code: int
) -> None:
    # When
    answer = call(sim, token, "POST", "/query/jobs", json=body)
    # Then
    assert (answer.status_code, answer.json()["code"]) == (status, code)


def test_a_body_not_sent_as_json_is_a_415(sim: ZuoraSim, token: str) -> None:
    # When
    answer = call(sim, token, "POST", "/query/jobs", data="query=SELECT 1")
    # Then
    assert answer.status_code == 415
    assert answer.json() == {"code": 415, "message": "HTTP 415 Unsupported Media Type"}


def test_an_unknown_job_is_a_404_naming_it(sim: ZuoraSim, token: str) -> None:
    # When
    answer = call(sim, token, "GET", "/query/jobs/1e8e8586-5366-4cdf-a01d-fae3b2cf8427")
    # Then
    assert answer.status_code == 404
    assert answer.json() == {"code": 1001, "message": "No such query: 1e8e8586-5366-4cdf-a01d-fae3b2cf8427"}


def test_a_running_job_can_be_cancelled_and_then_stays_cancelled(sim: ZuoraSim, token: str) -> None:
    # Given
    job_id = submit(sim, token, BACKFILL_SQL).json()["data"]["id"]
    # When
    cancelled = call(sim, token, "DELETE", f"/query/jobs/{job_id}")
    later = poll(sim, token, job_id)
    # Then
    assert cancelled.json()["data"]["queryStatus"] == "cancelled"
    assert [job["queryStatus"] for job in later] == ["cancelled"]


def test_jobs_are_listed_newest_first_and_filtered_by_status(sim: ZuoraSim, token: str) -> None:
    # Given
    first = run_query(sim, token, "SELECT id FROM account")
    second = submit(sim, token, "SELECT id FROM account").json()["data"]
    # When
    everything = call(sim, token, "GET", "/query/jobs").json()["data"]
    completed = call(sim, token, "GET", "/query/jobs", params={"queryStatus": "completed"}).json()["data"]
    # Then
    assert [job["id"] for job in everything] == [second["id"], first["id"]]
    assert [job["id"] for job in completed] == [first["id"]]


def test_data_query_needs_a_bearer_token(sim: ZuoraSim) -> None:
    # When
    answer = requests.post(f"{sim.url}/query/jobs", json={}, timeout=TIMEOUT)
    # Then
    assert answer.status_code == 401
