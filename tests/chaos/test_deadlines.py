"""A DynamoDB that stalls never runs a checkout past its deadline: the API answers its own documented 504 (JSON,
`storage_timeout`, retryable) before the invocation ends, never API Gateway's "Endpoint request timed out"."""

from __future__ import annotations

import time

import pytest

from sandbox.aws_proxy import DYNAMODB
from sandbox.core import Fault
from sandbox.demo_data import checkout_body
from sandbox.invoke import checkout_event, invoke
from sandbox.stack import SIGNING_SECRET
from tests.chaos.conftest import LAMBDA_TIMEOUT_SECONDS, Chaos
from tests.conftest import body_of

STALL_SECONDS = 30.0  # far beyond the invocation: only the function's own bounds can end the wait


@pytest.mark.parametrize(
    ("operation", "match"),
    [("TransactWriteItems", "INPROGRESS"), ("TransactWriteItems", "SET account_id"), ("UpdateItem", "COMPLETED")],
    ids=["claim-with-lock", "lock-release-with-checkpoint", "completion"],
)
def test_a_stalled_dynamodb_call_is_answered_with_the_documented_504_before_the_deadline(
    chaos: Chaos, operation: str, match: str | None
) -> None:
    # Given DynamoDB stops answering one kind of call
    chaos.reset()
    chaos.aws.add_fault(
        Fault(path=rf"^/{DYNAMODB}\.{operation}$", match=match, action="timeout", delay=STALL_SECONDS, times=-1)
    )
    event = checkout_event(
        checkout_body("stall@acme-deadline.com"), f"stall-{operation}-{(match or '').replace(' ', '_')}", SIGNING_SECRET
    )

    # When a checkout runs in an invocation of LAMBDA_TIMEOUT_SECONDS
    started = time.monotonic()
    response = invoke(chaos.checkout, event, timeout_seconds=LAMBDA_TIMEOUT_SECONDS)
    elapsed = time.monotonic() - started

    # Then it answers the documented 504 in time, and says a retry with the same key is safe
    assert response["statusCode"] == 504, response["body"]
    error = body_of(response)["error"]
    assert (error["code"], error["retryable"]) == ("storage_timeout", True)
    assert elapsed < LAMBDA_TIMEOUT_SECONDS
    chaos.clear_faults()
