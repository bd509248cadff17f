"""Rate limits (`sandbox.zuora.rate_limits`) against developer.zuora.com's guide "Rate limits" and the response
headers of the published OpenAPI document: every API answer reports the window closest to exhaustion in
`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds); a request over a limit is a 429."""

from __future__ import annotations

import requests

from sandbox.zuora import ZuoraSim
from tests.sandbox.zuora.conftest import call, request_token


def test_an_api_answer_carries_the_rate_limit_of_the_minute(sim: ZuoraSim, token: str) -> None:
    # When
    first = call(sim, token, "GET", "/v1/accounts/A-none")
    second = call(sim, token, "GET", "/v1/accounts/A-none")
    # Then
    assert first.headers["RateLimit-Limit"] == "50000"
    assert int(second.headers["RateLimit-Remaining"]) == int(first.headers["RateLimit-Remaining"]) - 1
    assert 1 <= int(first.headers["RateLimit-Reset"]) <= 60


def test_a_throttled_tenant_answers_429_to_every_fifth_api_request_with_retry_after(sim: ZuoraSim, token: str) -> None:
    # Given
    sim.throttle(every=5, retry_after=2)
    # When
    answers = [call(sim, token, "GET", "/v1/accounts/A-none") for _ in range(10)]
    # Then
    statuses = [answer.status_code for answer in answers]
    assert [i for i, status in enumerate(statuses) if status == 429] == [4, 9]
    refused = answers[4]
    assert (refused.headers["Retry-After"], refused.headers["RateLimit-Remaining"]) == ("2", "0")
    assert sim.throttled == 2


def test_token_requests_are_not_counted_or_throttled(sim: ZuoraSim) -> None:
    # Given
    sim.throttle(every=1)
    # When
    answer: requests.Response = request_token(sim)
    # Then
    assert answer.status_code == 200
    assert "RateLimit-Limit" not in answer.headers


def test_throttling_stops_when_asked(sim: ZuoraSim, token: str) -> None:
    # Given
    sim.throttle(every=1)
    # When
    sim.throttle(None)
    answer = call(sim, token, "GET", "/v1/accounts/A-none")
    # Then
    assert answer.status_code == 200
