"""How the checkout handler talks to Salesforce and Zuora: auth flows, token reuse, headers, duplicates, races."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from sandbox.invoke import checkout_event, invoke
from sandbox.stack import SIGNING_SECRET, Sandbox
from sandbox.zuora import SPARE_PAYMENT_METHODS
from tests.integration.conftest import CheckoutCall, body_of, checkout_body

TOKEN = r"^/services/oauth2/token$"
ZUORA_TOKEN = r"^/oauth/token$"


def test_jwt_bearer_flow_signs_in_and_checks_out(sandbox: Sandbox, reconfigured: Callable[..., ModuleType]) -> None:
    # Given the secret asks for the JWT bearer flow
    handler = reconfigured(auth_flow="jwt_bearer")

    # When a checkout runs
    response = invoke(handler, checkout_event(checkout_body(), "jwt-1", SIGNING_SECRET))

    # Then Salesforce saw a JWT bearer grant and the checkout succeeded
    assert response["statusCode"] == 201, response["body"]
    (grant,) = [c for c in sandbox.salesforce.calls if c.path == "/services/oauth2/token"]
    assert b"jwt-bearer" in grant.body


def test_tokens_are_reused_while_valid(sandbox: Sandbox, reconfigured: Callable[..., ModuleType]) -> None:
    handler = reconfigured()

    for n in range(3):
        invoke(handler, checkout_event(checkout_body(f"buyer{n}@example-{n}.com"), f"reuse-{n}", SIGNING_SECRET))

    assert sandbox.salesforce.call_count(TOKEN) == 1
    assert sandbox.zuora.call_count(ZUORA_TOKEN) == 1


def test_expired_tokens_mid_flow_are_renewed_once(sandbox: Sandbox, post_checkout: CheckoutCall) -> None:
    post_checkout(checkout_body("first@acme.com"), key="expiry-1")
    sandbox.salesforce.expire_tokens()
    sandbox.zuora.expire_tokens()
    sandbox.salesforce.clear_calls()
    sandbox.zuora.clear_calls()

    response = post_checkout(checkout_body("second@acme.com", paymentMethodId=SPARE_PAYMENT_METHODS[0]), key="expiry-2")

    assert response["statusCode"] == 201, response["body"]
    assert sandbox.salesforce.call_count(TOKEN) == 1
    assert sandbox.zuora.call_count(ZUORA_TOKEN) == 1


def test_zuora_calls_carry_the_pinned_version_and_the_api_gateway_request_id(
    sandbox: Sandbox, checkout_app: ModuleType
) -> None:
    event = checkout_event(checkout_body(), "headers-1", SIGNING_SECRET)

    invoke(checkout_app, event)

    (order_call,) = [c for c in sandbox.zuora.calls if c.path == "/v1/orders"]
    assert order_call.headers["Zuora-Version"] == sandbox.options.zuora_version
    assert order_call.headers["Zuora-Track-Id"] == event["requestContext"]["requestId"]
    assert order_call.headers["Idempotency-Key"].startswith("checkout-")


def test_duplicate_rule_hit_reuses_the_matched_account(sandbox: Sandbox, post_checkout: CheckoutCall) -> None:
    # Given an Account the lookup rules cannot find (free-mail customer) but a duplicate rule on Name can
    existing = sandbox.salesforce.insert("Account", {"Name": "Jane Doe"})
    sandbox.salesforce.enable_duplicate_rule("Account", "Name")

    result = body_of(post_checkout(checkout_body("jane.doe@gmail.com", company=None)))

    assert (result["matchedBy"], result["salesforceAccountId"]) == ("duplicate_rule", existing)
    assert len(sandbox.salesforce.records("Account")) == 1
    assert sandbox.salesforce.records("Contact") == []


# Parallel checkouts run in separate processes (one per Lambda instance) in tests/chaos/test_concurrency.py:
# threads would share Powertools' resolver state, which a Lambda instance never does.
