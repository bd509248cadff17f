"""Zuora simulator: OAuth, Create Order, accounts, payment methods, product catalog, Object Query, idempotency.

Wire behaviour follows Zuora's v1 API documentation; each module's docstring says what it reproduces and from
which source:

- ``sim``: ``ZuoraSim``, its Python API, OAuth tokens, request and track ids, routing;
- ``errors``: business errors (``success: false`` with 8-digit codes);
- ``state``: request bodies validated against the published OpenAPI document (``openapi``);
- ``idempotency``: ``Idempotency-Key``;
- ``orders``: Create Order (``Zuora-Version``, refusals, invoices and payments);
- ``accounts``: accounts and payment methods (``payment_methods`` has the records and rules);
- ``catalog_api``: the product catalog over Object Query and v1 (``catalog``: the model; ``object_query``: filters,
  paging and expansions; ``tenant``: the sandbox tenant's default data);
- ``data_query``: Data Query jobs and their result files (``sql``: the SQL subset it runs);
- ``rate_limits``: ``RateLimit-*`` headers and 429 on demand.
"""

from sandbox.zuora.catalog import (
    Catalog,
    CatalogRefusalError,
    ChargeSpec,
    ProductSpec,
    RatePlanSpec,
    TierSpec,
)
from sandbox.zuora.errors import zuora_failure
from sandbox.zuora.idempotency import IDEMPOTENCY_TTL
from sandbox.zuora.openapi import Violation, find_violations, validate_request_body
from sandbox.zuora.orders import uses_subscriptions_field
from sandbox.zuora.sim import ZuoraSim
from sandbox.zuora.tenant import (
    ANALYTICS_PRODUCT_ID,
    CHECKOUT_PAYMENT_METHOD_ID,
    ONBOARDING_CHARGE_ID,
    ONBOARDING_RATE_PLAN_ID,
    PLATFORM_FEE_CHARGE_ID,
    PRO_RATE_PLAN_ID,
    SANDBOX_TENANT,
    SEATS_CHARGE_ID,
    SERVICES_PRODUCT_ID,
    SPARE_PAYMENT_METHODS,
    STORAGE_CHARGE_ID,
    STORAGE_RATE_PLAN_ID,
    SUPPORT_FEE_CHARGE_ID,
    SUPPORT_PRODUCT_ID,
    SUPPORT_RATE_PLAN_ID,
    TIERED_RATE_PLAN_ID,
    TIERED_SEATS_CHARGE_ID,
    US_RESIDENCY_CHARGE_ID,
    US_RESIDENCY_RATE_PLAN_ID,
    TenantData,
)

__all__ = [
    "ANALYTICS_PRODUCT_ID",
    "CHECKOUT_PAYMENT_METHOD_ID",
    "IDEMPOTENCY_TTL",
    "ONBOARDING_CHARGE_ID",
    "ONBOARDING_RATE_PLAN_ID",
    "PLATFORM_FEE_CHARGE_ID",
    "PRO_RATE_PLAN_ID",
    "SANDBOX_TENANT",
    "SEATS_CHARGE_ID",
    "SERVICES_PRODUCT_ID",
    "SPARE_PAYMENT_METHODS",
    "STORAGE_CHARGE_ID",
    "STORAGE_RATE_PLAN_ID",
    "SUPPORT_FEE_CHARGE_ID",
    "SUPPORT_PRODUCT_ID",
    "SUPPORT_RATE_PLAN_ID",
    "TIERED_RATE_PLAN_ID",
    "TIERED_SEATS_CHARGE_ID",
    "US_RESIDENCY_CHARGE_ID",
    "US_RESIDENCY_RATE_PLAN_ID",
    "Catalog",
    "CatalogRefusalError",
    "ChargeSpec",
    "ProductSpec",
    "RatePlanSpec",
    "TenantData",
    "TierSpec",
    "Violation",
    "ZuoraSim",
    "find_violations",
    "uses_subscriptions_field",
    "validate_request_body",
    "zuora_failure",
]
