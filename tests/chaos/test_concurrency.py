"""Concurrency: many checkouts of one new customer at once, many copies of one checkout at once, and two tabs
pushing one Order while Zuora loses an answer. Callers retry as the README tells them (409 + Retry-After)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from sandbox.button_client import ButtonClient
from sandbox.core import Fault
from sandbox.demo_data import PASSWORD, REP, checkout_body, seed_button_data
from sandbox.invoke import checkout_event
from sandbox.stack import SIGNING_SECRET, Sandbox
from tests.chaos.conftest import Chaos
from tests.chaos.fleet import Fleet
from tests.conftest import body_of, header_of

CUSTOMER = "racer@newco-chaos.io"
RETRY_BOUND_SECONDS = 30.0


@pytest.fixture(scope="module")
def fleet(sandbox: Sandbox) -> Iterator[Fleet]:
    """20 warm instances of the checkout function, as Lambda scales out. They wait 1 s for a customer's lock
    (4 s in production), so that contention shows as 409s sooner."""
    fleet = Fleet(20, "checkout", CUSTOMER_LOCK_WAIT_SECONDS="1")
    yield fleet
    fleet.close()


def test_twenty_parallel_checkouts_of_one_new_customer_make_one_account(sandbox: Sandbox, fleet: Fleet) -> None:
    # Given an org that does not know the customer, who pays each checkout with a new card
    sandbox.reset()
    cards = [sandbox.zuora.new_orphan_payment_method() for _ in range(20)]
    events = [
        checkout_event(checkout_body(CUSTOMER, paymentMethodId=card), f"race-{n}", SIGNING_SECRET)
        for n, card in enumerate(cards)
    ]

    # When 20 checkouts with their own keys run at once, each retried while its answer says `retryable`
    answers = fleet.until_done(events)

    # Then all of them end 201 with the one Account (and its one Contact) that exists
    finals = [a[0] for a in answers]
    assert [r["statusCode"] for r in finals] == [201] * 20, [r["body"] for r in finals if r["statusCode"] != 201]
    (account,) = sandbox.salesforce.records("Account")
    assert {body_of(r)["salesforceAccountId"] for r in finals} == {account["Id"]}
    assert len(sandbox.salesforce.records("Contact")) == 1
    # And each checkout is its own order, on its own billing account linked to that Account, paid with its own card
    assert len(sandbox.zuora.subscriptions) == 20
    billing_accounts = [sandbox.zuora.find_account(body_of(r)["zuoraAccountNumber"]) for r in finals]
    assert {a["crmId"] for a in billing_accounts if a} == {account["Id"]}
    assert sorted(p["paymentMethodId"] for p in sandbox.zuora.payments.values()) == sorted(cards)
    # And a 409 on the way was customer_busy with a Retry-After
    busy = [r for a in answers for r in a[1:] if r["statusCode"] == 409]
    assert all(body_of(r)["error"]["code"] == "customer_busy" and header_of(r, "Retry-After") for r in busy)


def test_ten_parallel_requests_with_one_key_run_the_flow_once(sandbox: Sandbox, fleet: Fleet) -> None:
    # Given a slow Zuora, so that the copies overlap
    sandbox.reset()
    sandbox.zuora.latency = 0.3
    event = checkout_event(checkout_body(CUSTOMER), "one-key", SIGNING_SECRET)

    # When ten copies of one checkout arrive at once, each retried after a 409
    try:
        answers = fleet.until_done([event] * 10)
    finally:
        sandbox.zuora.latency = 0.0

    # Then the flow ran once: one Account, one order, one subscription, and every copy got the same answer
    finals = [a[0] for a in answers]
    assert [r["statusCode"] for r in finals] == [201] * 10
    assert len({r["body"] for r in finals}) == 1
    assert len(sandbox.salesforce.records("Account")) == 1
    assert sandbox.zuora.call_count(r"^/v1/orders$") == 1
    assert len(sandbox.zuora.subscriptions) == 1
    # And all but the one that ran it were told "in progress" or were replays
    assert sum(header_of(r, "Idempotent-Replayed") != "true" for r in finals) == 1
    busy = [r for a in answers for r in a[1:] if r["statusCode"] == 409]
    assert all(body_of(r)["error"]["code"] == "in_progress" for r in busy)


def test_two_tabs_pushing_one_order_while_zuora_loses_an_answer_make_one_subscription(chaos: Chaos) -> None:
    # Given an Order previewed in one browser, and Zuora that commits the first order but loses its answer
    chaos.reset()
    data = seed_button_data(chaos.sandbox)
    client = ButtonClient(chaos.sandbox, chaos.api.url)
    preview = client.open(client.button_url(orderId=data.order_id), username=REP, password=PASSWORD)
    chaos.sandbox.zuora.add_fault(Fault(path=r"^/v1/orders$", action="timeout_after_commit", delay=1.0))

    # When two tabs press Send at once, and the person presses again until a tab shows the result
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = list(pool.map(lambda _: client.press_send(preview), range(2)))
    again = client.press_send(preview)
    give_up = time.monotonic() + RETRY_BOUND_SECONDS
    while again.status_code != 200 and time.monotonic() < give_up:
        time.sleep(float(again.headers.get("Retry-After") or 0.2))
        again = client.press_send(preview)

    # Then no press failed for good, Zuora has one subscription, and the page names it
    assert {p.status_code for p in first} <= {200, 409, 504}, [p.text for p in first]
    assert again.status_code == 200, again.text
    assert re.search(r'data-outcome="(sent|already-sent)"', again.text)
    (subscription,) = chaos.sandbox.zuora.subscriptions.values()
    assert subscription["subscriptionNumber"] in again.text
    assert len([a for a in chaos.sandbox.zuora.accounts.values() if a.get("crmId") == data.account_id]) == 1
