"""Checkout bills only the customer who pays: a Salesforce match links the CRM record, it never picks who pays.

End to end through the handler, the real clients and the simulators (which refuse what Salesforce and Zuora refuse:
unknown cards, a card of another account, quantities on flat fees, over-long fields).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from sandbox.core import Fault
from sandbox.invoke import ROOT, checkout_event, invoke
from sandbox.stack import SIGNING_SECRET, Sandbox
from sandbox.zuora import (
    CHECKOUT_PAYMENT_METHOD_ID,
    PLATFORM_FEE_CHARGE_ID,
    PRO_RATE_PLAN_ID,
    SEATS_CHARGE_ID,
    SPARE_PAYMENT_METHODS,
    SUPPORT_RATE_PLAN_ID,
    US_RESIDENCY_RATE_PLAN_ID,
    zuora_failure,
)
from sfzsync.checkout.signature import sign
from tests.integration.conftest import CheckoutCall, body_of, checkout_body

OLD = dt.datetime(2019, 3, 1, tzinfo=dt.UTC)


def umbrella(sandbox: Sandbox) -> tuple[str, str]:
    """Umbrella Corporation in Salesforce (Alice is its Contact), billed in Zuora on an account with a card on file."""
    account_id = sandbox.salesforce.insert(
        "Account", {"Name": "Umbrella Corporation", "Website": "https://umbrella-corp.com"}, created_date=OLD
    )
    sandbox.salesforce.insert(
        "Contact", {"AccountId": account_id, "LastName": "Abernathy", "Email": "alice@umbrella-corp.com"}
    )
    number = sandbox.zuora.seed_account(name="Umbrella Corporation", currency="USD", crm_id=account_id)
    return account_id, number


def writes(sandbox: Sandbox) -> dict[str, int]:
    """Everything a checkout could have written, counted."""
    return {
        "Salesforce Accounts": len(sandbox.salesforce.records("Account")),
        "Salesforce Contacts": len(sandbox.salesforce.records("Contact")),
        "Zuora accounts": len(sandbox.zuora.accounts),
        "Zuora orders": len(sandbox.zuora.orders),
        "Zuora account updates": sandbox.zuora.call_count(method="PUT"),
    }


def rate_plans(*plans: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"ratePlans": list(plans)}]


# --- 1. a match never moves billing -----------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["ALICE@umbrella-corp.com", "mallory@umbrella-corp.com"], ids=["contact", "domain"])
def test_a_shopper_matched_to_a_paying_customer_gets_a_new_billing_account_and_pays_with_their_own_card(
    sandbox: Sandbox, post_checkout: CheckoutCall, email: str
) -> None:
    # Given Umbrella pays Zuora account A... with a stored card
    account_id, umbrella_number = umbrella(sandbox)
    shopper_card = SPARE_PAYMENT_METHODS[0]

    # When a shopper checks out with an address at Umbrella (its Contact's, or any at its domain)
    response = post_checkout(checkout_body(email, paymentMethodId=shopper_card))

    # Then the order is on a new billing account linked to Umbrella's Salesforce Account, paid with the shopper's card
    assert response["statusCode"] == 201, response["body"]
    result = body_of(response)
    assert result["salesforceAccountId"] == account_id
    assert result["matchedBy"] == ("contact_email" if email.startswith("ALICE") else "account_domain")
    new_number = result["zuoraAccountNumber"]
    assert new_number != umbrella_number
    assert sandbox.zuora.find_account(new_number)["crmId"] == account_id  # type: ignore[index]
    assert [p["paymentMethodId"] for p in sandbox.zuora.payments_of(new_number)] == [shopper_card]
    # And Umbrella's own billing account gains no subscription and pays nothing
    assert sandbox.zuora.subscriptions_of(umbrella_number) == []
    assert sandbox.zuora.payments_of(umbrella_number) == []


# --- 2. the billing account the merchant names ------------------------------------------------------------------


def test_a_named_billing_account_gets_the_order_paid_with_the_given_card(
    sandbox: Sandbox, post_checkout: CheckoutCall
) -> None:
    # Given Alice is logged in at the merchant's site as the owner of Umbrella's billing account
    _, umbrella_number = umbrella(sandbox)
    new_card = SPARE_PAYMENT_METHODS[1]

    # When her checkout names that account and pays with a new card
    response = post_checkout(
        checkout_body("alice@umbrella-corp.com", zuoraAccountNumber=umbrella_number, paymentMethodId=new_card)
    )

    # Then the subscription is on that account and this order's payment is taken from the given card
    assert response["statusCode"] == 201, response["body"]
    assert body_of(response)["zuoraAccountNumber"] == umbrella_number
    assert len(sandbox.zuora.subscriptions_of(umbrella_number)) == 1
    assert [p["paymentMethodId"] for p in sandbox.zuora.payments_of(umbrella_number)] == [new_card]
    assert len(sandbox.zuora.accounts) == 1


def test_a_named_billing_account_linked_to_another_salesforce_account_is_409_with_nothing_written(
    sandbox: Sandbox, post_checkout: CheckoutCall
) -> None:
    # Given a billing account linked to Globex, and Umbrella in Salesforce
    umbrella(sandbox)
    globex = sandbox.salesforce.insert("Account", {"Name": "Globex"})
    globex_number = sandbox.zuora.seed_account(name="Globex", currency="USD", crm_id=globex)
    before = writes(sandbox)

    # When Alice of Umbrella names Globex's billing account
    response = post_checkout(checkout_body("alice@umbrella-corp.com", zuoraAccountNumber=globex_number))

    # Then it is a conflict, and nothing was written anywhere
    assert response["statusCode"] == 409
    assert body_of(response)["error"]["code"] == "account_conflict"
    assert writes(sandbox) == before
    assert sandbox.zuora.subscriptions_of(globex_number) == []


def test_a_named_unlinked_billing_account_is_linked_to_the_matched_account(
    sandbox: Sandbox, post_checkout: CheckoutCall
) -> None:
    # Given Alice's billing account was created before this service, with no CRM Account ID
    account_id, _ = umbrella(sandbox)
    unlinked = sandbox.zuora.seed_account(name="Umbrella (web)", currency="USD")

    # When her checkout names it
    response = post_checkout(checkout_body("alice@umbrella-corp.com", zuoraAccountNumber=unlinked))

    # Then it now carries Umbrella's Account Id, and holds the order
    assert response["statusCode"] == 201, response["body"]
    assert sandbox.zuora.find_account(unlinked)["crmId"] == account_id  # type: ignore[index]
    assert len(sandbox.zuora.subscriptions_of(unlinked)) == 1


def test_an_unknown_named_billing_account_is_422_before_anything_is_written(
    sandbox: Sandbox, post_checkout: CheckoutCall
) -> None:
    response = post_checkout(checkout_body("alice@umbrella-corp.com", zuoraAccountNumber="A99999999"))

    assert response["statusCode"] == 422
    assert [f["field"] for f in body_of(response)["error"]["fields"]] == ["order.zuoraAccountNumber"]
    assert sum(writes(sandbox).values()) == 0


# --- 3. internationalised domains --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "website", "matched"),
    [
        ("eve@straße.de", "https://strasse.de", "created"),
        ("eve@straße.de", "https://www.straße.de", "account_domain"),
        ("bob@Ｕmbrella-corp.com", "https://umbrella-corp.com", "account_domain"),
        ("mallory@umbr\u0435lla-corp.com", "https://umbrella-corp.com", "created"),  # U+0435: a Cyrillic letter
    ],
    ids=["sharp-s-vs-ss", "sharp-s-both-sides", "full-width", "cyrillic-look-alike"],
)
def test_domains_compare_by_uts46_on_both_sides(
    sandbox: Sandbox, post_checkout: CheckoutCall, email: str, website: str, matched: str
) -> None:
    sandbox.salesforce.insert("Account", {"Name": "Existing", "Website": website}, created_date=OLD)

    response = post_checkout(checkout_body(email))

    assert response["statusCode"] == 201, response["body"]
    assert body_of(response)["matchedBy"] == matched


# --- 4. the signature covers the key ----------------------------------------------------------------------------


def test_a_captured_signed_request_replayed_under_another_key_is_401(
    sandbox: Sandbox, checkout_app: ModuleType
) -> None:
    # Given a signed request as captured on the wire
    captured = checkout_event(checkout_body(), "cart-1", SIGNING_SECRET)
    assert invoke(checkout_app, captured)["statusCode"] == 201

    # When it is replayed byte for byte under fresh keys
    answers = []
    for fresh in ("cart-2", "cart-3"):
        replay = json.loads(json.dumps(captured))
        replay["headers"]["Idempotency-Key"] = fresh
        replay["multiValueHeaders"]["Idempotency-Key"] = [fresh]
        answers.append(invoke(checkout_app, replay)["statusCode"])

    # Then each is refused, and one order exists
    assert answers == [401, 401]
    assert len(sandbox.zuora.orders) == 1


def test_during_a_rotation_the_previous_secret_signs_and_a_retired_one_does_not(
    sandbox: Sandbox, reconfigured: Callable[..., ModuleType]
) -> None:
    # Given the secret holds the new signing secret and, during the rotation, the previous one
    previous = "previous-signing-secret-0123456789"
    handler = reconfigured(previous_signing_secrets=[previous])

    # When the merchant signs with the previous secret, then with one retired before it
    with_previous = invoke(handler, checkout_event(checkout_body(), "rot-1", previous))
    with_retired = invoke(handler, checkout_event(checkout_body(), "rot-2", "retired-signing-secret-0123456789"))

    # Then the first is served and the second refused
    assert with_previous["statusCode"] == 201, with_previous["body"]
    assert with_retired["statusCode"] == 401


# --- 5. the saved progress belongs to one body -----------------------------------------------------------------


def test_the_same_key_with_another_body_after_a_failed_attempt_is_422_with_nothing_written(
    sandbox: Sandbox, post_checkout: CheckoutCall
) -> None:
    # Given Alice's checkout under cart-777 failed at Zuora (not retryable)
    umbrella(sandbox)
    sandbox.zuora.add_fault(Fault(path=r"^/v1/orders$", status=200, body=zuora_failure(20, "refused"), times=1))
    failed = post_checkout(checkout_body("alice@umbrella-corp.com"), key="cart-777")
    assert failed["statusCode"] == 502
    before = writes(sandbox)
    sandbox.salesforce.clear_calls()

    # When Bob's body arrives under the same key
    response = post_checkout(
        checkout_body("bob@bobs-burgers.example", paymentMethodId=SPARE_PAYMENT_METHODS[0]), key="cart-777"
    )

    # Then it is refused, and nothing is looked up or written for it
    assert response["statusCode"] == 422
    assert body_of(response)["error"]["code"] == "idempotency_key_reused"
    assert writes(sandbox) == before
    assert sandbox.salesforce.calls == []


# --- 6. quantity per rate plan ----------------------------------------------------------------------------------


def test_quantity_three_goes_on_the_per_unit_charges_only_and_a_warm_container_asks_the_catalog_once(
    sandbox: Sandbox, reconfigured: Callable[..., ModuleType]
) -> None:
    # Given a cold container and the documented body: 3 of the Pro rate plan (seats per unit, a flat platform fee)
    handler = reconfigured()
    body = checkout_body(subscriptions=rate_plans({"productRatePlanId": PRO_RATE_PLAN_ID, "quantity": 3}))

    # When two customers check out on it
    first = invoke(handler, checkout_event(body, "qty-1", SIGNING_SECRET))
    second_body = checkout_body(
        "someone@else-corp.example",
        paymentMethodId=SPARE_PAYMENT_METHODS[0],
        **{"subscriptions": body["order"]["subscriptions"]},
    )
    second = invoke(handler, checkout_event(second_body, "qty-2", SIGNING_SECRET))

    # Then Zuora holds 3 seats and one platform fee
    assert (first["statusCode"], second["statusCode"]) == (201, 201)
    (subscription,) = body_of(first)["subscriptionNumbers"]
    assert sandbox.zuora.quantities_of(subscription) == {SEATS_CHARGE_ID: 3, PLATFORM_FEE_CHARGE_ID: None}
    # And the catalog was read once, by the first checkout
    assert sandbox.zuora.call_count(r"^/object-query/product-rate-plans/") == 1


@pytest.mark.parametrize(
    ("plan", "currency", "field"),
    [
        ({"productRatePlanId": "8ad00000000000000000000000000bad"}, "USD", "productRatePlanId"),
        ({"productRatePlanId": US_RESIDENCY_RATE_PLAN_ID}, "EUR", "productRatePlanId"),
        ({"productRatePlanId": SUPPORT_RATE_PLAN_ID, "quantity": 3}, "USD", "quantity"),
    ],
    ids=["unknown-rate-plan", "no-price-in-currency", "quantity-on-flat-fee-plan"],
)
def test_a_rate_plan_the_catalog_cannot_sell_is_422_naming_it_before_any_salesforce_call(
    sandbox: Sandbox, post_checkout: CheckoutCall, plan: dict[str, Any], currency: str, field: str
) -> None:
    response = post_checkout(checkout_body(currency=currency, subscriptions=rate_plans(plan)))

    assert response["statusCode"] == 422
    assert [f["field"] for f in body_of(response)["error"]["fields"]] == [f"order.subscriptions.0.ratePlans.0.{field}"]
    assert sandbox.salesforce.calls == []
    assert sum(writes(sandbox).values()) == 0


# --- 7. every limit before the first write ------------------------------------------------------------------------

# field: (where in the body, the longest value both systems hold, that value with one more character)
LIMITS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "customer.email": (("customer", "email"), f"{'j' * 64}@{'a' * 11}.com", f"{'j' * 64}@{'a' * 12}.com"),
    "customer.email (punycode)": (
        ("customer", "email"),
        f"{'j' * 57}@{'ü' * 13}.de",  # 72 as typed, 80 with the domain as xn--tdaaaaaaaaaaaaa.de
        f"{'j' * 57}@{'ü' * 14}.de",
    ),
    "customer.firstName": (("customer", "firstName"), "J" * 40, "J" * 41),
    "customer.firstName (emoji count twice)": (("customer", "firstName"), "J" * 38 + "😀", "J" * 39 + "😀"),
    "customer.lastName": (("customer", "lastName"), "D" * 80, "D" * 81),
    "customer.company": (("customer", "company"), "C" * 255, "C" * 256),
    "customer.phone": (("customer", "phone"), "1" * 40, "1" * 41),
    "customer.address.line1": (("customer", "address", "line1"), "L" * 255, "L" * 256),
    "customer.address.city": (("customer", "address", "city"), "C" * 40, "C" * 41),
    "customer.address.state": (("customer", "address", "state"), "S" * 40, "S" * 41),
    "customer.address.postalCode": (("customer", "address", "postalCode"), "9" * 20, "9" * 21),
}


def with_value(path: tuple[str, ...], value: str) -> dict[str, Any]:
    body = checkout_body()
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize("name", list(LIMITS))
def test_a_field_at_its_limit_goes_through_to_salesforce_and_zuora(
    sandbox: Sandbox, post_checkout: CheckoutCall, name: str
) -> None:
    path, longest, _ = LIMITS[name]

    response = post_checkout(with_value(path, longest))

    assert response["statusCode"] == 201, response["body"]
    assert writes(sandbox)["Salesforce Contacts"] == 1
    assert writes(sandbox)["Zuora orders"] == 1


@pytest.mark.parametrize("name", list(LIMITS))
def test_a_field_one_character_over_its_limit_is_422_naming_it_with_nothing_written(
    sandbox: Sandbox, post_checkout: CheckoutCall, name: str
) -> None:
    path, _, too_long = LIMITS[name]

    response = post_checkout(with_value(path, too_long))

    assert response["statusCode"] == 422
    assert [f["field"] for f in body_of(response)["error"]["fields"]] == [".".join(path)]
    assert sum(writes(sandbox).values()) == 0
    assert sandbox.salesforce.calls == []


def test_a_non_ascii_local_part_is_422_without_email_address_internationalization(
    sandbox: Sandbox, post_checkout: CheckoutCall
) -> None:
    response = post_checkout(checkout_body("josé@acme.com"))

    assert response["statusCode"] == 422
    assert "Internationalization" in body_of(response)["error"]["fields"][0]["message"]
    assert sum(writes(sandbox).values()) == 0


def test_a_non_ascii_local_part_goes_through_when_the_org_has_email_address_internationalization(
    sandbox: Sandbox, reconfigured: Callable[..., ModuleType]
) -> None:
    handler = reconfigured(email_internationalization=True)

    response = invoke(handler, checkout_event(checkout_body("josé@acme.com"), "eai-1", SIGNING_SECRET))

    assert response["statusCode"] == 201, response["body"]
    assert [c["Email"] for c in sandbox.salesforce.records("Contact")] == ["josé@acme.com"]


# --- 8. one 422 names every bad field -----------------------------------------------------------------------------


def test_five_bad_fields_are_named_in_one_answer(sandbox: Sandbox, post_checkout: CheckoutCall) -> None:
    body = checkout_body("not an email", currency="usd")
    body["customer"]["lastName"] = "D" * 81
    body["customer"]["address"]["country"] = "United States"
    body["order"]["subscriptions"][0]["ratePlans"][0]["quantity"] = 0

    response = post_checkout(body)

    assert response["statusCode"] == 422
    assert {f["field"] for f in body_of(response)["error"]["fields"]} == {
        "customer.email",
        "customer.lastName",
        "customer.address.country",
        "order.currency",
        "order.subscriptions.0.ratePlans.0.quantity",
    }
    assert sandbox.salesforce.calls == []


# --- the documented body, as the README shows it --------------------------------------------------------------------


def test_the_readme_body_signed_as_the_readme_says_is_served(sandbox: Sandbox, checkout_app: ModuleType) -> None:
    body = json.dumps(checkout_body())
    t = int(time.time())
    event = checkout_event(body, "readme-1", None)
    event["headers"]["X-Signature"] = sign(SIGNING_SECRET, "readme-1", body, t)

    response = invoke(checkout_app, event)

    assert response["statusCode"] == 201, response["body"]
    assert body_of(response)["zuoraAccountNumber"]
    assert CHECKOUT_PAYMENT_METHOD_ID in json.dumps(sandbox.zuora.payments)


def test_the_example_body_can_be_sent_again_and_again(sandbox: Sandbox, checkout_app: ModuleType) -> None:
    # Given examples/order.json, a checkout billed by invoice (no card)
    example = (ROOT / "examples" / "order.json").read_text()

    # When it is posted twice, as the README's examples do, under two keys
    answers = [invoke(checkout_app, checkout_event(example, f"example-{n}", SIGNING_SECRET)) for n in (1, 2)]

    # Then both are served, each on its own billing account
    assert [a["statusCode"] for a in answers] == [201, 201], answers[-1]["body"]
    assert len({body_of(a)["zuoraAccountNumber"] for a in answers}) == 2
