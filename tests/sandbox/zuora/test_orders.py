"""Create Order: what it creates, bills and collects, and what it refuses (`sandbox.zuora.orders`)."""

from __future__ import annotations

import pytest

from sandbox.zuora import (
    CHECKOUT_PAYMENT_METHOD_ID,
    ONBOARDING_CHARGE_ID,
    ONBOARDING_RATE_PLAN_ID,
    PLATFORM_FEE_CHARGE_ID,
    PRO_RATE_PLAN_ID,
    SEATS_CHARGE_ID,
    SPARE_PAYMENT_METHODS,
    STORAGE_CHARGE_ID,
    STORAGE_RATE_PLAN_ID,
    SUPPORT_FEE_CHARGE_ID,
    TIERED_RATE_PLAN_ID,
    TIERED_SEATS_CHARGE_ID,
    US_RESIDENCY_RATE_PLAN_ID,
    ZuoraSim,
    uses_subscriptions_field,
)
from tests.sandbox.zuora.conftest import CRM_ID, order_body, post_order, quantity_of, refusal, subscribe_to

# --- Create Order ---------------------------------------------------------------------------------


def test_order_with_new_account_creates_account_subscription_and_order(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body())
    # Then
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "orderNumber": "O-00000001",
        "accountNumber": "A00000001",
        "invoiceNumbers": ["INV00000001"],
        "paymentNumber": "P-00000001",
        "status": "Completed",
        "subscriptionNumbers": ["A-S00000001"],
    }
    account = sim.accounts["A00000001"]
    assert (account["crmId"], account["currency"], account["status"]) == (CRM_ID, "USD", "Active")
    assert len(account["id"]) == 32 and account["billToContact"]["workEmail"] == "jane@acme.com"
    subscription = sim.subscriptions["A-S00000001"]
    assert subscription["accountNumber"] == "A00000001"
    assert subscription["ratePlans"][0]["productRatePlanId"] == PRO_RATE_PLAN_ID
    assert subscription["terms"]["initialTerm"]["period"] == 12
    assert sim.orders["O-00000001"]["subscriptionNumbers"] == ["A-S00000001"]


def test_order_against_existing_account_adds_a_subscription_only(sim: ZuoraSim, token: str) -> None:
    # Given a seeded account
    number = sim.seed_account("Umbrella", "USD", CRM_ID)
    # When
    response = post_order(sim, token, order_body(existing=number, evergreen=True))
    # Then
    assert response.json()["accountNumber"] == number
    assert list(sim.accounts) == [number]
    assert sim.subscriptions["A-S00000001"]["terms"] == {"initialTerm": {"termType": "EVERGREEN"}}


def test_order_against_unknown_account_is_a_category_40_failure(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body(existing="A09999999"))
    # Then
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False and len(body["processId"]) == 16
    assert body["reasons"][0]["code"] % 100 == 40 and len(str(body["reasons"][0]["code"])) == 8
    assert body["reasons"][0]["message"].startswith("Cannot find entity")
    assert sim.orders == {} and sim.subscriptions == {}


def test_each_subscription_of_an_order_gets_its_own_number(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body(subscriptions=2))
    # Then
    assert response.json()["subscriptionNumbers"] == ["A-S00000001", "A-S00000002"]


@pytest.mark.parametrize(
    ("version", "expected"),
    [(None, False), ("222.4", False), ("223.0", True), ("341.0", True), ("2025-08-12", True)],
)
def test_response_field_depends_on_zuora_version(version: str | None, expected: bool) -> None:
    # When / Then
    assert uses_subscriptions_field(version) is expected


def test_new_versions_answer_subscriptions_with_status(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body(), **{"Zuora-Version": "2025-08-12"})
    # Then
    body = response.json()
    assert "subscriptionNumbers" not in body
    assert body["subscriptions"] == [{"subscriptionNumber": "A-S00000001", "status": "Active"}]


