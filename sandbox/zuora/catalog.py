"""Product catalog of the Zuora simulator (the sandbox tenant's default data, ``SANDBOX_TENANT``, is in ``tenant``).

A product has product rate plans; a rate plan has charges; a charge has prices per currency. Seeding
(``ZuoraSim.seed_product`` / ``seed_rate_plan``) takes plain dicts (``ProductSpec``, ``RatePlanSpec``,
``ChargeSpec``, ``TierSpec``) with the names Zuora's Orders API uses: charge models ``FlatFee``, ``PerUnit``,
``Tiered``, ``Volume`` (the SDK's ``ChargeModel`` enum), charge types ``Recurring``, ``OneTime``, ``Usage``, tier
price formats ``FlatFee`` / ``PerUnit``.

Object Query shapes (camelCase, the field names of the SDK models ``ExpandedProductRatePlan``,
``ExpandedProductRatePlanCharge``, ``ExpandedProductRatePlanChargeTier``, ``ExpandedProduct``,
``ExpandedExternalProductRatePlan``, Zuora-Version 2025-08-12):

- ``chargeModel`` is served the way the catalog stores it: ``"Per Unit Pricing"``, ``"Flat Fee Pricing"``,
  ``"Tiered Pricing"``, ``"Volume Pricing"``. Surprising next to the Orders API's ``PerUnit``, but it is what
  Zuora's own sample answer of ``GET /object-query/product-rate-plans`` shows (developer.zuora.com tutorial "Show
  specific product details": ``"chargeModel": "Per Unit Pricing"``), and the values the catalog's Charge Model field
  takes (Knowledge Center, Data Loader dictionary "Create Product Rate Plan Charge"). The SDK types it as a plain
  string. ``chargeType`` is ``Recurring`` / ``OneTime`` / ``Usage``; the unit of measure is ``uOM``.
- Prices are tiers (``productRatePlanChargeTiers``), one set per currency: a flat fee or per-unit charge has one
  tier per currency (``tier`` 1, ``price``, no units, no price format: the tutorial's sample); tiered and volume
  charges have ``startingUnit``, ``endingUnit`` (absent on the open last tier) and ``priceFormat`` ``"Flat Fee"`` /
  ``"Per Unit"`` (the spelling with a space the catalog documents for PriceFormat).
- The externally managed plan id (the field Zuora's connector for Salesforce CPQ fills with the Salesforce Product2
  Id: "The connector utilizes the Externally Managed Plan ID field on the rate plan object in Zuora", Knowledge
  Center "Syncing Products between Salesforce CPQ and Zuora") is no field of the Object Query product rate plan:
  Object Query models it as the related ExternalProductRatePlan object, ``expand[]=externalproductrateplans`` →
  ``externalProductRatePlans: [{externalProductRatePlanId, externalIdSourceSystem, ratePlanId, ...}]``, so it can
  be expanded but not filtered on. The v1 API lists plans by it ("List product rate plans by external ID",
  ``GET /v1/product-rate-plans/external-id/{externalId}`` → ``productRatePlans[].externallyManagedPlanIds``).

Amounts (``Charge.amount``), for the invoice of a Create Order with ``runBilling``: one billing period of a
recurring charge, the one-time price of a one-time charge, nothing for usage (rated later from usage records).
Flat fee: the price. Per unit: price x quantity. Tiered: each tier prices the units that fall in it (a "Flat Fee"
tier its price once if any unit does). Volume: the tier holding the whole quantity prices all of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, NotRequired, TypedDict

ChargeModelName = Literal["FlatFee", "PerUnit", "Tiered", "Volume"]
ChargeTypeName = Literal["Recurring", "OneTime", "Usage"]
PriceFormatName = Literal["FlatFee", "PerUnit"]

CHARGE_MODEL_LABELS: Mapping[str, str] = {
    "FlatFee": "Flat Fee Pricing",
    "PerUnit": "Per Unit Pricing",
    "Tiered": "Tiered Pricing",
    "Volume": "Volume Pricing",
}
CHARGE_TYPES = ("Recurring", "OneTime", "Usage")
PRICE_FORMAT_LABELS: Mapping[str, str] = {"FlatFee": "Flat Fee", "PerUnit": "Per Unit"}
TIERED_MODELS = frozenset({"Tiered", "Volume"})
QUANTITY_MODELS = frozenset({"PerUnit", "Tiered", "Volume"})
# Create Order `chargeOverrides[].pricing` keys and the (chargeType, chargeModel) each one prices (the published
# schema's pricing object: recurringPerUnit, oneTimeTiered, usageOverage, ...).
PRICING_FITS: Mapping[str, tuple[str, str]] = {
    "recurringFlatFee": ("Recurring", "FlatFee"),
    "recurringPerUnit": ("Recurring", "PerUnit"),
    "recurringTiered": ("Recurring", "Tiered"),
    "recurringVolume": ("Recurring", "Volume"),
    "oneTimeFlatFee": ("OneTime", "FlatFee"),
    "oneTimePerUnit": ("OneTime", "PerUnit"),
    "oneTimeTiered": ("OneTime", "Tiered"),
    "oneTimeVolume": ("OneTime", "Volume"),
    "usageFlatFee": ("Usage", "FlatFee"),
    "usagePerUnit": ("Usage", "PerUnit"),
    "usageTiered": ("Usage", "Tiered"),
    "usageVolume": ("Usage", "Volume"),
    "usageOverage": ("Usage", "Overage"),
    "usageTieredWithOverage": ("Usage", "TieredWithOverage"),
    "discount": ("", "Discount"),
}
CATALOG_USER = "2c92c0f86a8dd422016a9e7a70116b00"  # createdById / updatedById of seeded catalog objects
EFFECTIVE_START, EFFECTIVE_END = "2024-01-01", "2099-12-31"


class CatalogRefusalError(Exception):
    """Create Order asks for something the catalog does not allow; `category` is Zuora's error category code."""

    def __init__(self, category: int, message: str) -> None:
        super().__init__(message)
        self.category = category


