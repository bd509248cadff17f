"""Rate limits slow the run down (`sfzsync.backfill.pacing`): Retry-After in full, backoff otherwise, `RateLimit-*`
headers holding every call back when the window is nearly spent; what is not retryable fails at once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from sfzsync.backfill.pacing import Patience, RateLimitWatch
from sfzsync.errors import UpstreamError
from sfzsync.gateways.transport import invocation_scope


def failing(times: int, error: UpstreamError) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "done"

    return calls, call


def throttled(retry_after: float | None = None) -> UpstreamError:
    return UpstreamError(
        "zuora_backfill", "HTTP_429", "Too many requests", retryable=True, retry_after_seconds=retry_after
    )


def test_a_retry_after_is_waited_in_full_even_beyond_what_a_checkout_would_wait() -> None:
    # Given
    slept: list[float] = []
    patience = Patience(sleep=slept.append)
    _, call = failing(1, throttled(retry_after=30))
    # When
    outcome = patience.run(call)
    # Then
    assert (outcome, slept, patience.waits) == ("done", [30.0], 1)


def test_without_retry_after_the_wait_doubles_up_to_the_cap() -> None:
    # Given
    slept: list[float] = []
    patience = Patience(attempts=6, base_delay=1.0, max_delay=5.0, sleep=slept.append)
    _, call = failing(5, throttled())
    # When
    patience.run(call)
    # Then
    assert slept == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_after_the_last_attempt_the_error_is_raised() -> None:
    # Given
    patience = Patience(attempts=3, sleep=lambda _s: None)
    calls, call = failing(10, throttled())
    # When
    with pytest.raises(UpstreamError):
        patience.run(call)
    # Then
    assert len(calls) == 3


def test_an_error_that_is_not_retryable_is_raised_at_once() -> None:
    # Given
    patience = Patience(sleep=lambda _s: pytest.fail("must not wait"))
    calls, call = failing(1, UpstreamError("zuora_backfill", "53100020", "invalid", retryable=False))
    # When
    with pytest.raises(UpstreamError):
        patience.run(call)
    # Then
    assert len(calls) == 1


def test_no_wait_outlasts_the_invocation() -> None:
    # Given: a Lambda with 5 seconds left, and a server asking for 30
    patience = Patience(sleep=lambda _s: pytest.fail("must not wait"))
    _, call = failing(1, throttled(retry_after=30))
    # When / Then
    with invocation_scope(5.0), pytest.raises(UpstreamError):
        patience.run(call)


def response_with(headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response.headers.update(headers)
    return response


def test_a_nearly_spent_rate_limit_window_holds_the_next_call_until_it_resets() -> None:
    # Given
    slept: list[float] = []
    watch = RateLimitWatch(floor=10, sleep=slept.append)
    # When
    watch.observe(response_with({"RateLimit-Limit": "50000;w=60", "RateLimit-Remaining": "3", "RateLimit-Reset": "12"}))
    watch.wait()
    # Then
    assert len(slept) == 1 and 11.0 < slept[0] <= 12.0


def test_a_window_with_room_left_holds_nothing() -> None:
    # Given
    watch = RateLimitWatch(floor=10, sleep=lambda _s: pytest.fail("must not wait"))
    # When
    watch.observe(response_with({"RateLimit-Limit": "50000", "RateLimit-Remaining": "49000", "RateLimit-Reset": "40"}))
    watch.observe(response_with({}))  # Salesforce's answers carry no RateLimit-* header
    # Then
    watch.wait()


def test_a_refusal_leaves_the_wait_to_its_retry_after_and_holds_no_other_call() -> None:
    # Given: a 429 whose headers say the window is spent, and whose Retry-After asks for one second
    watch = RateLimitWatch(floor=10, sleep=lambda _s: pytest.fail("must not hold"))
    refused = response_with({"Retry-After": "1", "RateLimit-Remaining": "0", "RateLimit-Reset": "59"})
    refused.status_code = 429
    # When
    watch.observe(refused)
    # Then
    watch.wait()


def test_patience_waits_for_the_watch_before_each_call() -> None:
    # Given
    slept: list[float] = []
    watch = RateLimitWatch(floor=10, sleep=slept.append)
    watch.observe(response_with({"RateLimit-Remaining": "0", "RateLimit-Reset": "7"}))
    # When
    Patience(watch=watch, sleep=slept.append).run(lambda: "done")
    # Then
    assert len(slept) == 1 and slept[0] > 6.0