def test_rejected_order_leaves_nothing_behind(sim: ZuoraSim, token: str) -> None:
    # Given two subscriptions asking for the same subscription number
    body = order_body(subscriptions=2)
    for item in body["subscriptions"]:
        item["orderActions"][0]["createSubscription"]["subscriptionNumber"] = "A-S-DUP"
    # When
    response = post_order(sim, token, body)
    # Then the new account is rolled back with the order, and its card is an orphan again
    assert response.json()["success"] is False
    assert sim.accounts == {} and sim.subscriptions == {} and sim.orders == {}
    assert sim.invoices == {} and sim.payments == {}
    assert sim.payment_methods[CHECKOUT_PAYMENT_METHOD_ID]["accountId"] is None


# --- what an order did -------------------------------------------------------------------------------


def test_order_quantity_goes_to_the_per_unit_charge_only(sim: ZuoraSim, token: str) -> None:
    # When 3 seats of Pro are ordered
    response = post_order(sim, token, order_body())
    # Then the per-unit charge holds 3 and the flat fee no quantity
    (number,) = response.json()["subscriptionNumbers"]
    assert sim.quantities_of(number) == {SEATS_CHARGE_ID: 3, PLATFORM_FEE_CHARGE_ID: None}


def test_charge_without_override_gets_the_catalog_default_quantity(sim: ZuoraSim, token: str) -> None:
    # When Storage (defaultQuantity 100) and Pro are ordered without any override
    body = order_body(rate_plans=[subscribe_to(STORAGE_RATE_PLAN_ID), subscribe_to(PRO_RATE_PLAN_ID)])
    (number,) = post_order(sim, token, body).json()["subscriptionNumbers"]
    # Then each quantity charge has its default quantity
    assert sim.quantities_of(number) == {STORAGE_CHARGE_ID: 100, SEATS_CHARGE_ID: 1, PLATFORM_FEE_CHARGE_ID: None}


def test_subscriptions_of_lists_an_accounts_subscriptions(sim: ZuoraSim, token: str) -> None:
    # Given an account with two subscriptions and another account
    account = post_order(sim, token, order_body(subscriptions=2)).json()["accountNumber"]
    sim.seed_account("Other", "USD", CRM_ID)
    # When / Then
    assert [s["subscriptionNumber"] for s in sim.subscriptions_of(account)] == ["A-S00000001", "A-S00000002"]


def test_run_billing_invoices_catalog_prices_times_quantities(sim: ZuoraSim, token: str) -> None:
    # When 3 seats of Pro are ordered in USD with billing
    account = post_order(sim, token, order_body()).json()["accountNumber"]
    # Then the invoice is 3 x 10 (seats) + 100 (platform fee)
    (invoice,) = sim.invoices_of(account)
    assert (invoice["invoiceNumber"], invoice["currency"], invoice["amount"]) == ("INV00000001", "USD", 130.0)
    assert [(i["productRatePlanChargeId"], i["amount"]) for i in invoice["items"]] == [
        (SEATS_CHARGE_ID, 30.0),
        (PLATFORM_FEE_CHARGE_ID, 100.0),
    ]


def test_invoice_is_priced_in_the_accounts_currency(sim: ZuoraSim, token: str) -> None:
    # When the same order is placed for a EUR account
    account = post_order(sim, token, order_body(currency="EUR")).json()["accountNumber"]
    # Then EUR prices apply: 3 x 9 + 90
    (invoice,) = sim.invoices_of(account)
    assert (invoice["currency"], invoice["amount"]) == ("EUR", 117.0)


def test_tiered_charge_prices_each_tier_s_units(sim: ZuoraSim, token: str) -> None:
    # When 12 tiered seats are ordered (tiers: 1-10 at 10, 11+ at 8)
    plans = [subscribe_to(TIERED_RATE_PLAN_ID, quantity_of(TIERED_SEATS_CHARGE_ID, 12, "recurringTiered"))]
    account = post_order(sim, token, order_body(rate_plans=plans)).json()["accountNumber"]
    # Then the invoice is 10 x 10 + 2 x 8
    assert sim.invoices_of(account)[0]["amount"] == 116.0


