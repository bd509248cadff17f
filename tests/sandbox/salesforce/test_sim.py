"""The simulator's Python API and HTTP plumbing (`sandbox.salesforce.sim`)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sandbox.salesforce import SalesforceSim
from sandbox.tls import SandboxCA
from tests.sandbox.salesforce.conftest import VERSION, record_of, trusting_session
from tests.sandbox.salesforce.sf_client import Salesforce

# --- Python API and plumbing -------------------------------------------------------------------------------------


def test_insert_with_created_date_renders_salesforce_format(sim: SalesforceSim) -> None:
    account = sim.insert("Account", {"Name": "Acme"}, created_date=datetime(2026, 11, 23, 18, 0, tzinfo=UTC))
    assert record_of(sim, "Account", account)["CreatedDate"] == "2026-11-23T18:00:00.000+0000"


def test_records_returns_copies(sim: SalesforceSim) -> None:
    sim.insert("Account", {"Name": "Acme"})
    sim.records("Account")[0]["Name"] = "changed"
    assert sim.records("Account")[0]["Name"] == "Acme"


def test_api_usage_header_is_parsed_by_simple_salesforce(sf: Salesforce) -> None:
    sf.query("SELECT Id FROM Account")
    assert sf.api_usage["api-usage"].total == 15000


def test_concurrent_creates_get_distinct_ids(sim: SalesforceSim, ca: SandboxCA, token: str) -> None:
    created: list[str] = []

    def create(n: int) -> None:
        with trusting_session(ca) as session:
            client = Salesforce(instance_url=sim.url, session_id=token, version=VERSION, session=session)
            created.append(client.Account.create({"Name": f"A{n}"})["id"])

    threads = [threading.Thread(target=create, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(created)) == 10
    assert len(sim.records("Account")) == 10
