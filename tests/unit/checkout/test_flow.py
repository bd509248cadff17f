"""The checkout flow over fake gateways (no server): who pays, what is written, and when nothing may be."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.demo_data import checkout_body
from sfzsync.checkout.flow import run_checkout
from sfzsync.checkout.models import CheckoutRequest
from sfzsync.errors import AccountConflictError, IdempotencyKeyReusedError, InvalidInputError, UpstreamError
from sfzsync.gateways.zuora import PaymentMethod, ZuoraAccount
from tests.unit.checkout.fakes import CARD, PLATFORM_FEE, PRO, SEATS, SUPPORT, USD_ONLY, World

UMBRELLA = "001000000000777AAA"
CONTACT_MATCH = [
    {"Id": "003000000000001", "AccountId": UMBRELLA, "Account": {"CreatedDate": "2019-03-01T00:00:00.000+0000"}}
]


def checkout(email: str = "alice@umbrella-corp.com", **order: Any) -> CheckoutRequest:
    return CheckoutRequest.model_validate(checkout_body(email, **order))


def rate_plans(*plans: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"ratePlans": list(plans)}]


def umbrella_customer(world: World) -> None:
    """Salesforce knows Umbrella (Alice is its Contact); Zuora bills Umbrella on A00000001 with a stored card."""
    world.salesforce.results["contact_email"] = CONTACT_MATCH
    world.zuora.accounts["A00000001"] = ZuoraAccount("z1", "A00000001", "USD", "Active", UMBRELLA)


def order_sent(world: World) -> dict[str, Any]:
    (body, _), *_ = world.zuora.orders
    return body


# --- who pays ------------------------------------------------------------------------------------------------


def test_a_salesforce_match_gets_a_new_billing_account_carrying_its_id_never_the_existing_one() -> None:
    # Given a customer whose Salesforce Account already has a Zuora billing account
    world = World()
    umbrella_customer(world)

    # When someone checks out with an address that matches that Account
    result = run_checkout(checkout("ALICE@umbrella-corp.com"), "cart-1", world.deps())

    # Then the order creates a new billing account linked to the Account, paid with the request's card
    body = order_sent(world)
    assert "existingAccountNumber" not in body
    assert body["newAccount"]["crmId"] == UMBRELLA
    assert body["newAccount"]["hpmCreditCardPaymentMethodId"] == CARD
    assert (result.matchedBy, result.salesforceAccountId) == ("contact_email", UMBRELLA)
    assert result.zuoraAccountNumber != "A00000001"


def test_a_named_unlinked_billing_account_is_linked_and_ordered_on_with_the_given_payment_method() -> None:
    # Given the merchant's logged-in customer owns A00000002, not yet linked to Salesforce
    world = World()
    umbrella_customer(world)
    world.zuora.accounts["A00000002"] = ZuoraAccount("z2", "A00000002", "USD", "Active", None)

    # When the checkout names it
    result = run_checkout(checkout(zuoraAccountNumber="A00000002"), "cart-1", world.deps())

    # Then A00000002 is linked to the matched Account, and the order lands on it, paid with the given method
    assert world.zuora.updates == [("A00000002", {"crmId": UMBRELLA})]
    body = order_sent(world)
    assert body["existingAccountNumber"] == "A00000002"
    assert "newAccount" not in body
    assert body["processingOptions"]["electronicPaymentOptions"] == {"paymentMethodId": CARD}
    assert result.zuoraAccountNumber == "A00000002"


def test_a_named_billing_account_already_linked_to_this_account_is_ordered_on_without_an_update() -> None:
    world = World()
    umbrella_customer(world)

    run_checkout(checkout(zuoraAccountNumber="A00000001"), "cart-1", world.deps())

    assert world.zuora.updates == []
    assert order_sent(world)["existingAccountNumber"] == "A00000001"


def test_a_named_billing_account_linked_to_another_account_is_a_conflict_with_nothing_written() -> None:
    # Given A00000003 is linked to another company's Salesforce Account
    world = World()
    umbrella_customer(world)
    world.zuora.accounts["A00000003"] = ZuoraAccount("z3", "A00000003", "USD", "Active", "001000000000999AAA")

    # When a checkout that matches Umbrella names it
    with pytest.raises(AccountConflictError):
        run_checkout(checkout(zuoraAccountNumber="A00000003"), "cart-1", world.deps())

    # Then nothing is written in Salesforce or Zuora, and no progress is saved
    assert (world.salesforce.writes, world.zuora.writes, world.store.checkpoints) == (0, 0, {})


def test_a_linked_named_billing_account_with_no_salesforce_match_creates_no_account() -> None:
    world = World()
    world.zuora.accounts["A00000003"] = ZuoraAccount("z3", "A00000003", "USD", "Active", "001000000000999AAA")

    with pytest.raises(AccountConflictError):
        run_checkout(checkout("newbie@example-newco.com", zuoraAccountNumber="A00000003"), "cart-1", world.deps())

    assert (world.salesforce.writes, world.zuora.writes) == (0, 0)


@pytest.mark.parametrize(
    ("account", "field"),
    [
        (None, "order.zuoraAccountNumber"),
        (ZuoraAccount("z4", "A00000004", "EUR", "Active", None), "order.currency"),
        (ZuoraAccount("z4", "A00000004", "USD", "Canceled", None), "order.zuoraAccountNumber"),
    ],
    ids=["unknown", "other-currency", "canceled"],
)
def test_an_unusable_named_billing_account_is_refused_before_any_lock_or_lookup(
    account: ZuoraAccount | None, field: str
) -> None:
    world = World()
    if account is not None:
        world.zuora.accounts["A00000004"] = account

    with pytest.raises(InvalidInputError) as refused:
        run_checkout(checkout(zuoraAccountNumber="A00000004"), "cart-1", world.deps())

    assert refused.value.field == field
    assert (world.store.locks_taken, world.salesforce.queries, world.zuora.writes) == (0, [], 0)


# --- the saved progress belongs to one body ----------------------------------------------------------------------


def test_the_same_key_with_another_body_after_a_failed_attempt_is_refused_with_nothing_written() -> None:
    # Given Alice's checkout under cart-777 matched her Account, then failed at Zuora
    world = World()
    umbrella_customer(world)
    world.zuora.refuse_orders = True
    with pytest.raises(UpstreamError):
        run_checkout(checkout("alice@umbrella-corp.com"), "cart-777", world.deps())
    world.zuora.refuse_orders = False
    queries_before = len(world.salesforce.queries)

    # When Bob's body arrives under the same key
    with pytest.raises(IdempotencyKeyReusedError):
        run_checkout(checkout("bob@bobs-burgers.example"), "cart-777", world.deps())

    # Then nothing is looked up or written for it
    assert len(world.salesforce.queries) == queries_before
    assert (world.salesforce.writes, world.zuora.writes) == (0, 0)


def test_a_retry_of_the_same_body_resumes_from_its_checkpoint_without_matching_again() -> None:
    world = World()
    umbrella_customer(world)
    world.zuora.refuse_orders = True
    with pytest.raises(UpstreamError):
        run_checkout(checkout(), "cart-1", world.deps())
    world.zuora.refuse_orders = False

    result = run_checkout(checkout(), "cart-1", world.deps())

    assert result.salesforceAccountId == UMBRELLA
    assert len(world.salesforce.queries) == 1
    assert world.zuora.orders[0][1].endswith("-1")  # Zuora stored the refusal of attempt 0: a fresh key


# --- quantities per rate plan, from the catalog ----------------------------------------------------------------


def test_quantity_goes_on_the_per_unit_charges_of_the_rate_plan_only() -> None:
    world = World()

    run_checkout(checkout(subscriptions=rate_plans({"productRatePlanId": PRO, "quantity": 3})), "cart-1", world.deps())

    (plan,) = order_sent(world)["subscriptions"][0]["orderActions"][0]["createSubscription"]["subscribeToRatePlans"]
    assert plan == {
        "productRatePlanId": PRO,
        "chargeOverrides": [{"productRatePlanChargeId": SEATS, "pricing": {"recurringPerUnit": {"quantity": 3}}}],
    }


def test_a_warm_container_reads_each_rate_plan_from_the_catalog_once() -> None:
    world = World()
    services = world.deps()
    body = {"subscriptions": rate_plans({"productRatePlanId": PRO, "quantity": 3})}

    run_checkout(checkout("a@newco-one.example", **body), "cart-1", services)
    run_checkout(checkout("b@newco-two.example", **body), "cart-2", services)

    assert world.zuora.catalog_reads == [PRO]


@pytest.mark.parametrize(
    ("plan", "currency", "field"),
    [
        ({"productRatePlanId": "8ad0000000000000000000000000dead"}, "USD", "productRatePlanId"),
        ({"productRatePlanId": USD_ONLY, "quantity": 2}, "EUR", "productRatePlanId"),
        ({"productRatePlanId": SUPPORT, "quantity": 3}, "USD", "quantity"),
        (
            {"productRatePlanId": PRO, "quantity": 3, "productRatePlanChargeId": PLATFORM_FEE},
            "USD",
            "productRatePlanChargeId",
        ),
        (
            {"productRatePlanId": PRO, "quantity": 3, "productRatePlanChargeId": "8ad0000000000000000000000000beef"},
            "USD",
            "productRatePlanChargeId",
        ),
    ],
    ids=[
        "unknown-plan",
        "no-price-in-currency",
        "quantity-on-flat-fee-plan",
        "quantity-on-flat-fee-charge",
        "charge-of-another-plan",
    ],
)
def test_a_rate_plan_problem_is_refused_before_any_salesforce_call(
    plan: dict[str, Any], currency: str, field: str
) -> None:
    world = World()

    with pytest.raises(InvalidInputError) as refused:
        run_checkout(checkout(currency=currency, subscriptions=rate_plans(plan)), "cart-1", world.deps())

    assert [p.field for p in refused.value.problems] == [f"order.subscriptions.0.ratePlans.0.{field}"]
    assert (world.store.locks_taken, world.salesforce.queries, world.zuora.writes) == (0, [], 0)


def test_every_rate_plan_problem_of_the_order_is_named_at_once() -> None:
    world = World()
    body: dict[str, Any] = {
        "subscriptions": [
            {"ratePlans": [{"productRatePlanId": PRO, "quantity": 2}, {"productRatePlanId": SUPPORT, "quantity": 4}]},
            {"ratePlans": [{"productRatePlanId": "8ad0000000000000000000000000dead"}]},
        ]
    }

    with pytest.raises(InvalidInputError) as refused:
        run_checkout(checkout(**body), "cart-1", world.deps())

    assert [p.field for p in refused.value.problems] == [
        "order.subscriptions.0.ratePlans.1.quantity",
        "order.subscriptions.1.ratePlans.0.productRatePlanId",
    ]


def test_quantity_one_on_a_flat_fee_plan_orders_it_as_it_is() -> None:
    world = World()

    run_checkout(
        checkout(subscriptions=rate_plans({"productRatePlanId": SUPPORT, "quantity": 1})), "cart-1", world.deps()
    )

    (plan,) = order_sent(world)["subscriptions"][0]["orderActions"][0]["createSubscription"]["subscribeToRatePlans"]
    assert plan == {"productRatePlanId": SUPPORT}


# --- paying: what Zuora would refuse, refused before anything is written --------------------------------------------


def payment_problems(world: World, **order: Any) -> list[str]:
    with pytest.raises(InvalidInputError) as refused:
        run_checkout(checkout(**order), "cart-1", world.deps())
    assert (world.store.locks_taken, world.salesforce.queries, world.zuora.writes) == (0, [], 0)
    return [f"{p.field}: {p.message}" for p in refused.value.problems]


def test_a_card_that_belongs_to_another_billing_account_never_pays_a_new_one() -> None:
    # Given Umbrella's billing account holds a card
    world = World()
    umbrella_customer(world)
    world.zuora.payment_methods["umbrellacard"] = PaymentMethod("umbrellacard", "z1", "Active")

    # When a checkout asks for a new billing account paid with that card
    problems = payment_problems(world, paymentMethodId="umbrellacard")

    # Then it is refused, naming the payment method
    assert problems == ["order.paymentMethodId: belongs to another Zuora billing account"]


def test_the_named_billing_account_may_pay_with_its_own_card() -> None:
    world = World()
    umbrella_customer(world)
    world.zuora.payment_methods["umbrellacard"] = PaymentMethod("umbrellacard", "z1", "Active")

    run_checkout(checkout(zuoraAccountNumber="A00000001", paymentMethodId="umbrellacard"), "cart-1", world.deps())

    assert order_sent(world)["processingOptions"]["electronicPaymentOptions"] == {"paymentMethodId": "umbrellacard"}


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (
            {"paymentMethodId": "8ad0000000000000000000000000dead"},
            ["order.paymentMethodId: is not a Zuora payment method"],
        ),
        (
            {
                "paymentMethodId": None,
                "autoPay": True,
                "processingOptions": {"runBilling": False, "collectPayment": False},
            },
            ["order.autoPay: needs paymentMethodId: Zuora's Auto-Pay needs one"],
        ),
        (
            {"paymentMethodId": None, "autoPay": False},
            ["order.paymentMethodId: is needed to collect payment on a new billing account"],
        ),
        (
            {"processingOptions": {"runBilling": False, "collectPayment": True}},
            ["order.processingOptions.collectPayment: needs runBilling: payment is collected on the bill"],
        ),
    ],
    ids=["unknown-card", "auto-pay-without-card", "collect-without-card", "collect-without-billing"],
)
def test_what_zuora_would_refuse_about_paying_is_refused_first(order: dict[str, Any], expected: list[str]) -> None:
    assert payment_problems(World(), **order) == expected


def test_a_closed_card_is_refused() -> None:
    world = World()
    world.zuora.payment_methods[CARD] = PaymentMethod(CARD, None, "Closed")

    assert payment_problems(world) == ["order.paymentMethodId: is Closed, not Active"]


def test_a_named_account_without_a_card_on_file_needs_one_to_collect_payment() -> None:
    world = World()
    umbrella_customer(world)

    assert payment_problems(world, zuoraAccountNumber="A00000001", paymentMethodId=None) == [
        "order.paymentMethodId: is needed to collect payment: the billing account has no payment method on file"
    ]


def test_catalog_account_and_payment_problems_come_in_one_answer() -> None:
    world = World()

    problems = payment_problems(
        world,
        zuoraAccountNumber="A00000404",
        paymentMethodId="8ad0000000000000000000000000dead",
        subscriptions=rate_plans({"productRatePlanId": "8ad0000000000000000000000000dead"}),
    )

    assert [p.split(":")[0] for p in problems] == [
        "order.subscriptions.0.ratePlans.0.productRatePlanId",
        "order.zuoraAccountNumber",
        "order.paymentMethodId",
    ]
