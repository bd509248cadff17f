"""Create, get and update accounts (`sandbox.zuora.accounts`)."""

from __future__ import annotations

import pytest

from sandbox.zuora import ZuoraSim
from tests.sandbox.zuora.conftest import CRM_ID, account_body, call, order_body, post_order, reason_codes

# --- accounts --------------------------------------------------------------------------------------


def test_create_account_answers_ids_and_number(sim: ZuoraSim, token: str) -> None:
    # When
    response = call(sim, token, "POST", "/v1/accounts", json=account_body())
    # Then
    body = response.json()
    assert body["success"] is True and body["accountNumber"] == "A00000001"
    assert body["accountId"] == sim.accounts["A00000001"]["id"]
    assert {"billToContactId", "soldToContactId"} <= set(body)
    assert sim.accounts["A00000001"]["crmId"] == "001000000000002AAA"


def test_create_account_body_is_validated(sim: ZuoraSim, token: str) -> None:
    # When
    response = call(sim, token, "POST", "/v1/accounts", json=account_body(billCycleDay="first"))
    # Then
    assert response.json()["success"] is False
    assert sim.schema_violations[0][0] == "POST /v1/accounts"


@pytest.mark.parametrize("key_field", ["accountNumber", "id"])
def test_update_account_by_number_or_id(sim: ZuoraSim, token: str, key_field: str) -> None:
    # Given an account
    number = sim.seed_account("Initech", "USD", CRM_ID)
    key = sim.accounts[number][key_field]
    # When it is updated through its key
    response = call(sim, token, "PUT", f"/v1/accounts/{key}", json={"name": "Initech Corp", "crmId": "001B"})
    # Then
    assert response.json() == {"success": True}
    assert (sim.accounts[number]["name"], sim.accounts[number]["crmId"]) == ("Initech Corp", "001B")


def test_update_account_refuses_a_currency_change(sim: ZuoraSim, token: str) -> None:
    # Given an account
    number = sim.seed_account("Initech", "USD", CRM_ID)
    # When
    response = call(sim, token, "PUT", f"/v1/accounts/{number}", json={"currency": "EUR"})
    # Then
    assert response.json()["success"] is False
    assert sim.accounts[number]["currency"] == "USD"
    assert sim.schema_violations[0][0] == "PUT /v1/accounts/{account-key}"


def test_get_account_returns_basic_info_with_crm_id(sim: ZuoraSim, token: str) -> None:
    # Given an account created through an order
    post_order(sim, token, order_body())
    # When
    body = call(sim, token, "GET", "/v1/accounts/A00000001").json()
    # Then
    assert body["success"] is True
    assert (body["basicInfo"]["accountNumber"], body["basicInfo"]["crmId"]) == ("A00000001", CRM_ID)
    assert body["billingAndPayment"]["currency"] == "USD"
    assert body["billToContact"]["zipCode"] == "94105"


def test_unknown_account_key_is_a_category_40_failure(sim: ZuoraSim, token: str) -> None:
    # When
    response = call(sim, token, "GET", "/v1/accounts/A404")
    # Then
    assert [code % 100 for code in reason_codes(response)] == [40]
