"""How the Zuora gateway rides out Zuora's 429s (concurrent request limit, code 50000070): tried again within the
invocation, more often than other failures and for any call (nothing was done), within a bounded wait and the
invocation's deadline. The answers come from a scripted adapter, not a server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from sfzsync.errors import UpstreamError
from sfzsync.gateways.transport import TimeoutSession, invocation_scope
from sfzsync.gateways.zuora import MAX_ATTEMPTS, THROTTLED_ATTEMPTS, ZuoraRestGateway
from sfzsync.settings import ZuoraSettings

TOKEN = {"access_token": "t", "expires_in": 3600}
ORDER = {"success": True, "orderNumber": "O-1", "accountNumber": "A-1", "status": "Completed"}
BUSY = {"success": False, "reasons": [{"code": 50000070, "message": "concurrent requests exceeded the limit"}]}


class Scripted(BaseAdapter):
    """Answers the token request, then each API request with the next (status, body, Retry-After) of the script."""

    def __init__(self, script: Iterator[tuple[int, dict[str, Any], str]]) -> None:
        super().__init__()
        self.script = script
        self.api_calls = 0

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.request = request
        if str(request.url).endswith("/oauth/token"):
            response.status_code, body, retry_after = 200, TOKEN, ""
        else:
            self.api_calls += 1
            response.status_code, body, retry_after = next(self.script)
        response._content = json.dumps(body).encode()
        if retry_after:
            response.headers["Retry-After"] = retry_after
        return response

    def close(self) -> None:
        pass


def gateway(*script: tuple[int, dict[str, Any], str], then: tuple[int, dict[str, Any], str] | None = None) -> Any:
    def answers() -> Iterator[tuple[int, dict[str, Any], str]]:
        yield from script
        while then is not None:
            yield then

    adapter = Scripted(answers())
    session = TimeoutSession(1.0, 1.0)
    session.mount("https://", adapter)
    settings = ZuoraSettings(baseUrl="https://zuora.test", clientId="c", clientSecret="s")  # type: ignore[arg-type]
    return ZuoraRestGateway(settings, session), adapter


def test_an_order_refused_429_more_times_than_other_failures_are_retried_is_placed_within_the_invocation() -> None:
    # Given Zuora refusing the order 429 (Retry-After: 0) more times than any other failure is tried again
    busy = [(429, BUSY, "0")] * (MAX_ATTEMPTS + 2)
    zuora, adapter = gateway(*busy, (200, ORDER, ""))
    # When the order is created
    result = zuora.create_order({"subscriptions": []}, "key-1")
    # Then it is placed by the call after the last refusal, in the same invocation
    assert result.order_number == "O-1"
    assert adapter.api_calls == MAX_ATTEMPTS + 3


def test_429s_are_tried_at_most_a_bounded_number_of_times_then_answered_with_zuoras_retry_after() -> None:
    # Given Zuora refusing every attempt 429
    zuora, adapter = gateway(then=(429, BUSY, "0"))
    # When the order is created
    with pytest.raises(UpstreamError) as refused:
        zuora.create_order({"subscriptions": []}, "key-2")
    # Then it stops after THROTTLED_ATTEMPTS, with an error the caller may retry after Zuora's Retry-After
    assert adapter.api_calls == THROTTLED_ATTEMPTS
    assert (refused.value.code, refused.value.retryable, refused.value.retry_after_seconds) == ("50000070", True, 0.0)
    assert not refused.value.definitive


def test_a_429_whose_retry_after_the_deadline_cannot_hold_is_not_waited_for() -> None:
    # Given an invocation with 1.5 s left and Zuora asking for 1 s before the next try
    zuora, adapter = gateway(then=(429, BUSY, "1"))
    # When the order is created
    with invocation_scope(1.5), pytest.raises(UpstreamError):
        zuora.create_order({"subscriptions": []}, "key-3")
    # Then the gateway answers at once rather than leaving no time to answer the caller
    assert adapter.api_calls == 1


def test_a_429_waits_no_longer_than_the_bounded_total(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given Zuora refusing every attempt 429 with Retry-After: 3, and a clock that sleeps instantly
    slept: list[float] = []
    monkeypatch.setattr("sfzsync.gateways.zuora.time.sleep", slept.append)
    zuora, _ = gateway(then=(429, BUSY, "3"))
    # When the order is created
    with pytest.raises(UpstreamError):
        zuora.create_order({"subscriptions": []}, "key-4")
    # Then it waited Retry-After (plus at most a quarter) each time, and 8 s at most in all
    assert slept and all(3.0 <= s <= 3.75 for s in slept)
    assert sum(slept) <= 8.0


def test_other_failures_keep_their_three_attempts() -> None:
    # Given Zuora answering 503 to every read
    zuora, adapter = gateway(then=(503, {"message": "unavailable"}, "0"))
    # When an account is read
    with pytest.raises(UpstreamError):
        zuora.get_account("A-1")
    # Then it was tried MAX_ATTEMPTS times, as before
    assert adapter.api_calls == MAX_ATTEMPTS
