"""schemathesis against docs/openapi.json, over real HTTPS through API Gateway on loopback, for both functions.

Every generated request (valid and invalid) must get an answer the document promises: no 5xx (the sandbox's
Salesforce and Zuora are healthy, so even a documented 502/504 means a bug here), a documented status code,
content type, headers and body. Bounded: `MAX_EXAMPLES` per operation (plus schemathesis' coverage phase: boundary
values, missing and wrong-typed fields, other methods and media types), `DEADLINE` per request.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sandbox.api_gateway import LocalApiGateway
from sandbox.button_client import ButtonClient
from sandbox.openapi_document import DOCUMENT
from sandbox.stack import Sandbox
from tests.fuzz.conftest import SignedCheckout

MAX_EXAMPLES = 30
DEADLINE = timedelta(seconds=5)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=DEADLINE,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

schema = schemathesis.openapi.from_path(DOCUMENT)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
# Unsigned checkouts all end at the signature check: random ones are enough, the coverage phase adds nothing.
unsigned = schemathesis.openapi.from_path(DOCUMENT).include(path="/orders", method="POST")
unsigned.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
unsigned.config.phases.coverage.enabled = False

pytestmark = pytest.mark.timeout(60)


@schema.include(path_regex="^/sfdccpq").parametrize()
@FUZZ
def test_every_button_operation_answers_anonymous_requests_as_documented(
    case: schemathesis.Case[Any], button_api: LocalApiGateway, sandbox: Sandbox, http: requests.Session
) -> None:
    # Given a generated button request without a session (what anyone on the internet can send)
    # When it goes through API Gateway to the function
    # Then the answer is one the document promises, and never a server error
    case.call_and_validate(base_url=button_api.url, session=http, verify=str(sandbox.ca.bundle_path), checks=CHECKS)


@unsigned.parametrize()
@FUZZ
def test_unsigned_checkouts_are_refused_as_documented(
    case: schemathesis.Case[Any], button_api: LocalApiGateway, sandbox: Sandbox, http: requests.Session
) -> None:
    # Given a generated checkout without a valid signature
    # When it goes through API Gateway to the function
    # Then it is refused as the document promises (401 before anything about the body; 400 for a missing
    # Idempotency-Key, which discloses nothing), never a server error
    response = case.call_and_validate(
        base_url=button_api.url, session=http, verify=str(sandbox.ca.bundle_path), checks=CHECKS
    )

    key_missing = not any(name.lower() == "idempotency-key" for name in case.headers or {})
    assert response.status_code == 401 or (key_missing and response.status_code == 400)


@schema.include(path="/orders", method="POST").parametrize()
@settings(FUZZ, max_examples=80)
def test_signed_checkouts_answer_as_documented_and_leave_zuora_requests_valid(
    case: schemathesis.Case[Any], button_api: LocalApiGateway, sandbox: Sandbox, http: requests.Session
) -> None:
    # Given a generated checkout, correctly signed and with a fresh Idempotency-Key
    # When it goes through validation, Salesforce matching and Zuora Create Order
    # Then the answer is one the document promises, never a server error (Zuora schema: see clean_sandbox)
    case.call_and_validate(
        base_url=button_api.url,
        session=http,
        verify=str(sandbox.ca.bundle_path),
        checks=CHECKS,
        auth=SignedCheckout(),
    )


@schema.include(path="/sfdccpq").parametrize()
@settings(FUZZ, max_examples=15)
def test_signed_in_button_answers_as_documented(
    case: schemathesis.Case[Any], button_api: LocalApiGateway, sandbox: Sandbox, signed_in: ButtonClient
) -> None:
    # Given a generated button request from a signed-in user, for the org this service serves
    domain = f"127.0.0.1:{sandbox.salesforce.port}"
    for parameters in (case.query, case.body):
        if isinstance(parameters, dict):
            parameters["sfdc"] = domain

    # When it goes through API Gateway to the function (previews read Salesforce with the user's token)
    # Then the answer is one the document promises, and never a server error
    case.call_and_validate(
        base_url=button_api.url, session=signed_in.http, verify=str(sandbox.ca.bundle_path), checks=CHECKS
    )
