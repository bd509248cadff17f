"""Zuora subscriptions as the button reads them (`GET /v1/subscriptions/{key}`, `GET /v1/subscriptions/accounts/
{account-key}`): the latest version, its rate plans and charges, and the custom fields linking them to Salesforce.

Field names are those of Zuora's SDK models `GetSubscriptionResponse`, `GetSubscriptionRatePlan` and
`GetSubscriptionRatePlanChargesWithAllSegments` (Zuora-Version 2025-08-12). Custom fields arrive as top-level keys
ending in `__c` on the subscription and on each rate plan. Two behaviours worth knowing:

- A subscription rate plan gets a new `id` in every subscription version; `originalRatePlanId` stays. An order
  action may name "the latest version or any history version id" (published schema, `updateProduct.ratePlanId`).
- A removed rate plan is still listed, with `lastChangeType: "Remove"` (SDK: "The last amendment on the rate plan
  ... Add, Update, Remove"); it is no longer part of what the customer is billed for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sfzsync.catalog import QUANTITY_PRICING, canonical


@dataclass(frozen=True)
class SubscriptionCharge:
    charge_id: str
    number: str
    name: str
    charge_type: str
    charge_model: str
    product_rate_plan_charge_id: str
    quantity: float | None

    @property
    def quantity_pricing(self) -> str | None:
        """The Create Order pricing key that carries this charge's quantity (None: it takes none)."""
        return QUANTITY_PRICING.get((canonical(self.charge_type), canonical(self.charge_model)))


@dataclass(frozen=True)
class SubscriptionRatePlan:
    rate_plan_id: str
    original_rate_plan_id: str
    product_rate_plan_id: str
    name: str
    last_change_type: str | None
    charges: tuple[SubscriptionCharge, ...]
    custom_fields: dict[str, str] = field(default_factory=dict)

    @property
    def removed(self) -> bool:
        return self.last_change_type == "Remove"

    @property
    def quantity_charges(self) -> tuple[SubscriptionCharge, ...]:
        return tuple(charge for charge in self.charges if charge.quantity_pricing)


@dataclass(frozen=True)
class ZuoraSubscription:
    subscription_id: str
    subscription_number: str
    version: int
    account_number: str
    status: str
    term_type: str
    renewal_term: int | None
    renewal_term_period_type: str | None
    term_end_date: str | None
    rate_plans: tuple[SubscriptionRatePlan, ...]
    custom_fields: dict[str, str] = field(default_factory=dict)
    order_number: str | None = None  # the order that made this version

    @property
    def active_rate_plans(self) -> tuple[SubscriptionRatePlan, ...]:
        return tuple(plan for plan in self.rate_plans if not plan.removed)

    def rate_plan_of(self, link_field: str, item_id: str) -> SubscriptionRatePlan | None:
        """The rate plan whose Salesforce link custom field holds `item_id` (removed ones too)."""
        return next((plan for plan in self.rate_plans if plan.custom_fields.get(link_field) == item_id), None)

    def rate_plan_by_id(self, rate_plan_id: str) -> SubscriptionRatePlan | None:
        """By its id in any version (`originalRatePlanId` ties the versions together)."""
        return next(
            (p for p in self.rate_plans if rate_plan_id in (p.rate_plan_id, p.original_rate_plan_id)),
            None,
        )


def _custom_fields(body: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in body.items() if key.endswith("__c") and value not in (None, "")}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def parse_subscription(body: dict[str, Any]) -> ZuoraSubscription:
    plans = tuple(
        SubscriptionRatePlan(
            rate_plan_id=str(plan.get("id", "")),
            original_rate_plan_id=str(plan.get("originalRatePlanId") or plan.get("id", "")),
            product_rate_plan_id=str(plan.get("productRatePlanId", "")),
            name=str(plan.get("ratePlanName") or plan.get("productName") or ""),
            last_change_type=str(plan["lastChangeType"]) if plan.get("lastChangeType") else None,
            charges=tuple(
                SubscriptionCharge(
                    charge_id=str(charge.get("id", "")),
                    number=str(charge.get("number", "")),
                    name=str(charge.get("name", "")),
                    charge_type=str(charge.get("type", "")),
                    charge_model=str(charge.get("model", "")),
                    product_rate_plan_charge_id=str(charge.get("productRatePlanChargeId", "")),
                    quantity=_number(charge.get("quantity")),
                )
                for charge in plan.get("ratePlanCharges") or []
            ),
            custom_fields=_custom_fields(plan),
        )
        for plan in body.get("ratePlans") or []
    )
    renewal = body.get("renewalTerm")
    return ZuoraSubscription(
        subscription_id=str(body.get("id", "")),
        subscription_number=str(body.get("subscriptionNumber", "")),
        version=int(body.get("version") or 1),
        account_number=str(body.get("accountNumber", "")),
        status=str(body.get("status", "")),
        term_type=str(body.get("termType", "")),
        renewal_term=int(renewal) if isinstance(renewal, int) and renewal > 0 else None,
        renewal_term_period_type=str(body["renewalTermPeriodType"]) if body.get("renewalTermPeriodType") else None,
        term_end_date=str(body["termEndDate"]) if body.get("termEndDate") else None,
        rate_plans=plans,
        custom_fields=_custom_fields(body),
        order_number=str(body["orderNumber"]) if body.get("orderNumber") else None,
    )