@pytest.mark.parametrize(("gigabytes", "amount"), [(50, 50.0), (200, 90.0), (2000, 800.0)])
def test_volume_charge_prices_the_whole_quantity_at_its_tier(
    sim: ZuoraSim, token: str, gigabytes: int, amount: float
) -> None:
    # When storage is ordered (USD tiers: 1-100 flat 50, 101-1000 at 0.45, 1001+ at 0.40)
    plans = [subscribe_to(STORAGE_RATE_PLAN_ID, quantity_of(STORAGE_CHARGE_ID, gigabytes, "recurringVolume"))]
    account = post_order(sim, token, order_body(rate_plans=plans)).json()["accountNumber"]
    # Then the tier holding the quantity prices all of it
    assert sim.invoices_of(account)[0]["amount"] == amount


def test_one_time_per_unit_charge_is_invoiced_price_times_quantity(sim: ZuoraSim, token: str) -> None:
    # When two onboarding sessions (one-time, 150 each) are ordered
    plans = [subscribe_to(ONBOARDING_RATE_PLAN_ID, quantity_of(ONBOARDING_CHARGE_ID, 2, "oneTimePerUnit"))]
    account = post_order(sim, token, order_body(rate_plans=plans)).json()["accountNumber"]
    # Then
    assert sim.invoices_of(account)[0]["amount"] == 300.0


def test_order_without_run_billing_records_no_invoice_or_payment(sim: ZuoraSim, token: str) -> None:
    # When an order is placed without billing
    response = post_order(sim, token, order_body(processing={"runBilling": False}))
    # Then it answers no invoice and none is kept
    assert "invoiceNumbers" not in response.json()
    assert sim.invoices == {} and sim.payments == {}


def test_collect_payment_charges_the_new_accounts_card(sim: ZuoraSim, token: str) -> None:
    # When a new customer orders with the hosted-page card and payment collection
    body = post_order(sim, token, order_body()).json()
    # Then the invoice amount is paid with that card
    (payment,) = sim.payments_of(body["accountNumber"])
    assert payment["paymentNumber"] == body["paymentNumber"]
    assert (payment["paymentMethodId"], payment["amount"], payment["currency"]) == (
        CHECKOUT_PAYMENT_METHOD_ID,
        130.0,
        "USD",
    )
    assert sim.invoices_of(body["accountNumber"])[0]["balance"] == 0.0


def test_existing_account_pays_with_its_default_payment_method(sim: ZuoraSim, token: str) -> None:
    # Given an account whose default payment method is a card of its own
    number = sim.seed_account("Umbrella", "USD", CRM_ID, with_payment_method=False)
    card = sim.seed_payment_method(account_number=number)
    # When it orders with payment collection
    post_order(sim, token, order_body(existing=number))
    # Then that card pays
    assert [p["paymentMethodId"] for p in sim.payments_of(number)] == [card]


def test_electronic_payment_option_pays_and_joins_the_account_without_becoming_default(
    sim: ZuoraSim, token: str
) -> None:
    # Given an account with a default card, and an orphan card from the hosted page
    number = sim.seed_account("Umbrella", "USD", CRM_ID)
    default = sim.accounts[number]["defaultPaymentMethodId"]
    spare = SPARE_PAYMENT_METHODS[0]
    # When it orders paying with the orphan card
    processing = {"runBilling": True, "collectPayment": True, "electronicPaymentOptions": {"paymentMethodId": spare}}
    post_order(sim, token, order_body(existing=number, processing=processing))
    # Then the orphan card pays and now belongs to the account, whose default card is unchanged
    assert [p["paymentMethodId"] for p in sim.payments_of(number)] == [spare]
    assert sim.payment_methods[spare]["accountNumber"] == number
    assert sim.accounts[number]["defaultPaymentMethodId"] == default


