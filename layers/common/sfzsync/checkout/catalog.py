"""Zuora's product catalog as the checkout needs it: which charges of a rate plan take a quantity, in which currencies.

A merchant orders "3 seats of Pro"; Zuora sets quantities per charge. `plan_subscriptions` turns the first into the
second, and finds every rate plan problem (unknown plan, no price in the currency, a quantity with nowhere to go)
before anything is written anywhere. Rate plans are read once and kept per container for a bounded time.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache

from sfzsync.checkout.models import Order, RatePlan
from sfzsync.errors import FieldProblem, InvalidInputError
from sfzsync.zuora_orders import QuantityOverride

CATALOG_CACHE_SECONDS = 300.0
CATALOG_CACHE_ENTRIES = 512

# The Create Order pricing override that carries a quantity, by (chargeType, chargeModel) in their canonical form.
# Other charges (flat fee, usage, discounts) take no quantity.
QUANTITY_PRICING: dict[tuple[str, str], str] = {
    ("recurring", "perunit"): "recurringPerUnit",
    ("recurring", "tiered"): "recurringTiered",
    ("recurring", "volume"): "recurringVolume",
    ("onetime", "perunit"): "oneTimePerUnit",
    ("onetime", "tiered"): "oneTimeTiered",
    ("onetime", "volume"): "oneTimeVolume",
}


def canonical(value: str) -> str:
    """`Per Unit Pricing` (how Object Query answers, as Zuora's "Show specific product details" guide shows) and
    `PerUnit` (how Create Order names it) are one charge model: `perunit`. Likewise `One-Time` and `OneTime`."""
    return re.sub(r"[^a-z]", "", value.lower()).removesuffix("pricing")


@dataclass(frozen=True)
class CatalogCharge:
    charge_id: str
    name: str
    charge_type: str
    charge_model: str
    currencies: frozenset[str]

    @property
    def quantity_pricing(self) -> str | None:
        """The pricing override that sets this charge's quantity, or None if it takes none."""
        return QUANTITY_PRICING.get((canonical(self.charge_type), canonical(self.charge_model)))


@dataclass(frozen=True)
class CatalogRatePlan:
    rate_plan_id: str
    name: str
    charges: tuple[CatalogCharge, ...]


@dataclass(frozen=True)
class PlannedRatePlan:
    """One rate plan of the order as Zuora gets it: the plan and the quantity of each of its per-unit charges."""

    rate_plan_id: str
    quantities: tuple[QuantityOverride, ...]


class ProductCatalog:
    """Rate plans by id, fetched through `fetch` (None: no such plan) and kept `ttl_seconds` per container."""

    def __init__(
        self,
        fetch: Callable[[str], CatalogRatePlan | None],
        ttl_seconds: float = CATALOG_CACHE_SECONDS,
        max_entries: int = CATALOG_CACHE_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._cache: TTLCache[str, CatalogRatePlan] = TTLCache(maxsize=max_entries, ttl=ttl_seconds, timer=clock)
        self._lock = threading.Lock()

    def rate_plan(self, rate_plan_id: str) -> CatalogRatePlan | None:
        with self._lock:
            cached: CatalogRatePlan | None = self._cache.get(rate_plan_id)
        if cached is not None:
            return cached
        plan = self._fetch(rate_plan_id)  # an unknown id is not cached: a plan created a moment ago is found
        if plan is not None:
            with self._lock:
                self._cache[rate_plan_id] = plan
        return plan

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


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
    unpriced = [charge.name for charge in plan.charges if currency not in charge.currencies]
    if unpriced:
        message = f"rate plan {plan.name!r} has no {currency} price (charges: {', '.join(unpriced)})"
        return [FieldProblem(f"{where}.productRatePlanId", message)]
    targets = [charge for charge in plan.charges if charge.quantity_pricing]
    if request.productRatePlanChargeId is not None:
        named = next((charge for charge in plan.charges if charge.charge_id == request.productRatePlanChargeId), None)
        if named is None:
            return [FieldProblem(f"{where}.productRatePlanChargeId", f"is not a charge of rate plan {plan.name!r}")]
        if named.quantity_pricing is None:
            message = f"charge {named.name!r} is {named.charge_type} {named.charge_model}: it takes no quantity"
            return [FieldProblem(f"{where}.productRatePlanChargeId", message)]
        targets = [named]
    if request.quantity is None:
        return PlannedRatePlan(plan.rate_plan_id, ())
    if not targets:
        if request.quantity == 1:
            return PlannedRatePlan(plan.rate_plan_id, ())
        message = f"rate plan {plan.name!r} has no per-unit charge, so it can only be ordered once (quantity 1)"
        return [FieldProblem(f"{where}.quantity", message)]
    overrides = tuple(
        QuantityOverride(charge.charge_id, charge.quantity_pricing, request.quantity)
        for charge in targets
        if charge.quantity_pricing
    )
    return PlannedRatePlan(plan.rate_plan_id, overrides)
