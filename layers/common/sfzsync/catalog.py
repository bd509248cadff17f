"""Zuora's product catalog as both capabilities need it: which charges of a rate plan take a quantity, in which
currencies, read once and kept per container for a bounded time.

A merchant (or a Salesforce Order) says "3 seats of Pro"; Zuora sets quantities per charge. `quantity_overrides`
turns the first into the second (every per-unit, tiered and volume charge takes the quantity, or the one charge
named); `rate_plan_problem` says in plain words why a rate plan cannot be ordered that way.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache

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

    def charge(self, charge_id: str) -> CatalogCharge | None:
        return next((charge for charge in self.charges if charge.charge_id == charge_id), None)


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


@dataclass(frozen=True)
class QuantityProblem:
    """Why a quantity cannot go on a rate plan: `field` is "productRatePlanChargeId" or "quantity"."""

    field: str
    message: str


def unpriced_charges(plan: CatalogRatePlan, currency: str) -> list[str]:
    """Names of the charges of `plan` without a price in `currency` (Zuora refuses the plan then)."""
    return [charge.name for charge in plan.charges if currency not in charge.currencies]


def quantity_overrides(
    plan: CatalogRatePlan, quantity: float | None, charge_id: str | None = None
) -> tuple[QuantityOverride, ...] | QuantityProblem:
    """The pricing overrides that put `quantity` on the plan's per-unit charges (or on the one charge named)."""
    targets = [charge for charge in plan.charges if charge.quantity_pricing]
    if charge_id is not None:
        named = plan.charge(charge_id)
        if named is None:
            return QuantityProblem("productRatePlanChargeId", f"is not a charge of rate plan {plan.name!r}")
        if named.quantity_pricing is None:
            message = f"charge {named.name!r} is {named.charge_type} {named.charge_model}: it takes no quantity"
            return QuantityProblem("productRatePlanChargeId", message)
        targets = [named]
    if quantity is None:
        return ()
    if not targets:
        if quantity == 1:
            return ()
        message = f"rate plan {plan.name!r} has no per-unit charge, so it can only be ordered once (quantity 1)"
        return QuantityProblem("quantity", message)
    amount: int | float = int(quantity) if float(quantity).is_integer() else quantity
    return tuple(
        QuantityOverride(charge.charge_id, charge.quantity_pricing, amount)
        for charge in targets
        if charge.quantity_pricing
    )
