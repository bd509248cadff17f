"""Pieces of a Zuora "Create order" body that both capabilities send: a new subscription, its terms, its rate plans
with per-charge quantities (shapes checked against Zuora's published OpenAPI document by the sandbox)."""

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


def rate_plan_body(rate_plan_id: str, quantities: Iterable[QuantityOverride] = ()) -> dict[str, Any]:
    body: dict[str, Any] = {"productRatePlanId": rate_plan_id}
    overrides = [
        {"productRatePlanChargeId": q.charge_id, "pricing": {q.pricing: {"quantity": q.quantity}}} for q in quantities
    ]
    if overrides:
        body["chargeOverrides"] = overrides
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


def new_subscription(rate_plans: list[dict[str, Any]], term: SubscriptionTerm, start: dt.date) -> dict[str, Any]:
    """One `subscriptions[]` item of Create Order: a CreateSubscription action starting on `start`."""
    return {
        "orderActions": [
            {
                "type": "CreateSubscription",
                "triggerDates": [{"name": name, "triggerDate": start.isoformat()} for name in TRIGGER_EVENTS],
                "createSubscription": {"subscribeToRatePlans": rate_plans, "terms": terms_body(term, start)},
            }
        ]
    }
