"""Fuzz fixtures: both functions behind API Gateway on loopback (HTTPS), a clean sandbox per operation,
an HTTP session that trusts the sandbox CA, and a requests auth that signs checkouts as a merchant would."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests

from sandbox.api_gateway import LocalApiGateway
from sandbox.button_client import ButtonClient
from sandbox.demo_data import PASSWORD, REP, seed_button_data
from sandbox.stack import SIGNING_SECRET, Sandbox
from sfzsync.checkout.signature import sign


@pytest.fixture(autouse=True)
def _clean_sandbox(clean_sandbox: Sandbox) -> Sandbox:
    """Empty simulators and table before each operation's run; no Zuora schema violation after it."""
    return clean_sandbox


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


@pytest.fixture
def signed_in(sandbox: Sandbox, button_api: LocalApiGateway) -> ButtonClient:
    """A browser signed in to the button as a Salesforce rep (session cookie in `http`), with the demo records."""
    data = seed_button_data(sandbox)
    browser = ButtonClient(sandbox, button_api.url)
    preview = browser.open(browser.button_url(accountId=data.account_id), username=REP, password=PASSWORD)
    assert preview.status_code == 200, preview.text
    return browser


class SignedCheckout(requests.auth.AuthBase):
    """Signs the exact body bytes that go on the wire (`X-Signature`) and gives each request a fresh
    `Idempotency-Key`, so generated checkouts get past authentication into validation, matching and Zuora."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        key = request.headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4()}"
        request.headers["X-Signature"] = sign(SIGNING_SECRET, key, text)
        return request
