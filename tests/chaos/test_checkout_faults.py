"""Fault matrix, checkout: every outbound call of POST /orders fails in every way that applies to it. The first
answer says so correctly (status, `retryable`, `stage`), and retrying with the same Idempotency-Key, the fault
gone, finishes the checkout once: one Salesforce Account, one Contact, one Zuora account, one subscription."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sandbox.core import Fault
from sandbox.demo_data import checkout_body
from sandbox.invoke import checkout_event, invoke
from sandbox.stack import SIGNING_SECRET
from sandbox.zuora import zuora_failure
from tests.chaos.conftest import LAMBDA_TIMEOUT_SECONDS, RESULTS, CellResult, Chaos
from tests.chaos.matrix import CHECKOUT_CALLS, Call, Expect, FaultKind, cells, expected, fault_for
from tests.conftest import body_of, header_of

NEW_CUSTOMER = "jane.doe@acme-chaos.com"
RETURNING_CUSTOMER = "alice@umbrella-corp.com"
UNLINKED_BILLING_ACCOUNT = "A00000700"
MAX_ATTEMPTS = 15
MAX_SECONDS = 20.0


def _checkout(chaos: Chaos, key: str, email: str) -> dict[str, Any]:
    order = {"zuoraAccountNumber": UNLINKED_BILLING_ACCOUNT} if email == RETURNING_CUSTOMER else {}
    event = checkout_event(checkout_body(email, **order), key, SIGNING_SECRET)
    return invoke(chaos.checkout, event, timeout_seconds=LAMBDA_TIMEOUT_SECONDS)


def _given_customer(chaos: Chaos, call: Call) -> str:
    """A new customer, or (for the calls on a named billing account) a known one whose billing account is unlinked."""
    if not call.named_account:
        return NEW_CUSTOMER
    sf = chaos.sandbox.salesforce
    account = sf.insert("Account", {"Name": "Umbrella Corporation", "Website": "umbrella-corp.com"})
    sf.insert("Contact", {"AccountId": account, "LastName": "Abernathy", "Email": RETURNING_CUSTOMER})
    chaos.sandbox.zuora.seed_account(name="Umbrella (web)", currency="USD", account_number=UNLINKED_BILLING_ACCOUNT)
    return RETURNING_CUSTOMER


def _reach(chaos: Chaos, call: Call) -> None:
    """Make the flow call `call`: tokens must be renewed, or Zuora must first refuse the order."""
    if call.role == "token":
        chaos.server(call.system).expire_tokens()
    if call.cold_catalog:
        chaos.checkout.service.deps.catalog.clear()
    if call.after_refusal:
        refusal = zuora_failure(50, "lock contention")
        chaos.sandbox.zuora.add_fault(Fault(path=r"^/v1/orders$", action="refuse", status=200, body=refusal))


def _first_answer_problems(response: dict[str, Any], expect: Expect, call: Call, kind: FaultKind) -> list[str]:
    status = response["statusCode"]
    if status != expect.status:
        return [f"first answer {status}, expected {expect}: {response['body'][:300]}"]
    if status < 400:
        return []
    error = body_of(response)["error"]
    problems = []
    if error.get("retryable") is not expect.retryable:
        problems.append(f"retryable={error.get('retryable')}, expected {expect.retryable} ({error.get('code')})")
    if expect.code and error.get("code") != expect.code:
        problems.append(f"code {error.get('code')}, expected {expect.code}")
    if expect.stage and error.get("stage") != expect.stage:
        problems.append(f"stage {error.get('stage')}, expected {expect.stage}")
    zuora_throttled = kind.id == "http-429" and call.system == "zuora" and call.role != "token"
    if zuora_throttled and not header_of(response, "Retry-After"):
        problems.append("Zuora's Retry-After was not passed on")
    return problems


def _retry_until_created(chaos: Chaos, key: str, email: str, first: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The caller's side: same key again (after Retry-After on a 409) until 201, within bounds."""
    response, attempts, give_up = first, 1, time.monotonic() + MAX_SECONDS
    while response["statusCode"] != 201 and attempts < MAX_ATTEMPTS and time.monotonic() < give_up:
        time.sleep(min(float(header_of(response, "Retry-After") or 0.05), 2.0))
        response, attempts = _checkout(chaos, key, email), attempts + 1
    return response, attempts


def _answer(response: dict[str, Any]) -> str:
    if response["statusCode"] < 400:
        return str(response["statusCode"])
    error = body_of(response)["error"]
    flag = "retryable" if error.get("retryable") else "not retryable"
    return f"{response['statusCode']} {error.get('code')} {flag}"