class TierSpec(TypedDict):
    """One price tier of a Tiered or Volume charge, in one currency."""

    startingUnit: float
    endingUnit: NotRequired[float | None]  # None / absent: open-ended last tier
    price: float
    priceFormat: NotRequired[PriceFormatName]  # default PerUnit


class ChargeSpec(TypedDict):
    """A product rate plan charge to seed. FlatFee and PerUnit charges take `prices` (currency → price), Tiered and
    Volume charges take `tiers` (currency → tiers in ascending order)."""

    id: NotRequired[str]  # default: a fresh 32-hex id
    name: str
    chargeModel: ChargeModelName
    chargeType: ChargeTypeName
    uom: NotRequired[str | None]
    defaultQuantity: NotRequired[float | None]
    billingPeriod: NotRequired[str]  # Recurring charges; default "Month"
    prices: NotRequired[Mapping[str, float]]
    tiers: NotRequired[Mapping[str, Sequence[TierSpec]]]


class RatePlanSpec(TypedDict):
    id: NotRequired[str]
    name: str
    description: NotRequired[str | None]
    externallyManagedPlanId: NotRequired[str | None]
    externalIdSourceSystem: NotRequired[str | None]
    charges: Sequence[ChargeSpec]


class ProductSpec(TypedDict):
    id: NotRequired[str]
    name: str
    sku: NotRequired[str | None]
    description: NotRequired[str | None]
    ratePlans: Sequence[RatePlanSpec]


@dataclass(frozen=True)
class Tier:
    id: str
    currency: str
    tier: int
    price: Decimal
    starting_unit: Decimal | None = None
    ending_unit: Decimal | None = None
    price_format: str | None = None  # "FlatFee" / "PerUnit" on tiered and volume charges


