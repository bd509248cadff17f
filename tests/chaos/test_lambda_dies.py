"""A Lambda instance that dies mid-flow (killed: no except, no finally, no answer) leaves an in-progress
idempotency record, perhaps the customer's lock, and work done upstream. The caller's retry with the same
Idempotency-Key waits out the dead instance's in-progress window (its remaining time) and then finishes the
checkout without a second Account or a second subscription."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from sandbox.core import Fault
from sandbox.demo_data import checkout_body
from sandbox.invoke import checkout_event, invoke
from sandbox.stack import SIGNING_SECRET, Sandbox
from sfzsync.gateways.dynamodb import LOCK_LEASE_SECONDS
from tests.chaos.fleet import context, run_once
from tests.conftest import body_of, header_of

CUSTOMER = "phoenix@rising-chaos.com"
REMAINING_SECONDS = 5.0  # the dying instance's remaining time: Powertools' in-progress window for its key
HANG_SECONDS = 30.0


def _kill_when(done: Callable[[], bool], event: dict[str, Any]) -> None:
    """Run the checkout in a fresh instance and kill it (SIGKILL) as soon as `done()` holds."""
    environ = {**os.environ, "UPSTREAM_READ_TIMEOUT_SECONDS": str(HANG_SECONDS)}
    instance = context().Process(target=run_once, args=("checkout", environ, event, REMAINING_SECONDS))
    instance.start()
    give_up = time.monotonic() + 15
    while not done() and instance.is_alive() and time.monotonic() < give_up:
        time.sleep(0.01)
    assert done(), "the instance never got that far"
    instance.kill()
    instance.join()


def _retry_until_created(handler: ModuleType, event: dict[str, Any]) -> list[dict[str, Any]]:
    answers = [invoke(handler, event)]
    give_up = time.monotonic() + LOCK_LEASE_SECONDS
    while answers[-1]["statusCode"] == 409 and time.monotonic() < give_up:
        time.sleep(float(header_of(answers[-1], "Retry-After") or 1))
        answers.append(invoke(handler, event))
    return answers


def test_an_instance_killed_after_the_salesforce_create_is_finished_by_the_retry(
    sandbox: Sandbox, checkout_app: ModuleType
) -> None:
    # Given an instance that dies right after Salesforce committed the Account, holding the customer's lock
    sandbox.reset()
    sandbox.salesforce.add_fault(
        Fault(path=r"/composite$", match=r'"allOrNone": true', action="timeout_after_commit", delay=HANG_SECONDS)
    )
    event = checkout_event(checkout_body(CUSTOMER), "phoenix-1", SIGNING_SECRET)
    _kill_when(lambda: bool(sandbox.salesforce.records("Account")), event)
    sandbox.salesforce.clear_faults()

    # When the caller retries with the same key on another instance
    started = time.monotonic()
    answers = _retry_until_created(checkout_app, event)

    # Then it waited for the dead instance's window (409 in_progress), not for the lock's lease
    assert [body_of(a)["error"]["code"] for a in answers[:-1]] == ["in_progress"] * (len(answers) - 1)
    assert len(answers) > 1 and time.monotonic() - started < LOCK_LEASE_SECONDS / 2
    # And it finished with the Account the dead instance created: one Account, one Contact, one subscription
    final = answers[-1]
    assert final["statusCode"] == 201, final["body"]
    (account,) = sandbox.salesforce.records("Account")
    assert (body_of(final)["salesforceAccountId"], body_of(final)["matchedBy"]) == (account["Id"], "contact_email")
    assert len(sandbox.salesforce.records("Contact")) == 1
    assert len(sandbox.zuora.subscriptions) == 1


def test_an_instance_killed_after_zuora_committed_the_order_is_replayed_by_the_retry(
    sandbox: Sandbox, checkout_app: ModuleType
) -> None:
    # Given an instance that dies right after Zuora committed the order, before the answer came back
    sandbox.reset()
    sandbox.zuora.add_fault(Fault(path=r"^/v1/orders$", action="timeout_after_commit", delay=HANG_SECONDS))
    event = checkout_event(checkout_body(CUSTOMER), "phoenix-2", SIGNING_SECRET)
    _kill_when(lambda: bool(sandbox.zuora.subscriptions), event)
    (committed,) = sandbox.zuora.subscriptions

    # When the caller retries with the same key on another instance
    answers = _retry_until_created(checkout_app, event)

    # Then, once the dead instance's window is over, the retry got Zuora's stored answer for the same key
    final = answers[-1]
    assert final["statusCode"] == 201, final["body"]
    assert body_of(final)["subscriptionNumbers"] == [committed]
    assert list(sandbox.zuora.subscriptions) == [committed]
    keys = sandbox.zuora.header_values("Idempotency-Key", r"^/v1/orders$")
    assert len(keys) == 2 and len(set(keys)) == 1
    assert len(sandbox.salesforce.records("Account")) == 1