@pytest.mark.parametrize(("call", "kind"), cells(CHECKOUT_CALLS), ids=lambda v: v.id)
def test_checkout_answers_the_fault_right_and_a_retry_with_the_same_key_finishes_it_once(
    chaos: Chaos, call: Call, kind: FaultKind
) -> None:
    # Given a customer and one call that fails
    chaos.reset()
    email = _given_customer(chaos, call)
    _reach(chaos, call)
    chaos.server(call.system).add_fault(fault_for(call, kind))
    key = f"chaos-{call.id}-{kind.id}"
    started = time.monotonic()

    # When the checkout runs, and the caller retries with the same Idempotency-Key once the fault is gone
    first = _checkout(chaos, key, email)
    chaos.clear_faults()
    final, attempts = _retry_until_created(chaos, key, email, first)

    # Then the first answer said what happened, and the checkout finished exactly once
    expect = expected(call, kind)
    problems = _first_answer_problems(first, expect, call, kind)
    result = body_of(final) if final["statusCode"] == 201 else {}
    accounts = chaos.sandbox.salesforce.records("Account")
    contacts = [c for c in chaos.sandbox.salesforce.records("Contact") if c["Email"].lower() == email.lower()]
    subscriptions = list(chaos.sandbox.zuora.subscriptions.values())
    account_ids = {a["Id"] for a in accounts}
    zuora_accounts = [a for a in chaos.sandbox.zuora.accounts.values() if a.get("crmId") in account_ids]
    RESULTS.append(
        CellResult(
            "checkout",
            call.id,
            kind.label,
            str(expect),
            _answer(first),
            attempts,
            str(final["statusCode"]),
            max(len(accounts), len(contacts), len(zuora_accounts)),
            len(subscriptions),
            time.monotonic() - started,
            problems,
        )
    )
    assert problems == []
    assert final["statusCode"] == 201, f"not finished after {attempts} tries: {final['body'][:300]}"
    assert len(accounts) == 1 and result["salesforceAccountId"] == accounts[0]["Id"]
    assert len(contacts) == 1
    assert len(zuora_accounts) == 1
    assert [s["subscriptionNumber"] for s in subscriptions] == result["subscriptionNumbers"]
    assert subscriptions[0]["accountNumber"] == zuora_accounts[0]["accountNumber"] == result["zuoraAccountNumber"]
    assert chaos.sandbox.zuora.schema_violations == []
    # And the finished checkout is stored: the same key now replays it
    replay = _checkout(chaos, key, email)
    assert (replay["statusCode"], header_of(replay, "Idempotent-Replayed")) == (201, "true")
    assert body_of(replay) == result


REJECTED: dict[str, tuple[dict[str, dict[str, Any]], dict[str, Any], int]] = {
    "no signature": ({}, {"secret": None}, 401),
    "wrong signature": ({}, {"secret": "not-the-signing-secret-0123456789"}, 401),
    "stale signature": ({}, {"timestamp": int(time.time()) - 301}, 401),
    "schema error": ({"order": {"currency": "usd"}}, {}, 422),
    "unusable email": ({"customer": {"email": "jane@localhost"}}, {}, 422),
    "unknown rate plan": ({"order": {"subscriptions": [{"ratePlans": [{"productRatePlanId": "8ad0dead"}]}]}}, {}, 422),
}


@pytest.mark.parametrize("case", REJECTED)
def test_a_rejected_checkout_creates_nothing_and_leaves_its_key_free(chaos: Chaos, case: str) -> None:
    # Given a checkout that fails its signature or validation
    chaos.reset()
    changes, signing, status = REJECTED[case]
    body = checkout_body(NEW_CUSTOMER)
    for part, fields in changes.items():
        body[part] |= fields
    event = checkout_event(
        body, "chaos-rejected", signing.get("secret", SIGNING_SECRET), signing.get("timestamp", None)
    )

    # When it is sent, and then the real checkout comes with the same Idempotency-Key
    rejected = invoke(chaos.checkout, event, timeout_seconds=LAMBDA_TIMEOUT_SECONDS)
    untouched = (list(chaos.sandbox.salesforce.calls), list(chaos.sandbox.zuora.calls))
    accepted = _checkout(chaos, "chaos-rejected", NEW_CUSTOMER)

    # Then the rejection reached no Salesforce and wrote nothing in Zuora (the catalog is read), and the key was still
    # free for the real checkout
    assert rejected["statusCode"] == status, rejected["body"]
    assert untouched[0] == []
    assert [c.path for c in untouched[1] if c.method != "GET" and c.path != "/oauth/token"] == []
    assert accepted["statusCode"] == 201, accepted["body"]
    assert len(chaos.sandbox.salesforce.records("Account")) == 1
