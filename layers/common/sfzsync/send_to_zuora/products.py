"""Which Zuora product rate plan an order product is, and the quantity of each of its charges.

The Product2 mapping field (`productRatePlanField`) when filled; else the product rate plan whose externally managed
plan id is the Product2 Id, the convention of Zuora's Billing Connector for Salesforce CPQ ("The connector utilizes
the Externally Managed Plan ID field on the rate plan object in Zuora", Knowledge Center "Syncing Products between
Salesforce CPQ and Zuora"); else a blocking problem. Quantities follow the catalog as the checkout's do
(`sfzsync.catalog`): every per-unit, tiered and volume charge, or the one charge the Product2 names.
"""

from __future__ import annotations

from dataclasses import dataclass

from sfzsync.catalog import CatalogRatePlan, ProductCatalog, QuantityProblem, quantity_overrides, unpriced_charges
from sfzsync.gateways.salesforce_records import OrderLine
from sfzsync.gateways.zuora import ZuoraButtonGateway
from sfzsync.zuora_orders import QuantityOverride


@dataclass(frozen=True)
class ResolvedProduct:
    plan: CatalogRatePlan
    overrides: tuple[QuantityOverride, ...]


class ProductResolver:
    def __init__(self, zuora: ZuoraButtonGateway, catalog: ProductCatalog, mapping_field: str) -> None:
        self._zuora = zuora
        self._catalog = catalog
        self._mapping_field = mapping_field

    def rate_plan(self, line: OrderLine) -> CatalogRatePlan | str:
        """The catalog rate plan of the line's product, or the problem in plain words."""
        name = line.product_name
        if line.rate_plan_id:
            plan = self._catalog.rate_plan(line.rate_plan_id)
            if plan is None:
                return (
                    f'Product "{name}" names Zuora product rate plan {line.rate_plan_id} in '
                    f"{self._mapping_field}, and Zuora does not know it."
                )
            return plan
        found = self._zuora.rate_plan_ids_by_external_id(line.product_id) if line.product_id else []
        if len(found) > 1:
            return (
                f'Product "{name}" is the externally managed plan id of {len(found)} Zuora rate plans; '
                f"fill {self._mapping_field} on the Product to say which one."
            )
        plan = self._catalog.rate_plan(found[0]) if found else None
        if plan is None:
            return (
                f'Product "{name}" is not in Zuora\'s catalog: fill {self._mapping_field} on the Product, or give '
                "a Zuora rate plan this Product's Id as its externally managed plan id."
            )
        return plan

    def resolve(self, line: OrderLine, quantity: float, currency: str) -> ResolvedProduct | str:
        plan = self.rate_plan(line)
        if isinstance(plan, str):
            return plan
        unpriced = unpriced_charges(plan, currency)
        if unpriced:
            return (
                f'Product "{line.product_name}": Zuora rate plan "{plan.name}" has no {currency} price '
                f"(charges: {', '.join(unpriced)})."
            )
        overrides = quantity_overrides(plan, quantity, line.charge_id)
        if isinstance(overrides, QuantityProblem):
            return f'Product "{line.product_name}" cannot be ordered {quantity:g} times: {overrides.message}.'
        return ResolvedProduct(plan, overrides)