def test_fresh_orphan_payment_method_lets_a_second_customer_order(sim: ZuoraSim, token: str) -> None:
    # Given a first customer who paid with the sample checkout card
    post_order(sim, token, order_body())
    # When a second customer orders with a card minted for them
    response = post_order(sim, token, order_body(payment_method=sim.new_orphan_payment_method()))
    # Then the order succeeds
    assert response.json()["success"] is True
    assert len(sim.accounts) == 2


# --- Create Order refusals ----------------------------------------------------------------------------


def test_unknown_product_rate_plan_is_a_category_40_refusal(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body(rate_plans=[subscribe_to("8ad0ffffffffffffffffffffffffffff")]))
    # Then
    category, message = refusal(response)
    assert category == 40 and "8ad0ffffffffffffffffffffffffffff" in message
    assert sim.accounts == {} and sim.orders == {}


def test_charge_override_of_another_rate_plans_charge_is_refused(sim: ZuoraSim, token: str) -> None:
    # Given the support fee, a charge of another rate plan, overridden on Pro
    plans = [subscribe_to(PRO_RATE_PLAN_ID, {"productRatePlanChargeId": SUPPORT_FEE_CHARGE_ID})]
    # When
    response = post_order(sim, token, order_body(rate_plans=plans))
    # Then
    category, message = refusal(response)
    assert category == 20 and SUPPORT_FEE_CHARGE_ID in message and PRO_RATE_PLAN_ID in message


def test_per_unit_quantity_on_a_flat_fee_charge_is_refused(sim: ZuoraSim, token: str) -> None:
    # When a quantity is set on Pro's platform fee, a flat fee
    plans = [subscribe_to(PRO_RATE_PLAN_ID, quantity_of(PLATFORM_FEE_CHARGE_ID, 3))]
    response = post_order(sim, token, order_body(rate_plans=plans))
    # Then
    category, message = refusal(response)
    assert category == 20 and "recurringPerUnit" in message and PLATFORM_FEE_CHARGE_ID in message


def test_recurring_pricing_on_a_one_time_charge_is_refused(sim: ZuoraSim, token: str) -> None:
    # When the one-time onboarding charge is given a recurring per-unit override
    plans = [subscribe_to(ONBOARDING_RATE_PLAN_ID, quantity_of(ONBOARDING_CHARGE_ID, 2, "recurringPerUnit"))]
    response = post_order(sim, token, order_body(rate_plans=plans))
    # Then
    category, message = refusal(response)
    assert category == 20 and "OneTime" in message


def test_rate_plan_without_price_in_the_new_accounts_currency_is_refused(sim: ZuoraSim, token: str) -> None:
    # When a EUR customer orders the US data residency plan, priced in USD only
    response = post_order(sim, token, order_body(currency="EUR", rate_plans=[subscribe_to(US_RESIDENCY_RATE_PLAN_ID)]))
    # Then
    category, message = refusal(response)
    assert category == 30 and "EUR" in message
    assert sim.accounts == {}


def test_existing_accounts_currency_decides_which_prices_apply(sim: ZuoraSim, token: str) -> None:
    # Given a EUR account
    number = sim.seed_account("Globex", "EUR", CRM_ID)
    # When it orders the USD-only plan
    response = post_order(sim, token, order_body(existing=number, rate_plans=[subscribe_to(US_RESIDENCY_RATE_PLAN_ID)]))
    # Then
    assert refusal(response)[0] == 30
    assert sim.subscriptions == {}


def test_unknown_hpm_payment_method_is_a_category_40_refusal(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body(payment_method="8ad0eeeeeeeeeeeeeeeeeeeeeeeeeeee"))
    # Then
    category, message = refusal(response)
    assert category == 40 and "hpmCreditCardPaymentMethodId" in message
    assert sim.accounts == {}


