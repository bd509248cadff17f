"""Idempotency-Key: stored answers, replays and conflicts (`sandbox.zuora.idempotency`)."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from sandbox.core import Fault
from sandbox.zuora import ZuoraSim
from tests.sandbox.zuora.conftest import CRM_ID, account_body, call, order_body, post_order

# --- idempotency ------------------------------------------------------------------------------------


def test_same_key_and_body_replays_the_stored_response(sim: ZuoraSim, token: str) -> None:
    # Given a processed order
    first = post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When it is sent again with the same key
    second = post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # Then the stored status, body and headers come back and nothing new is created
    assert (second.status_code, second.content) == (first.status_code, first.content)
    assert second.headers["Zuora-Request-Id"] == first.headers["Zuora-Request-Id"]
    assert len(sim.orders) == 1 and len(sim.subscriptions) == 1


def test_same_key_with_another_body_is_422(sim: ZuoraSim, token: str) -> None:
    # Given a processed order
    post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When the key is reused for another body
    response = post_order(sim, token, order_body(evergreen=True), **{"Idempotency-Key": "k1"})
    # Then
    assert response.status_code == 422
    assert len(sim.orders) == 1


def test_same_key_on_another_path_is_independent(sim: ZuoraSim, token: str) -> None:
    # Given an order processed under a key
    post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When the key is used to create an account
    response = call(sim, token, "POST", "/v1/accounts", json=account_body(), headers={"Idempotency-Key": "k1"})
    # Then it is processed
    assert response.json()["success"] is True
    assert len(sim.accounts) == 2


def test_key_still_in_flight_is_409(sim: ZuoraSim, token: str) -> None:
    # Given an order that takes a while to process
    sim.processing_delay = 0.5
    results: list[requests.Response] = []
    worker = threading.Thread(
        target=lambda: results.append(post_order(sim, token, order_body(), **{"Idempotency-Key": "slow"}))
    )
    worker.start()
    time.sleep(0.2)
    # When the same request arrives meanwhile
    concurrent = post_order(sim, token, order_body(), **{"Idempotency-Key": "slow"})
    worker.join()
    # Then it is refused with 409 and the first completes
    assert concurrent.status_code == 409
    assert results[0].json()["success"] is True
    assert len(sim.subscriptions) == 1


def test_refusal_is_stored_and_replayed(sim: ZuoraSim, token: str) -> None:
    # Given an order refused for an unknown account
    first = post_order(sim, token, order_body(existing="A09999999"), **{"Idempotency-Key": "k1"})
    sim.seed_account("Late", "USD", CRM_ID, account_number="A09999999")
    # When it is retried with the same key after the account exists
    second = post_order(sim, token, order_body(existing="A09999999"), **{"Idempotency-Key": "k1"})
    # Then the stored refusal is replayed
    assert second.content == first.content and second.json()["success"] is False
    assert sim.orders == {}


def test_front_door_fault_is_not_stored(sim: ZuoraSim, token: str) -> None:
    # Given a 503 injected in front of the first order
    sim.add_fault(Fault(path="^/v1/orders$", status=503, body={"message": "Service Unavailable"}))
    assert post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"}).status_code == 503
    # When the client retries with the same key
    response = post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # Then the order is processed
    assert response.json()["success"] is True
    assert len(sim.orders) == 1


def test_reset_after_commit_is_stored_and_replayed(sim: ZuoraSim, token: str) -> None:
    # Given an order processed but whose answer is lost to a connection reset
    sim.add_fault(Fault(path="^/v1/orders$", action="reset_after_commit"))
    with pytest.raises(requests.ConnectionError):
        post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When the client retries with the same key
    response = post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # Then it gets the stored answer and there is one subscription
    assert response.json()["subscriptionNumbers"] == ["A-S00000001"]
    assert len(sim.subscriptions) == 1


def test_stored_response_expires(sim: ZuoraSim, token: str) -> None:
    # Given keys that live no time at all
    sim.idempotency_ttl = 0
    post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When the key is reused (for another customer, with a card of its own)
    post_order(sim, token, order_body(payment_method=sim.new_orphan_payment_method()), **{"Idempotency-Key": "k1"})
    # Then the order is processed again
    assert len(sim.orders) == 2