@dataclass
class Charge:
    id: str
    number: str
    name: str
    model: str
    type: str
    rate_plan_id: str
    tiers: tuple[Tier, ...]
    uom: str | None = None
    default_quantity: Decimal | None = None
    billing_period: str | None = None

    @property
    def currencies(self) -> frozenset[str]:
        return frozenset(t.currency for t in self.tiers)

    @property
    def takes_quantity(self) -> bool:
        """Whether a subscription holds a quantity of this charge (Create Order sets it through a pricing override
        such as recurringPerUnit.quantity)."""
        return self.type in ("Recurring", "OneTime") and self.model in QUANTITY_MODELS

    @property
    def initial_quantity(self) -> Decimal | None:
        """The quantity a subscription gets without an override: the catalog's defaultQuantity, else 1."""
        if not self.takes_quantity:
            return None
        return self.default_quantity if self.default_quantity is not None else Decimal(1)

    def pricing_problem(self, pricing_key: str) -> str | None:
        """Why the Create Order pricing override `pricing_key` cannot apply to this charge (None: it can)."""
        fit = PRICING_FITS.get(pricing_key)
        if fit is None or fit == (self.type, self.model):
            return None
        return (
            f"The pricing '{pricing_key}' does not match the charge model of product rate plan charge "
            f"{self.id} ('{self.name}' is a {self.type} {self.model} charge)."
        )

    def amount(self, currency: str, quantity: Decimal | None) -> Decimal:
        """What this charge bills on the first invoice, in `currency` (see the module docstring)."""
        tiers = [t for t in self.tiers if t.currency == currency]
        if self.type == "Usage" or not tiers:
            return Decimal(0)
        units = quantity or Decimal(0)
        if self.model == "FlatFee":
            return tiers[0].price
        if self.model == "PerUnit":
            return tiers[0].price * units
        if self.model == "Volume":
            tier = next((t for t in tiers if t.ending_unit is None or units <= t.ending_unit), tiers[-1])
            return tier.price if tier.price_format == "FlatFee" else tier.price * units
        total, below = Decimal(0), Decimal(0)
        for tier in tiers:
            top = units if tier.ending_unit is None else min(units, tier.ending_unit)
            if top > below:
                total += tier.price if tier.price_format == "FlatFee" else tier.price * (top - below)
            below = tier.ending_unit if tier.ending_unit is not None else below
        return total


@dataclass
class RatePlan:
    id: str
    number: str
    name: str
    product_id: str
    charges: list[Charge]
    description: str | None = None
    externally_managed_plan_ids: list[str] = field(default_factory=list)
    external_id_source_system: str | None = None

    def charge(self, charge_id: str) -> Charge | None:
        return next((c for c in self.charges if c.id == charge_id), None)


@dataclass
class Product:
    id: str
    name: str
    sku: str | None
    description: str | None
    rate_plan_ids: list[str] = field(default_factory=list)