def test_payment_method_of_another_account_is_refused_for_a_new_account(sim: ZuoraSim, token: str) -> None:
    # Given a first customer whose account now owns the sample checkout card
    post_order(sim, token, order_body())
    # When a second new customer orders with the same card
    response = post_order(sim, token, order_body())
    # Then
    category, message = refusal(response)
    assert category == 30 and CHECKOUT_PAYMENT_METHOD_ID in message
    assert len(sim.accounts) == 1 and len(sim.payments) == 1


def test_electronic_payment_method_of_another_account_is_refused(sim: ZuoraSim, token: str) -> None:
    # Given two accounts, each with its own default card
    first = sim.seed_account("Umbrella", "USD", CRM_ID)
    second = sim.seed_account("Initech", "USD", CRM_ID)
    others = sim.accounts[second]["defaultPaymentMethodId"]
    # When the first orders paying with the second's card
    processing = {"runBilling": True, "collectPayment": True, "electronicPaymentOptions": {"paymentMethodId": others}}
    response = post_order(sim, token, order_body(existing=first, processing=processing))
    # Then
    category, message = refusal(response)
    assert category == 30 and "electronicPaymentOptions.paymentMethodId" in message
    assert sim.payments == {}


def test_unknown_electronic_payment_method_is_a_category_40_refusal(sim: ZuoraSim, token: str) -> None:
    # Given an account
    number = sim.seed_account("Umbrella", "USD", CRM_ID)
    processing = {"electronicPaymentOptions": {"paymentMethodId": "8ad0dddddddddddddddddddddddddddd"}}
    # When
    response = post_order(sim, token, order_body(existing=number, processing=processing))
    # Then
    assert refusal(response)[0] == 40


def test_auto_pay_without_a_payment_method_is_refused(sim: ZuoraSim, token: str) -> None:
    # When a new auto-pay account names no payment method
    response = post_order(sim, token, order_body(payment_method=None, auto_pay=True))
    # Then
    category, message = refusal(response)
    assert category == 20 and "Auto-Pay" in message
    assert sim.accounts == {}


def test_new_account_without_auto_pay_needs_no_payment_method(sim: ZuoraSim, token: str) -> None:
    # When a new account without auto-pay and without a card orders without collecting payment
    body = order_body(payment_method=None, auto_pay=False, processing={"runBilling": True})
    response = post_order(sim, token, body)
    # Then
    assert response.json()["success"] is True
    assert sim.accounts["A00000001"]["defaultPaymentMethodId"] is None


def test_collect_payment_without_run_billing_is_refused(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body(processing={"runBilling": False, "collectPayment": True}))
    # Then
    category, message = refusal(response)
    assert category == 20 and "runBilling" in message
    assert sim.orders == {}


def test_collect_payment_from_an_account_without_payment_method_is_refused(sim: ZuoraSim, token: str) -> None:
    # Given an account without any payment method
    number = sim.seed_account("Umbrella", "USD", CRM_ID, with_payment_method=False)
    # When it orders with payment collection
    response = post_order(sim, token, order_body(existing=number))
    # Then Zuora's message, and neither subscription nor invoice is kept
    assert refusal(response) == (30, "To collect payment, the customer account must have a default payment method.")
    assert sim.subscriptions == {} and sim.invoices == {}


def test_refused_order_leaves_the_catalog_card_an_orphan(sim: ZuoraSim, token: str) -> None:
    # Given an order whose rate plan has no EUR price
    body = order_body(currency="EUR", rate_plans=[subscribe_to(US_RESIDENCY_RATE_PLAN_ID)])
    # When it is refused
    post_order(sim, token, body)
    # Then the hosted-page card still belongs to nobody
    assert sim.payment_methods[CHECKOUT_PAYMENT_METHOD_ID]["accountId"] is None
