"""Payment methods: orphans, defaults and ownership (`sandbox.zuora.accounts`,
`sandbox.zuora.payment_methods`)."""

from __future__ import annotations

from sandbox.zuora import CHECKOUT_PAYMENT_METHOD_ID, SPARE_PAYMENT_METHODS, ZuoraSim
from tests.sandbox.zuora.conftest import CRM_ID, SDK_PAYMENT_METHOD, account_body, call, order_body, post_order, refusal

# --- payment methods ----------------------------------------------------------------------------------


def test_checkout_card_is_an_orphan_of_the_sandbox_tenant(sim: ZuoraSim, token: str) -> None:
    # When the sample checkout card is retrieved
    response = call(sim, token, "GET", f"/v1/payment-methods/{CHECKOUT_PAYMENT_METHOD_ID}")
    # Then it is a credit card of no account, answered with the documented fields
    body = response.json()
    assert (body["success"], body["id"], body["type"], body["accountKey"]) == (
        True,
        CHECKOUT_PAYMENT_METHOD_ID,
        "CreditCard",
        None,
    )
    assert set(body) <= SDK_PAYMENT_METHOD


def test_new_account_makes_its_hpm_card_the_default_payment_method(sim: ZuoraSim, token: str) -> None:
    # When a new customer orders with the hosted-page card
    account = post_order(sim, token, order_body()).json()["accountNumber"]
    # Then the card belongs to the new account and is its default
    body = call(sim, token, "GET", f"/v1/payment-methods/{CHECKOUT_PAYMENT_METHOD_ID}").json()
    assert (body["accountKey"], body["isDefault"]) == (sim.accounts[account]["id"], True)
    row = call(sim, token, "GET", "/object-query/accounts", params={"filter[]": f"accountNumber.EQ:{account}"})
    assert row.json()["data"][0]["defaultPaymentMethodId"] == CHECKOUT_PAYMENT_METHOD_ID


def test_unknown_payment_method_is_a_category_40_failure(sim: ZuoraSim, token: str) -> None:
    # When / Then
    assert refusal(call(sim, token, "GET", "/v1/payment-methods/8ad0cccccccccccccccccccccccccccc"))[0] == 40


def test_create_account_associates_its_hpm_card(sim: ZuoraSim, token: str) -> None:
    # When an auto-pay account is created with an orphan card
    body = account_body(autoPay=True, hpmCreditCardPaymentMethodId=SPARE_PAYMENT_METHODS[1])
    response = call(sim, token, "POST", "/v1/accounts", json=body)
    # Then the answer names the card, now the account's
    assert response.json()["paymentMethodId"] == SPARE_PAYMENT_METHODS[1]
    assert sim.payment_methods_of(response.json()["accountNumber"])[0]["id"] == SPARE_PAYMENT_METHODS[1]


def test_create_account_refuses_a_card_with_auto_pay_off(sim: ZuoraSim, token: str) -> None:
    # When an account without auto-pay is created with a card (its autoPay description forbids it)
    body = account_body(autoPay=False, hpmCreditCardPaymentMethodId=SPARE_PAYMENT_METHODS[1])
    response = call(sim, token, "POST", "/v1/accounts", json=body)
    # Then
    assert refusal(response)[0] == 20
    assert sim.accounts == {}


def test_create_account_refuses_a_card_of_another_account(sim: ZuoraSim, token: str) -> None:
    # Given a card that belongs to an account
    owner = sim.seed_account("Umbrella", "USD", CRM_ID)
    card = sim.accounts[owner]["defaultPaymentMethodId"]
    # When another account is created with it
    response = call(
        sim, token, "POST", "/v1/accounts", json=account_body(autoPay=True, hpmCreditCardPaymentMethodId=card)
    )
    # Then
    assert refusal(response)[0] == 30
    assert list(sim.accounts) == [owner]


def test_seeded_account_can_go_without_a_payment_method(sim: ZuoraSim) -> None:
    # When
    with_card = sim.seed_account("Umbrella", "USD", CRM_ID)
    without = sim.seed_account("Initech", "USD", CRM_ID, with_payment_method=False)
    # Then
    assert len(sim.payment_methods_of(with_card)) == 1
    assert sim.payment_methods_of(without) == [] and sim.accounts[without]["defaultPaymentMethodId"] is None