class Catalog:
    """Products, rate plans and charges by id. Not thread-safe on its own: the simulator guards it with its lock."""

    def __init__(self) -> None:
        self.products: dict[str, Product] = {}
        self.rate_plans: dict[str, RatePlan] = {}
        self._charge_ids: set[str] = set()
        self._counters = {"product": 0, "plan": 0, "charge": 0}
        self.created = _now()

    # --- seeding ---------------------------------------------------------------------------------
    def add_product(self, spec: ProductSpec) -> Product:
        product_id = spec.get("id") or uuid.uuid4().hex
        if product_id in self.products or self.product(spec["name"]) is not None:
            raise ValueError(f"product {spec['name']!r} ({product_id}) already exists")
        product = Product(product_id, spec["name"], spec.get("sku"), spec.get("description"))
        self.products[product_id] = product
        for plan in spec.get("ratePlans", ()):
            self.add_rate_plan(product, plan)
        return product

    def add_rate_plan(self, product: Product, spec: RatePlanSpec) -> RatePlan:
        plan_id = spec.get("id") or uuid.uuid4().hex
        if plan_id in self.rate_plans:
            raise ValueError(f"product rate plan {plan_id} already exists")
        if not spec["charges"]:
            raise ValueError(f"product rate plan {spec['name']!r} needs at least one charge")
        charges = [self._charge(plan_id, charge) for charge in spec["charges"]]
        ids = [c.id for c in charges]
        if len(set(ids)) != len(ids) or self._charge_ids & set(ids):
            raise ValueError(f"product rate plan {spec['name']!r}: charge ids must be unique in the catalog")
        external = spec.get("externallyManagedPlanId")
        plan = RatePlan(
            plan_id,
            self._number("plan", "PRP-{:08d}"),
            spec["name"],
            product.id,
            charges,
            spec.get("description"),
            [external] if external else [],
            spec.get("externalIdSourceSystem"),
        )
        self.rate_plans[plan_id] = plan
        self._charge_ids.update(ids)
        product.rate_plan_ids.append(plan_id)
        return plan

    def _charge(self, plan_id: str, spec: ChargeSpec) -> Charge:
        name, model, kind = spec["name"], spec["chargeModel"], spec["chargeType"]
        if model not in CHARGE_MODEL_LABELS:
            raise ValueError(f"charge {name!r}: chargeModel must be one of {sorted(CHARGE_MODEL_LABELS)}")
        if kind not in CHARGE_TYPES:
            raise ValueError(f"charge {name!r}: chargeType must be one of {list(CHARGE_TYPES)}")
        charge_id = spec.get("id") or uuid.uuid4().hex
        default = spec.get("defaultQuantity")
        return Charge(
            id=charge_id,
            number=self._number("charge", "PRPC-{:08d}"),
            name=name,
            model=model,
            type=kind,
            rate_plan_id=plan_id,
            tiers=_tiers(name, model, spec),
            uom=spec.get("uom"),
            default_quantity=None if default is None else Decimal(str(default)),
            billing_period=spec.get("billingPeriod", "Month") if kind == "Recurring" else None,
        )

    def _number(self, kind: str, pattern: str) -> str:
        self._counters[kind] += 1
        return pattern.format(self._counters[kind])

    # --- lookups ---------------------------------------------------------------------------------
    def product(self, key: str) -> Product | None:
        """The product whose id or name is `key`."""
        return self.products.get(key) or next((p for p in self.products.values() if p.name == key), None)

    def rate_plan(self, key: str) -> RatePlan | None:
        """The rate plan whose id or number (``PRP-...``) is `key`: Object Query's "Object ID or Number"."""
        return self.rate_plans.get(key) or next((p for p in self.rate_plans.values() if p.number == key), None)

    def rate_plans_by_external_id(self, external_id: str) -> list[RatePlan]:
        return [p for p in self.rate_plans.values() if external_id in p.externally_managed_plan_ids]

    # --- Create Order ----------------------------------------------------------------------------
    def subscribe(self, item: Mapping[str, Any], currency: str, account_number: str) -> dict[str, Any]:
        """A Create Order ``subscribeToRatePlans`` item checked against the catalog, as the subscription keeps it:
        ``{productRatePlanId, productRatePlanName, chargeOverrides, charges: [{productRatePlanChargeId, name,
        chargeType, chargeModel, quantity}]}``. Raises CatalogRefusalError (see the simulator's docstring)."""
        plan_id = str(item.get("productRatePlanId"))
        plan = self.rate_plans.get(plan_id)
        if plan is None:
            raise CatalogRefusalError(40, f"Cannot find product rate plan with id '{plan_id}'.")
        quantities = {charge.id: charge.initial_quantity for charge in plan.charges}
        overrides = list(item.get("chargeOverrides") or [])
        for override in overrides:
            charge_id = override.get("productRatePlanChargeId")
            charge = plan.charge(str(charge_id))
            if charge is None:
                raise CatalogRefusalError(
                    20, f"Product rate plan charge {charge_id} is not a charge of product rate plan {plan.id}."
                )
            for key, pricing in (override.get("pricing") or {}).items():
                problem = charge.pricing_problem(key)
                if problem:
                    raise CatalogRefusalError(20, problem)
                if isinstance(pricing, dict) and pricing.get("quantity") is not None:
                    quantities[charge.id] = Decimal(str(pricing["quantity"]))
        for charge in plan.charges:
            if currency not in charge.currencies:
                raise CatalogRefusalError(
                    30,
                    f"Product rate plan charge {charge.id} ('{charge.name}') of product rate plan {plan.id} has no "
                    f"price in {currency}, the currency of account {account_number}.",
                )
        return {
            "productRatePlanId": plan.id,
            "productRatePlanName": plan.name,
            "chargeOverrides": overrides,
            "charges": [
                {
                    "productRatePlanChargeId": charge.id,
                    "name": charge.name,
                    "chargeType": charge.type,
                    "chargeModel": charge.model,
                    "quantity": _plain(quantities[charge.id]),
                }
                for charge in plan.charges
            ],
        }

    def invoice_items(self, subscription: Mapping[str, Any], currency: str) -> list[dict[str, Any]]:
        """The first invoice's items of a subscription: ``{subscriptionNumber, productRatePlanId,
        productRatePlanChargeId, chargeName, quantity, amount}`` per charge."""
        items = []
        for plan in subscription["ratePlans"]:
            catalog_plan = self.rate_plans[plan["productRatePlanId"]]
            for charge in plan["charges"]:
                catalog_charge = catalog_plan.charge(charge["productRatePlanChargeId"])
                quantity = charge["quantity"]
                amount = Decimal(0)
                if catalog_charge is not None:
                    amount = catalog_charge.amount(currency, None if quantity is None else Decimal(str(quantity)))
                items.append(
                    {
                        "subscriptionNumber": subscription["subscriptionNumber"],
                        "productRatePlanId": plan["productRatePlanId"],
                        "productRatePlanChargeId": charge["productRatePlanChargeId"],
                        "chargeName": charge["name"],
                        "quantity": quantity,
                        "amount": money(amount),
                    }
                )
        return items

    # --- wire shapes -----------------------------------------------------------------------------
    def rate_plan_row(self, plan: RatePlan, expand: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The Object Query product rate plan (``ExpandedProductRatePlan``); `expand` holds lower-case names."""
        row: dict[str, Any] = {
            "id": plan.id,
            "productId": plan.product_id,
            "name": plan.name,
            "description": plan.description,
            "productRatePlanNumber": plan.number,
            "effectiveStartDate": EFFECTIVE_START,
            "effectiveEndDate": EFFECTIVE_END,
            **self._audit(),
        }
        if "product" in expand:
            row["product"] = self.product_row(self.products[plan.product_id])
        if "productrateplancharges" in expand:
            with_tiers = "productrateplancharges.productrateplanchargetiers" in expand
            row["productRatePlanCharges"] = [self.charge_row(c, with_tiers) for c in plan.charges]
        if "externalproductrateplans" in expand:
            row["externalProductRatePlans"] = [
                {
                    "id": _derived_id(plan.id, external),
                    "externalProductRatePlanId": external,
                    "externalIdSourceSystem": plan.external_id_source_system,
                    "ratePlanId": plan.id,
                    **self._audit(),
                }
                for external in plan.externally_managed_plan_ids
            ]
        return row

    def product_row(self, product: Product) -> dict[str, Any]:
        """The Object Query product (``ExpandedProduct``; the SDK spells the SKU ``sKU``)."""
        return {
            "id": product.id,
            "name": product.name,
            "sKU": product.sku,
            "description": product.description,
            "effectiveStartDate": EFFECTIVE_START,
            "effectiveEndDate": EFFECTIVE_END,
            **self._audit(),
        }

    def charge_row(self, charge: Charge, with_tiers: bool) -> dict[str, Any]:
        """The Object Query product rate plan charge (``ExpandedProductRatePlanCharge``)."""
        recurring = charge.type == "Recurring"
        row: dict[str, Any] = {
            "id": charge.id,
            "name": charge.name,
            "productRatePlanId": charge.rate_plan_id,
            "productRatePlanChargeNumber": charge.number,
            "chargeModel": CHARGE_MODEL_LABELS[charge.model],
            "chargeType": charge.type,
            "uOM": charge.uom,
            "defaultQuantity": _number(charge.initial_quantity),
            "billingPeriod": charge.billing_period,
            "billingTiming": "In Advance" if recurring else None,
            "listPriceBase": "Per Billing Period" if recurring else None,
            "triggerEvent": "ContractEffective",
            "endDateCondition": "SubscriptionEnd" if recurring else None,
            "taxable": False,
            **self._audit(),
        }
        if with_tiers:
            row["productRatePlanChargeTiers"] = [self._tier_row(charge, tier) for tier in charge.tiers]
        return row

    def _tier_row(self, charge: Charge, tier: Tier) -> dict[str, Any]:
        return {
            "id": tier.id,
            "productRatePlanChargeId": charge.id,
            "active": True,
            "currency": tier.currency,
            "tier": tier.tier,
            "startingUnit": _number(tier.starting_unit),
            "endingUnit": _number(tier.ending_unit),
            "price": _number(tier.price),
            "priceFormat": PRICE_FORMAT_LABELS[tier.price_format] if tier.price_format else None,
            **self._audit(),
        }

    def external_id_row(self, plan: RatePlan) -> dict[str, Any]:
        """One item of "List product rate plans by external ID" (``ProductRatePlanWithExternalId``)."""
        return {
            "id": plan.id,
            "name": plan.name,
            "description": plan.description,
            "productRatePlanNumber": plan.number,
            "effectiveStartDate": EFFECTIVE_START,
            "effectiveEndDate": EFFECTIVE_END,
            "externallyManagedPlanIds": list(plan.externally_managed_plan_ids),
            "ExternalIdSourceSystem": plan.external_id_source_system,
            "status": "Active",
        }

    def _audit(self) -> dict[str, str]:
        return {
            "createdById": CATALOG_USER,
            "createdDate": self.created,
            "updatedById": CATALOG_USER,
            "updatedDate": self.created,
        }


def _tiers(name: str, model: str, spec: ChargeSpec) -> tuple[Tier, ...]:
    prices, tiers = spec.get("prices"), spec.get("tiers")
    if model in TIERED_MODELS:
        if prices or not tiers:
            raise ValueError(f"charge {name!r}: a {model} charge takes `tiers` (currency -> tiers), not `prices`")
        return tuple(tier for currency, specs in tiers.items() for tier in _currency_tiers(name, currency, specs))
    if tiers or not prices:
        raise ValueError(f"charge {name!r}: a {model} charge takes `prices` (currency -> price), not `tiers`")
    return tuple(Tier(uuid.uuid4().hex, currency, 1, Decimal(str(price))) for currency, price in prices.items())


def _currency_tiers(name: str, currency: str, specs: Sequence[TierSpec]) -> list[Tier]:
    if not specs:
        raise ValueError(f"charge {name!r}: no tiers in {currency}")
    out: list[Tier] = []
    for number, spec in enumerate(specs, start=1):
        start = Decimal(str(spec["startingUnit"]))
        end_value = spec.get("endingUnit")
        end = None if end_value is None else Decimal(str(end_value))
        previous = out[-1] if out else None
        if previous is not None and (previous.ending_unit is None or start <= previous.ending_unit):
            raise ValueError(f"charge {name!r}: {currency} tier {number} overlaps the tier before it")
        if end is not None and end < start:
            raise ValueError(f"charge {name!r}: {currency} tier {number} ends before it starts")
        price_format = spec.get("priceFormat", "PerUnit")
        if price_format not in PRICE_FORMAT_LABELS:
            raise ValueError(f"charge {name!r}: priceFormat must be one of {sorted(PRICE_FORMAT_LABELS)}")
        out.append(Tier(uuid.uuid4().hex, currency, number, Decimal(str(spec["price"])), start, end, price_format))
    return out


def money(value: Decimal) -> float:
    """An amount as the simulator records it: rounded to cents."""
    return float(value.quantize(Decimal("0.01")))


def _plain(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _derived_id(*parts: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_OID, "/".join(parts)).hex


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
