"""The README's guarantee: logs carry no secrets, tokens, signatures, session cookies or full email addresses.
The whole session is audited at its end (tests/log_audit.py); here both flows run, failures included, and what
they logged is checked against the exact values they handled. The audit itself is shown to catch each kind of
leak."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from types import ModuleType

import pytest
from aws_lambda_powertools import Logger

from sandbox.api_gateway import LocalApiGateway
from sandbox.button_client import ButtonClient
from sandbox.core import Fault
from sandbox.demo_data import PASSWORD, REP, seed_button_data
from sandbox.invoke import checkout_event, invoke
from sandbox.stack import SIGNING_SECRET, Sandbox
from sandbox.zuora import CHECKOUT_PAYMENT_METHOD_ID, SPARE_PAYMENT_METHODS, zuora_failure
from sfzsync.send_to_zuora.cookies import OAUTH_COOKIE, SESSION_COOKIE
from tests.integration.conftest import checkout_body
from tests.log_audit import AUDIT, LogAudit

CUSTOMERS = ["Jane.Doe@Acme.com", "o'brien@globex-audit.com", "sam.smith@gmail.com"]


def test_both_flows_log_nothing_they_must_not_even_when_they_fail(
    sandbox: Sandbox, checkout_app: ModuleType, button_api: LocalApiGateway
) -> None:
    # Given the values the flows will handle: signatures, emails, cookies, tokens (and Zuora echoing an email)
    since = AUDIT.mark()
    cards = [CHECKOUT_PAYMENT_METHOD_ID, *SPARE_PAYMENT_METHODS]
    events = [
        checkout_event(checkout_body(email, paymentMethodId=cards[n]), f"audit-{n}", SIGNING_SECRET)
        for n, email in enumerate(CUSTOMERS)
    ]
    bad_signature = checkout_event(checkout_body(CUSTOMERS[0]), "audit-bad", "not-the-signing-secret-0123456789")
    refused_body = checkout_body("refused.buyer@initech-audit.com", paymentMethodId=cards[len(CUSTOMERS)])
    refused = checkout_event(refused_body, "audit-refused", SIGNING_SECRET)
    sandbox.zuora.add_fault(
        Fault(
            path=r"^/v1/orders$",
            match="refused.buyer",
            action="refuse",
            status=200,
            body=zuora_failure(20, "bad workEmail refused.buyer@initech-audit.com"),
        )
    )

    # When checkouts succeed, replay, fail on signature and fail in Zuora, and a rep signs in and pushes an Order
    answers = [invoke(checkout_app, e) for e in [*events, events[0], bad_signature, refused]]
    data = seed_button_data(sandbox)
    client = ButtonClient(sandbox, button_api.url)
    preview = client.open(client.button_url(orderId=data.order_id), username=REP, password=PASSWORD)
    pushed = client.press_send(preview)

    # Then everything happened as expected
    assert [a["statusCode"] for a in answers] == [201, 201, 201, 201, 401, 502]
    assert pushed.status_code == 200, pushed.text
    # And no line logged meanwhile holds a signature, a cookie, an email or anything the session audit forbids
    cookies = [c.value for c in client.http.cookies if c.name in (SESSION_COOKIE, OAUTH_COOKIE) and c.value]
    signatures = [e["headers"]["X-Signature"] for e in [*events, bad_signature, refused]]
    exact = [*signatures, *(s.split("v1=")[1] for s in signatures), *cookies, *CUSTOMERS]
    exact += ["refused.buyer@initech-audit.com", "lucius.fox@wayne-demo.com", REP]
    lines = AUDIT.lines[since:]
    assert len(lines) > 20  # the flows did log
    assert [(value, line) for value in exact for _, line in lines if value in line] == []
    assert AUDIT.findings(since) == []


@pytest.fixture
def separate_audit() -> Iterator[LogAudit]:
    """A second audit on the root logger, the session's taken off meanwhile: the leaks planted here are not real."""
    audit = LogAudit()
    root = logging.getLogger()
    root.removeHandler(AUDIT)
    root.addHandler(audit)
    try:
        yield audit
    finally:
        root.removeHandler(audit)
        root.addHandler(AUDIT)


def test_the_audit_catches_each_kind_of_leak(sandbox: Sandbox, separate_audit: LogAudit) -> None:
    # Given a function logger (Powertools, JSON) and a library logger, and a token the simulator issued
    separate_audit.watch(sandbox)
    token = sandbox.salesforce.issue_token()
    function_logger = Logger(service="audit-self-test", stream=io.StringIO())  # not the session's stdout
    library_logger = logging.getLogger("some.library")

    # When they log an email in an appended key, a token in an extra field, a secret and a signature in a traceback
    function_logger.append_keys(customer="jane.doe@acme.com")
    function_logger.info("checkout", extra={"token": token})
    function_logger.remove_keys(["customer"])
    try:
        raise ValueError(f"bad header t=1700000000,v1={'ab' * 32}")
    except ValueError:
        library_logger.exception("failed with %s", SIGNING_SECRET)
    library_logger.warning("cookie sfz_session=Zm9vYmFyYmF6cXV4")

    # Then the audit names each one, and a masked email is fine
    function_logger.info("checkout", extra={"customer": "j***@acme.com"})
    found = {f.what for f in separate_audit.findings()}
    assert found == {
        "email address jane.doe@acme.com",
        "a token salesforce issued",
        "secret signingSecret",
        "X-Signature",
        "session cookie",
    }
