"""The product catalog cache: one read per rate plan per container, for a bounded time."""

from __future__ import annotations

from sfzsync.checkout.catalog import CatalogRatePlan, ProductCatalog


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def counting_fetch(reads: list[str]) -> ProductCatalog:
    def fetch(rate_plan_id: str) -> CatalogRatePlan | None:
        reads.append(rate_plan_id)
        return None if rate_plan_id == "unknown" else CatalogRatePlan(rate_plan_id, rate_plan_id, ())

    return ProductCatalog(fetch, ttl_seconds=300, clock=clock)


clock = Clock()


def test_a_rate_plan_is_read_once_while_it_is_fresh_and_again_once_it_expires() -> None:
    # Given a catalog whose entries live 300 s
    reads: list[str] = []
    catalog = counting_fetch(reads)
    clock.now = 1_000.0

    # When the same rate plan is asked for three times, the third after 301 s
    catalog.rate_plan("pro")
    catalog.rate_plan("pro")
    clock.now += 301
    catalog.rate_plan("pro")

    # Then Zuora was read twice
    assert reads == ["pro", "pro"]


def test_an_unknown_rate_plan_is_asked_again_each_time() -> None:
    reads: list[str] = []
    catalog = counting_fetch(reads)

    assert catalog.rate_plan("unknown") is None
    assert catalog.rate_plan("unknown") is None

    assert reads == ["unknown", "unknown"]


def test_charge_models_as_object_query_names_them_take_a_quantity_like_create_order_names() -> None:
    # Object Query answers "Per Unit Pricing" (Zuora's "Show specific product details" guide); Create Order says PerUnit
    from sfzsync.checkout.catalog import CatalogCharge

    def charge(charge_type: str, model: str) -> CatalogCharge:
        return CatalogCharge("c", "c", charge_type, model, frozenset({"USD"}))

    assert charge("Recurring", "Per Unit Pricing").quantity_pricing == "recurringPerUnit"
    assert charge("Recurring", "PerUnit").quantity_pricing == "recurringPerUnit"
    assert charge("OneTime", "Volume Pricing").quantity_pricing == "oneTimeVolume"
    assert charge("Recurring", "Tiered Pricing").quantity_pricing == "recurringTiered"
    assert charge("Recurring", "Flat Fee Pricing").quantity_pricing is None
    assert charge("Usage", "Per Unit Pricing").quantity_pricing is None
