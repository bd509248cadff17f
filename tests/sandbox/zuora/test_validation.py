"""Request bodies checked against Zuora's OpenAPI document, and Zuora's business errors
(`sandbox.zuora.state`, `sandbox.zuora.errors`)."""

from __future__ import annotations

from sandbox.zuora import ZuoraSim, zuora_failure
from tests.sandbox.zuora.conftest import call, order_body, post_order, reason_codes

# --- schema validation ------------------------------------------------------------------------------


def test_schema_violation_is_recorded_and_refused_like_zuora(sim: ZuoraSim, token: str) -> None:
    # Given an order with a string bill cycle day
    body = order_body()
    body["newAccount"]["billCycleDay"] = "1"
    # When
    response = post_order(sim, token, body)
    # Then
    assert response.status_code == 200
    assert response.json()["success"] is False
    assert [code % 100 for code in reason_codes(response)] == [20]
    assert sim.schema_violations == [
        ("POST /v1/orders", ['$.newAccount.billCycleDay: expected integer, got string "1"'])
    ]
    assert sim.accounts == {}


def test_unknown_field_is_a_category_21_refusal(sim: ZuoraSim, token: str) -> None:
    # Given the Create Account spelling of the postal code inside Create Order
    body = order_body()
    body["newAccount"]["billToContact"]["zipCode"] = body["newAccount"]["billToContact"].pop("postalCode")
    # When
    response = post_order(sim, token, body)
    # Then
    assert [code % 100 for code in reason_codes(response)] == [21]
    assert "zipCode" in sim.schema_violations[0][1][0]


def test_malformed_json_is_a_category_90_refusal(sim: ZuoraSim, token: str) -> None:
    # When
    response = call(sim, token, "POST", "/v1/orders", data=b"{not json", headers={"Content-Type": "application/json"})
    # Then
    assert [code % 100 for code in reason_codes(response)] == [90]


def test_zuora_failure_builds_an_eight_digit_code() -> None:
    # When
    body = zuora_failure(50, "lock contention", object_code="531003")
    # Then
    assert body["success"] is False
    assert body["reasons"] == [{"code": 53100350, "message": "lock contention"}]
