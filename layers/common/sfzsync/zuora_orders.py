"""Pieces of a Zuora "Create order" body: a new subscription, its terms, its rate plans with per-charge quantities
(both capabilities), and the order actions on an existing subscription the button sends for amendments and renewals
(shapes checked against Zuora's published OpenAPI document by the sandbox)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# The three dates Zuora needs to activate a subscription; a self-service order has them all on its order date.
TRIGGER_EVENTS = ("ContractEffective", "ServiceActivation", "CustomerAcceptance")


@dataclass(frozen=True)
class QuantityOverride:
    """`quantity` units of one charge, set by the Create Order pricing override `pricing` (e.g. recurringPerUnit)."""

    charge_id: str
    pricing: str
    quantity: int | float


@dataclass(frozen=True)
class SubscriptionTerm:
    """TERMED for `period` periods (renewing for `renewal_period`), or EVERGREEN when `period` is None."""

    period: int | None = None
    period_type: str = "Month"
    renewal_period: int | None = None
    auto_renew: bool = True


def rate_plan_body(
    rate_plan_id: str, quantities: Iterable[QuantityOverride] = (), custom_fields: dict[str, str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"productRatePlanId": rate_plan_id}
    overrides = [
        {"productRatePlanChargeId": q.charge_id, "pricing": {q.pricing: {"quantity": q.quantity}}} for q in quantities
    ]
    if overrides:
        body["chargeOverrides"] = overrides
    if custom_fields:
        body["customFields"] = custom_fields
    return body


def terms_body(term: SubscriptionTerm, start: dt.date) -> dict[str, Any]:
    if term.period is None:
        return {"initialTerm": {"termType": "EVERGREEN", "startDate": start.isoformat()}}
    return {
        "initialTerm": {
            "termType": "TERMED",
            "period": term.period,
            "periodType": term.period_type,
            "startDate": start.isoformat(),
        },
        "renewalSetting": "RENEW_WITH_SPECIFIC_TERM",
        "renewalTerms": [{"period": term.renewal_period or term.period, "periodType": term.period_type}],
        "autoRenew": term.auto_renew,
    }


def trigger_dates(day: dt.date) -> list[dict[str, str]]:
    return [{"name": name, "triggerDate": day.isoformat()} for name in TRIGGER_EVENTS]


def new_subscription(
    rate_plans: list[dict[str, Any]],
    term: SubscriptionTerm,
    start: dt.date,
    custom_fields: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One `subscriptions[]` item of Create Order: a CreateSubscription action starting on `start`."""
    item: dict[str, Any] = {
        "orderActions": [
            {
                "type": "CreateSubscription",
                "triggerDates": trigger_dates(start),
                "createSubscription": {"subscribeToRatePlans": rate_plans, "terms": terms_body(term, start)},
            }
        ]
    }
    if custom_fields:
        item["customFields"] = custom_fields
    return item


# --- order actions on an existing subscription (`subscriptions[].subscriptionNumber` + `orderActions`) -----------


def existing_subscription(number: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"subscriptionNumber": number, "orderActions": actions}


def add_product(rate_plan: dict[str, Any], day: dt.date) -> dict[str, Any]:
    return {"type": "AddProduct", "triggerDates": trigger_dates(day), "addProduct": rate_plan}


def update_product(
    rate_plan_id: str, quantities: Iterable[tuple[str, str, int | float]], day: dt.date
) -> dict[str, Any]:
    """New quantities of a subscription rate plan's charges, as (charge number, pricing key, quantity)."""
    updates = [
        {"chargeNumber": number, "pricing": {pricing: {"quantity": quantity}}}
        for number, pricing, quantity in quantities
    ]
    return {
        "type": "UpdateProduct",
        "triggerDates": trigger_dates(day),
        "updateProduct": {"ratePlanId": rate_plan_id, "chargeUpdates": updates},
    }


def remove_product(rate_plan_id: str, day: dt.date) -> dict[str, Any]:
    return {"type": "RemoveProduct", "triggerDates": trigger_dates(day), "removeProduct": {"ratePlanId": rate_plan_id}}


def cancel_subscription(day: dt.date) -> dict[str, Any]:
    return {
        "type": "CancelSubscription",
        "cancelSubscription": {"cancellationPolicy": "SpecificDate", "cancellationEffectiveDate": day.isoformat()},
    }


def renewal_terms(period: int, period_type: str = "Month") -> dict[str, Any]:
    """Set the renewal term before a renewal, when the renewal Order asks for another one."""
    return {
        "type": "TermsAndConditions",
        "termsAndConditions": {
            "renewalSetting": "RENEW_WITH_SPECIFIC_TERM",
            "renewalTerms": [{"period": period, "periodType": period_type}],
        },
    }


def renew_subscription() -> dict[str, Any]:
    # "Unless the type of order action is RenewSubscription, you must use the corresponding field" (published
    # schema, orderActions[].type): a renewal carries no object of its own.
    return {"type": "RenewSubscription"}
