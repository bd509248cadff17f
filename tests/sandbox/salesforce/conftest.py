"""Fixtures of the Salesforce simulator tests: a simulator over HTTPS per test module (reset before each test),
a session trusting its CA, a token and a simple-salesforce client; helpers shared by the test modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.salesforce import SalesforceSim
from sandbox.tls import SandboxCA
from tests.sandbox.salesforce.sf_client import Salesforce

CLIENT_ID = "3MVG9test.client"
CLIENT_SECRET = "s3cr3t"
USERNAME = "integration@acme.example.com"
VERSION = "62.0"
HALTED = "PROCESSING_HALTED"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> SandboxCA:
    return SandboxCA(Path(tmp_path_factory.mktemp("ca")))


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def server(ca: SandboxCA, private_key: rsa.RSAPrivateKey) -> Iterator[SalesforceSim]:
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sim = SalesforceSim(
        ca.server_context(),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        jwt_public_key_pem=public_pem.decode(),
        jwt_username=USERNAME,
    )
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def sim(server: SalesforceSim) -> SalesforceSim:
    server.reset()
    return server


@pytest.fixture
def http(ca: SandboxCA) -> Iterator[requests.Session]:
    session = trusting_session(ca)
    yield session
    session.close()


@pytest.fixture
def token(sim: SalesforceSim, http: requests.Session) -> str:
    reply = post_token(http, sim, grant_type="client_credentials", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert reply.status_code == 200
    return str(reply.json()["access_token"])


@pytest.fixture
def sf(sim: SalesforceSim, http: requests.Session, token: str) -> Salesforce:
    return Salesforce(instance_url=sim.url, session_id=token, version=VERSION, session=http)


def trusting_session(ca: SandboxCA) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca.bundle_path)
    return session


def post_token(http: requests.Session, sim: SalesforceSim, **form: str) -> requests.Response:
    return http.post(f"{sim.url}/services/oauth2/token", data=form, timeout=10)


def data_url(sim: SalesforceSim, path: str) -> str:
    return f"{sim.url}/services/data/v{VERSION}/{path}"


def bearer_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_code_of(exc: pytest.ExceptionInfo[Any]) -> str:
    return str(exc.value.content[0]["errorCode"])


def record_of(sim: SalesforceSim, sobject: str, record_id: str) -> dict[str, Any]:
    """`sim.get` of a record the test expects to exist."""
    record = sim.get(sobject, record_id)
    assert record is not None, f"no {sobject} {record_id}"
    return record


def ids_of(result: dict[str, Any]) -> list[str]:
    return [record["Id"] for record in result["records"]]


def run_composite(sf: Salesforce, requests_: list[dict[str, Any]], all_or_none: bool = True) -> list[dict[str, Any]]:
    body = {"allOrNone": all_or_none, "compositeRequest": requests_}
    return list(sf.restful("composite", method="POST", json=body)["compositeResponse"])


def post_subrequest(url: str, ref: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"method": "POST", "url": f"/services/data/v{VERSION}/{url}", "referenceId": ref, "body": body}


def tree_body(contact: dict[str, Any]) -> dict[str, Any]:
    return {
        "records": [
            {
                "attributes": {"type": "Account", "referenceId": "acc"},
                "Name": "Acme",
                "Contacts": {"records": [{"attributes": {"type": "Contact", "referenceId": "con"}, **contact}]},
            }
        ]
    }
