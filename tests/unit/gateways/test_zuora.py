"""How the Zuora gateway reads an answer: success:false in a 200, the category of Zuora's 8-digit codes, statuses."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from sfzsync.gateways.zuora import error_of_answer


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if body is not None else b"<html>Bad Gateway</html>"
    response.headers.update(headers or {})
    return response


def failure(code: int) -> dict[str, Any]:
    return {"success": False, "processId": "P1", "reasons": [{"code": code, "message": "refused"}]}


def test_a_200_with_success_true_is_no_error() -> None:
    assert error_of_answer("zuora_order", answer(200, {"success": True, "orderNumber": "O-1"}), "r1") is None


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        (53100050, True),  # 50: lock contention
        (53100061, True),  # 61: temporary error
        (53100070, True),  # 70: request limit exceeded
        (53100020, False),  # 20: invalid value
        (53100030, False),  # 30: business rule
        (53100040, False),  # 40: not found
        (53100090, False),  # 90: malformed request
    ],
)
def test_success_false_in_a_200_is_retryable_by_the_last_two_digits_of_its_code(code: int, retryable: bool) -> None:
    # Given Zuora answered HTTP 200 with success:false (as it does for business errors)
    error = error_of_answer("zuora_order", answer(200, failure(code)), "req-1")

    # Then it is an error, retryable by category, and stored by Zuora (a retry needs a fresh Idempotency-Key)
    assert error is not None
    assert (error.code, error.retryable, error.definitive) == (str(code), retryable, True)
    assert error.upstream_request_id == "req-1"


@pytest.mark.parametrize(
    ("status", "retryable", "definitive"),
    [(429, True, False), (500, True, False), (502, True, False), (503, True, False), (400, False, True)],
)
def test_an_error_status_is_retryable_when_the_same_request_may_succeed_later(
    status: int, retryable: bool, definitive: bool
) -> None:
    error = error_of_answer("zuora_order", answer(status, {"message": "nope"}, {"Retry-After": "3"}), None)

    assert error is not None
    assert (error.code, error.retryable, error.definitive) == (f"HTTP_{status}", retryable, definitive)
    assert error.retry_after_seconds == 3.0


def test_an_answer_that_is_not_json_is_an_error_naming_its_status() -> None:
    error = error_of_answer("zuora_lookup", answer(502, None), None)

    assert error is not None and error.code == "HTTP_502" and error.retryable
