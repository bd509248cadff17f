"""Subscriptions with versions and the order actions that change them, against Zuora's documentation: the published
Create Order schema, the SDK's GetSubscription models, and the error categories of the "Error codes" guide."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.zuora import (
    PRO_RATE_PLAN_ID,
    SEATS_CHARGE_ID,
    STORAGE_RATE_PLAN_ID,
    SUPPORT_RATE_PLAN_ID,
    ZuoraSim,
    validate_request_body,
)
from tests.sandbox.zuora.conftest import call, order_body, post_order, quantity_of, refusal, subscribe_to

TRIGGERS = [{"name": n, "triggerDate": "2027-03-01"} for n in ("ContractEffective", "ServiceActivation")]


def _subscribe(sim: ZuoraSim, token: str, *, evergreen: bool = False) -> tuple[str, str]:
    """A subscription with Pro (3 seats) and Premium Support, its rate plans carrying Salesforce link fields."""
    pro = {**subscribe_to(PRO_RATE_PLAN_ID, quantity_of(SEATS_CHARGE_ID, 3)), "customFields": {"Item__c": "pro"}}
    support = {**subscribe_to(SUPPORT_RATE_PLAN_ID), "customFields": {"Item__c": "support"}}
    body = order_body(rate_plans=[pro, support], evergreen=evergreen, processing={})
    body["subscriptions"][0]["customFields"] = {"Order__c": "801A"}
    answer = post_order(sim, token, body).json()
    assert answer["success"] is True, answer
    return answer["accountNumber"], answer["subscriptionNumbers"][0]


def _change(sim: ZuoraSim, token: str, account: str, number: str, *actions: dict[str, Any]) -> Any:
    body = {
        "orderDate": "2027-03-01",
        "existingAccountNumber": account,
        "subscriptions": [{"subscriptionNumber": number, "orderActions": list(actions)}],
    }
    assert validate_request_body("POST", "/v1/orders", body) == []
    return post_order(sim, token, body)


def _get(sim: ZuoraSim, token: str, key: str) -> dict[str, Any]:
    answer = call(sim, token, "GET", f"/v1/subscriptions/{key}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _plan(subscription: dict[str, Any], item: str) -> dict[str, Any]:
    return next(p for p in subscription["ratePlans"] if p.get("Item__c") == item)


def _update(rate_plan_id: str, charge_number: str, quantity: float) -> dict[str, Any]:
    pricing = {"recurringPerUnit": {"quantity": quantity}}
    update = {"ratePlanId": rate_plan_id, "chargeUpdates": [{"chargeNumber": charge_number, "pricing": pricing}]}
    return {"type": "UpdateProduct", "triggerDates": TRIGGERS, "updateProduct": update}


def test_get_subscription_answers_the_sdk_fields_and_custom_fields_of_subscription_and_rate_plans(
    sim: ZuoraSim, token: str
) -> None:
    account, number = _subscribe(sim, token)

    subscription = _get(sim, token, number)

    assert {"id", "subscriptionNumber", "version", "accountNumber", "status", "termType", "termEndDate"} <= set(
        subscription
    )
    assert (subscription["version"], subscription["termType"], subscription["termEndDate"]) == (
        1,
        "TERMED",
        "2027-11-23",
    )
    assert subscription["Order__c"] == "801A"
    pro = _plan(subscription, "pro")
    assert {"id", "originalRatePlanId", "productRatePlanId", "ratePlanName", "ratePlanCharges"} <= set(pro)
    seats = next(c for c in pro["ratePlanCharges"] if c["productRatePlanChargeId"] == SEATS_CHARGE_ID)
    assert (seats["quantity"], seats["model"], seats["type"]) == (3, "PerUnit", "Recurring")
    assert _get(sim, token, subscription["id"])["subscriptionNumber"] == number
    listed = call(sim, token, "GET", f"/v1/subscriptions/accounts/{account}").json()["subscriptions"]
    assert [s["subscriptionNumber"] for s in listed] == [number]


def test_an_order_on_a_subscription_makes_a_new_version_with_new_ids_and_the_same_original_ids(
    sim: ZuoraSim, token: str
) -> None:
    account, number = _subscribe(sim, token)
    before = _plan(_get(sim, token, number), "pro")
    seats = next(c["number"] for c in before["ratePlanCharges"] if c["model"] == "PerUnit")

    answer = _change(sim, token, account, number, _update(before["id"], seats, 5)).json()

    after = _get(sim, token, number)
    pro = _plan(after, "pro")
    assert answer["success"] is True and after["version"] == 2
    assert pro["id"] != before["id"] and pro["originalRatePlanId"] == before["originalRatePlanId"]
    assert pro["lastChangeType"] == "Update" and pro["ratePlanCharges"][0]["quantity"] == 5


def test_update_product_accepts_the_rate_plan_id_of_an_earlier_version(sim: ZuoraSim, token: str) -> None:
    account, number = _subscribe(sim, token)
    first = _plan(_get(sim, token, number), "pro")
    seats = next(c["number"] for c in first["ratePlanCharges"] if c["model"] == "PerUnit")
    _change(sim, token, account, number, _update(first["id"], seats, 5))

    answer = _change(sim, token, account, number, _update(first["id"], seats, 7)).json()

    assert answer["success"] is True
    assert _plan(_get(sim, token, number), "pro")["ratePlanCharges"][0]["quantity"] == 7


def test_remove_product_keeps_the_rate_plan_listed_with_last_change_type_remove(sim: ZuoraSim, token: str) -> None:
    account, number = _subscribe(sim, token)
    support = _plan(_get(sim, token, number), "support")
    remove = {"type": "RemoveProduct", "triggerDates": TRIGGERS, "removeProduct": {"ratePlanId": support["id"]}}

    _change(sim, token, account, number, remove)
    again = _change(sim, token, account, number, remove)

    assert _plan(_get(sim, token, number), "support")["lastChangeType"] == "Remove"
    assert refusal(again)[0] == 30


def test_add_product_checks_the_catalog_and_keeps_the_rate_plans_custom_fields(sim: ZuoraSim, token: str) -> None:
    account, number = _subscribe(sim, token)
    add = {
        "type": "AddProduct",
        "triggerDates": TRIGGERS,
        "addProduct": {**subscribe_to(STORAGE_RATE_PLAN_ID), "customFields": {"Item__c": "storage"}},
    }
    unknown = {"type": "AddProduct", "triggerDates": TRIGGERS, "addProduct": subscribe_to("8ad0" + "0" * 28)}

    assert _change(sim, token, account, number, add).json()["success"] is True
    assert _plan(_get(sim, token, number), "storage")["lastChangeType"] == "Add"
    assert refusal(_change(sim, token, account, number, unknown))[0] == 40


def test_renew_subscription_starts_the_next_term_where_the_current_one_ends(sim: ZuoraSim, token: str) -> None:
    account, number = _subscribe(sim, token)

    _change(sim, token, account, number, {"type": "RenewSubscription"})

    renewed = _get(sim, token, number)
    assert (renewed["termStartDate"], renewed["termEndDate"]) == ("2027-11-23", "2028-11-23")


def test_an_evergreen_subscription_cannot_be_renewed(sim: ZuoraSim, token: str) -> None:
    account, number = _subscribe(sim, token, evergreen=True)
    assert refusal(_change(sim, token, account, number, {"type": "RenewSubscription"}))[0] == 30


def test_cancel_subscription_on_a_specific_date_and_nothing_changes_it_afterwards(sim: ZuoraSim, token: str) -> None:
    account, number = _subscribe(sim, token)
    cancel = {
        "type": "CancelSubscription",
        "cancelSubscription": {"cancellationPolicy": "SpecificDate", "cancellationEffectiveDate": "2027-03-01"},
    }

    _change(sim, token, account, number, cancel)

    cancelled = _get(sim, token, number)
    assert (cancelled["status"], cancelled["subscriptionEndDate"]) == ("Cancelled", "2027-03-01")
    assert refusal(_change(sim, token, account, number, {"type": "RenewSubscription"}))[0] == 30


@pytest.mark.parametrize(
    ("action", "category"),
    [
        ({"type": "UpdateProduct", "removeProduct": {"ratePlanId": "x"}}, 20),  # another action type's field
        ({"type": "RemoveProduct", "triggerDates": TRIGGERS, "removeProduct": {"ratePlanId": "nope"}}, 40),
        ({"type": "Suspend", "suspend": {"suspendPolicy": "Today"}}, 45),
    ],
)
def test_order_actions_zuora_refuses_change_nothing(
    sim: ZuoraSim, token: str, action: dict[str, Any], category: int
) -> None:
    account, number = _subscribe(sim, token)

    answer = post_order(
        sim,
        token,
        {
            "orderDate": "2027-03-01",
            "existingAccountNumber": account,
            "subscriptions": [{"subscriptionNumber": number, "orderActions": [action]}],
        },
    )

    assert refusal(answer)[0] == category
    assert _get(sim, token, number)["version"] == 1


def test_an_order_on_an_unknown_subscription_or_one_of_another_account_is_refused(sim: ZuoraSim, token: str) -> None:
    account, number = _subscribe(sim, token)
    other = sim.seed_account("Other")

    assert refusal(_change(sim, token, account, "A-S99999999", {"type": "RenewSubscription"}))[0] == 40
    assert refusal(_change(sim, token, other, number, {"type": "RenewSubscription"}))[0] == 30


def test_charge_updates_must_name_a_charge_of_the_rate_plan_and_fit_its_model(sim: ZuoraSim, token: str) -> None:
    account, number = _subscribe(sim, token)
    pro = _plan(_get(sim, token, number), "pro")
    fee = next(c["number"] for c in pro["ratePlanCharges"] if c["model"] == "FlatFee")

    assert refusal(_change(sim, token, account, number, _update(pro["id"], "C-00000000", 2)))[0] == 20
    assert refusal(_change(sim, token, account, number, _update(pro["id"], fee, 2)))[0] == 20
