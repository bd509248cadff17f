"""Concurrent request limits (`sandbox.zuora.rate_limits`) against developer.zuora.com's "Rate and concurrent request
limits": beyond the tenant's limit of requests in flight, a REST request is answered 429 with error code 50000070,
Zuora's message and `Retry-After: 120`, without being processed; login requests have no concurrent limit; a slot
frees when a request is answered. Requests are held in flight with a delay fault."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests

from sandbox.zuora import ZuoraSim
from sandbox.zuora.rate_limits import CONCURRENCY_MESSAGE
from tests.sandbox.zuora.conftest import call, order_body, post_order, request_token

SLOW = "/v1/accounts/A-slow"


class Held:
    """`count` requests to SLOW in flight (each held `seconds` by a delay fault) until `finish`."""

    def __init__(self, sim: ZuoraSim, token: str, count: int, seconds: float = 1.0) -> None:
        sim.add_fault(path=SLOW, action="delay", delay=seconds, times=count)
        self.answers: list[requests.Response] = []
        self._threads = [
            threading.Thread(target=lambda: self.answers.append(call(sim, token, "GET", SLOW))) for _ in range(count)
        ]
        for thread in self._threads:
            thread.start()
        deadline = time.monotonic() + 5
        while sim.concurrency.in_flight < count:
            assert time.monotonic() < deadline, "the held requests never got in flight"
            time.sleep(0.01)

    def finish(self) -> list[requests.Response]:
        for thread in self._threads:
            thread.join()
        return self.answers


@pytest.fixture
def limited(sim: ZuoraSim) -> Iterator[ZuoraSim]:
    sim.limit_concurrency(2)
    yield sim
    sim.limit_concurrency(None)


def test_a_request_beyond_the_limit_is_answered_429_as_zuora_documents(limited: ZuoraSim, token: str) -> None:
    # Given as many requests in flight as the limit allows
    held = Held(limited, token, 2)
    # When one more arrives
    refused = call(limited, token, "GET", "/v1/accounts/A-none")
    held.finish()
    # Then it is a 429 with REST error code 50000070, Zuora's message and Retry-After: 120
    assert refused.status_code == 429
    body = refused.json()
    assert body["success"] is False
    assert body["reasons"] == [{"code": 50000070, "message": CONCURRENCY_MESSAGE}]
    assert refused.headers["Retry-After"] == "120"
    assert refused.headers["Zuora-Request-Id"]
    assert limited.concurrency.refused == 1


def test_the_refusal_carries_the_rate_limit_headers_of_the_minute(limited: ZuoraSim, token: str) -> None:
    # Given the limit reached
    held = Held(limited, token, 2)
    # When one more request arrives
    refused = call(limited, token, "GET", "/v1/accounts/A-none")
    held.finish()
    # Then its RateLimit-* headers report the minute's quota, which is not what ran out
    assert refused.headers["RateLimit-Limit"] == "50000"
    assert 0 < int(refused.headers["RateLimit-Remaining"]) <= 50000
    assert 1 <= int(refused.headers["RateLimit-Reset"]) <= 60


def test_requests_under_the_limit_pass(sim: ZuoraSim, token: str) -> None:
    # Given a limit of 3 and 2 requests in flight
    sim.limit_concurrency(3)
    held = Held(sim, token, 2)
    # When a third arrives
    answer = call(sim, token, "GET", "/v1/accounts/A-none")
    answers = held.finish()
    # Then it and the held ones are processed (Zuora's not-found is an HTTP 200 success:false)
    assert [a.status_code for a in [answer, *answers]] == [200, 200, 200]
    stats = sim.concurrency
    assert (stats.refused, stats.admitted, stats.max_in_flight, stats.in_flight) == (0, 3, 3, 0)


def test_a_slot_frees_when_a_request_is_answered(limited: ZuoraSim, token: str) -> None:
    # Given the limit reached, then the held requests answered
    held = Held(limited, token, 2, seconds=0.3)
    refused = call(limited, token, "GET", "/v1/accounts/A-none")
    held.finish()
    # When the same request is sent again
    retried = call(limited, token, "GET", "/v1/accounts/A-none")
    # Then it is processed
    assert (refused.status_code, retried.status_code) == (429, 200)
    assert limited.concurrency.in_flight == 0


def test_a_refused_order_is_not_processed_and_its_key_is_free_for_the_retry(limited: ZuoraSim, token: str) -> None:
    # Given the limit reached
    held = Held(limited, token, 2)
    # When an order is refused, then sent again with the same Idempotency-Key once a slot is free
    refused = post_order(limited, token, order_body(), **{"Idempotency-Key": "burst-1"})
    held.finish()
    retried = post_order(limited, token, order_body(), **{"Idempotency-Key": "burst-1"})
    # Then nothing was created by the refused one, and the retry creates the subscription once
    assert refused.status_code == 429
    assert retried.status_code == 200 and retried.json()["success"] is True
    assert len(limited.subscriptions) == 1


def test_login_requests_have_no_concurrent_limit(limited: ZuoraSim, token: str) -> None:
    # Given the limit reached
    held = Held(limited, token, 2)
    # When a token is requested
    answer = request_token(limited)
    held.finish()
    # Then it is issued
    assert answer.status_code == 200


def test_the_time_in_flight_is_measured_as_service_time(limited: ZuoraSim, token: str) -> None:
    # Given requests that each take 0.3 s in the simulator
    Held(limited, token, 2, seconds=0.3).finish()
    # Then the mean service time is at least that
    stats = limited.concurrency
    assert stats.admitted == 2
    assert 0.3 <= stats.mean_service_seconds < 1.0


def test_the_limit_is_off_by_default_and_after_a_reset(sim: ZuoraSim, token: str) -> None:
    # Given a limit of 1, then a reset
    sim.limit_concurrency(1)
    sim.reset()
    # When 3 requests are in flight
    held = Held(sim, token, 3, seconds=0.3)
    answer = call(sim, token, "GET", "/v1/accounts/A-none")
    # Then none is refused
    assert [a.status_code for a in [answer, *held.finish()]] == [200, 200, 200, 200]
    assert sim.concurrency.limit is None and sim.concurrency.refused == 0
