"""Zuora's product catalog as the checkout needs it: which charges of a rate plan take a quantity, in which currencies.

A merchant orders "3 seats of Pro"; Zuora sets quantities per charge. `plan_subscriptions` turns the first into the
second, and finds every rate plan problem (unknown plan, no price in the currency, a quantity with nowhere to go)
before anything is written anywhere. The catalog itself (rate plans read once and kept per container for a bounded
time, which charges take a quantity) is the kernel's `sfzsync.catalog`, shared with the Send to Zuora button.
"""

from __future__ import annotations

from dataclasses import dataclass

from sfzsync.catalog import (
    CATALOG_CACHE_ENTRIES,
    CATALOG_CACHE_SECONDS,
    QUANTITY_PRICING,
    CatalogCharge,
    CatalogRatePlan,
    ProductCatalog,
    QuantityProblem,
    canonical,
    quantity_overrides,
    unpriced_charges,
)
from sfzsync.checkout.models import Order, RatePlan
from sfzsync.errors import FieldProblem, InvalidInputError
from sfzsync.zuora_orders import QuantityOverride

__all__ = [
    "CATALOG_CACHE_ENTRIES",
    "CATALOG_CACHE_SECONDS",
    "QUANTITY_PRICING",
    "CatalogCharge",
    "CatalogRatePlan",
    "PlannedRatePlan",
    "ProductCatalog",
    "canonical",
    "plan_subscriptions",
]


@dataclass(frozen=True)
class PlannedRatePlan:
    """One rate plan of the order as Zuora gets it: the plan and the quantity of each of its per-unit charges."""

    rate_plan_id: str
    quantities: tuple[QuantityOverride, ...]


def plan_subscriptions(order: Order, catalog: ProductCatalog) -> list[list[PlannedRatePlan]]:
    """Each subscription's rate plans with per-charge quantities; InvalidInputError names every problem found."""
    problems: list[FieldProblem] = []
    planned: list[list[PlannedRatePlan]] = []
    for s, subscription in enumerate(order.subscriptions):
        plans = []
        for r, rate_plan in enumerate(subscription.ratePlans):
            where = f"order.subscriptions.{s}.ratePlans.{r}"
            plan = _plan_rate_plan(rate_plan, catalog.rate_plan(rate_plan.productRatePlanId), order.currency, where)
            if isinstance(plan, PlannedRatePlan):
                plans.append(plan)
            else:
                problems.extend(plan)
        planned.append(plans)
    if problems:
        raise InvalidInputError.of(problems)
    return planned


def _plan_rate_plan(
    request: RatePlan, plan: CatalogRatePlan | None, currency: str, where: str
) -> PlannedRatePlan | list[FieldProblem]:
    if plan is None:
        return [FieldProblem(f"{where}.productRatePlanId", "is not a product rate plan of the Zuora catalog")]
    unpriced = unpriced_charges(plan, currency)
    if unpriced:
        message = f"rate plan {plan.name!r} has no {currency} price (charges: {', '.join(unpriced)})"
        return [FieldProblem(f"{where}.productRatePlanId", message)]
    overrides = quantity_overrides(plan, request.quantity, request.productRatePlanChargeId)
    if isinstance(overrides, QuantityProblem):
        return [FieldProblem(f"{where}.{overrides.field}", overrides.message)]
    return PlannedRatePlan(plan.rate_plan_id, overrides)
