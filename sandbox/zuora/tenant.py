"""The sandbox tenant's default data (``SANDBOX_TENANT``): the catalog and the orphan credit cards a reset Zuora
simulator holds, and the ids of its products, rate plans, charges and cards that tests and sample events name."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.zuora.catalog import ProductSpec

PRO_RATE_PLAN_ID = "8ad09be48db5aba7018db604776d4854"  # the rate plan of the sample checkout bodies
SEATS_CHARGE_ID = "8ad09be48db5aba7018db60477a54856"  # its per-unit charge: the checkout's quantity goes here
PLATFORM_FEE_CHARGE_ID = "8ad09be48db5aba7018db60477c44858"
SUPPORT_RATE_PLAN_ID = "8ad09be48db5aba7018db6047b2c4860"
SUPPORT_FEE_CHARGE_ID = "8ad09be48db5aba7018db6047b4a4862"
TIERED_RATE_PLAN_ID = "8ad09be48db5aba7018db6047d104864"
TIERED_SEATS_CHARGE_ID = "8ad09be48db5aba7018db6047d2e4866"
STORAGE_RATE_PLAN_ID = "8ad09be48db5aba7018db6047e404868"
STORAGE_CHARGE_ID = "8ad09be48db5aba7018db6047e5e486a"
US_RESIDENCY_RATE_PLAN_ID = "8ad09be48db5aba7018db604806c486c"
US_RESIDENCY_CHARGE_ID = "8ad09be48db5aba7018db604808a486e"
ONBOARDING_RATE_PLAN_ID = "8ad09be48db5aba7018db604819c4870"
ONBOARDING_CHARGE_ID = "8ad09be48db5aba7018db60481ba4872"
ANALYTICS_PRODUCT_ID = "8ad09be48db5aba7018db60476f04850"
SUPPORT_PRODUCT_ID = "8ad09be48db5aba7018db6047af04852"
SERVICES_PRODUCT_ID = "8ad09be48db5aba7018db60481704856"

CHECKOUT_PAYMENT_METHOD_ID = "8ad0950c8c4b7d1d018c5e4f1c7a0aa1"  # the orphan card of the sample checkout bodies
SPARE_PAYMENT_METHODS = (  # more orphan cards, for tests that need several customers to pay
    "8ad0950c8c4b7d1d018c5e4f1c7a0aa2",
    "8ad0950c8c4b7d1d018c5e4f1c7a0aa3",
    "8ad0950c8c4b7d1d018c5e4f1c7a0aa4",
    "8ad0950c8c4b7d1d018c5e4f1c7a0aa5",
    "8ad0950c8c4b7d1d018c5e4f1c7a0aa6",
)


@dataclass(frozen=True)
class TenantData:
    """What a reset simulator holds: its catalog and the orphan credit cards a hosted payment page created."""

    products: tuple[ProductSpec, ...]
    orphan_payment_methods: tuple[str, ...]


SANDBOX_TENANT = TenantData(
    products=(
        {
            "id": ANALYTICS_PRODUCT_ID,
            "name": "Analytics Platform",
            "sku": "SKU-ANALYTICS",
            "ratePlans": [
                {
                    "id": PRO_RATE_PLAN_ID,
                    "name": "Pro",
                    "charges": [
                        {
                            "id": SEATS_CHARGE_ID,
                            "name": "Seats",
                            "chargeModel": "PerUnit",
                            "chargeType": "Recurring",
                            "uom": "Seat",
                            "defaultQuantity": 1,
                            "prices": {"USD": 10, "EUR": 9, "GBP": 8},
                        },
                        {
                            "id": PLATFORM_FEE_CHARGE_ID,
                            "name": "Platform fee",
                            "chargeModel": "FlatFee",
                            "chargeType": "Recurring",
                            "prices": {"USD": 100, "EUR": 90, "GBP": 80},
                        },
                    ],
                },
                {
                    "id": TIERED_RATE_PLAN_ID,
                    "name": "Pro (tiered seats)",
                    "charges": [
                        {
                            "id": TIERED_SEATS_CHARGE_ID,
                            "name": "Tiered seats",
                            "chargeModel": "Tiered",
                            "chargeType": "Recurring",
                            "uom": "Seat",
                            "defaultQuantity": 1,
                            "tiers": {
                                "USD": [
                                    {"startingUnit": 1, "endingUnit": 10, "price": 10},
                                    {"startingUnit": 11, "price": 8},
                                ],
                                "EUR": [
                                    {"startingUnit": 1, "endingUnit": 10, "price": 9},
                                    {"startingUnit": 11, "price": 7},
                                ],
                            },
                        }
                    ],
                },
                {
                    "id": STORAGE_RATE_PLAN_ID,
                    "name": "Storage",
                    "charges": [
                        {
                            "id": STORAGE_CHARGE_ID,
                            "name": "Storage",
                            "chargeModel": "Volume",
                            "chargeType": "Recurring",
                            "uom": "GB",
                            "defaultQuantity": 100,
                            "tiers": {
                                "USD": [
                                    {"startingUnit": 1, "endingUnit": 100, "price": 50, "priceFormat": "FlatFee"},
                                    {"startingUnit": 101, "endingUnit": 1000, "price": 0.45},
                                    {"startingUnit": 1001, "price": 0.4},
                                ],
                                "EUR": [
                                    {"startingUnit": 1, "endingUnit": 100, "price": 45, "priceFormat": "FlatFee"},
                                    {"startingUnit": 101, "endingUnit": 1000, "price": 0.4},
                                    {"startingUnit": 1001, "price": 0.35},
                                ],
                            },
                        }
                    ],
                },
                {
                    "id": US_RESIDENCY_RATE_PLAN_ID,
                    "name": "US data residency",
                    "charges": [
                        {
                            "id": US_RESIDENCY_CHARGE_ID,
                            "name": "US data residency fee",
                            "chargeModel": "FlatFee",
                            "chargeType": "Recurring",
                            "prices": {"USD": 25},
                        }
                    ],
                },
            ],
        },
        {
            "id": SUPPORT_PRODUCT_ID,
            "name": "Premium Support",
            "sku": "SKU-SUPPORT",
            "ratePlans": [
                {
                    "id": SUPPORT_RATE_PLAN_ID,
                    "name": "Premium Support",
                    "charges": [
                        {
                            "id": SUPPORT_FEE_CHARGE_ID,
                            "name": "Support fee",
                            "chargeModel": "FlatFee",
                            "chargeType": "Recurring",
                            "prices": {"USD": 50, "EUR": 45, "GBP": 40},
                        }
                    ],
                }
            ],
        },
        {
            "id": SERVICES_PRODUCT_ID,
            "name": "Professional Services",
            "sku": "SKU-SERVICES",
            "ratePlans": [
                {
                    "id": ONBOARDING_RATE_PLAN_ID,
                    "name": "Onboarding",
                    "charges": [
                        {
                            "id": ONBOARDING_CHARGE_ID,
                            "name": "Onboarding session",
                            "chargeModel": "PerUnit",
                            "chargeType": "OneTime",
                            "uom": "Session",
                            "defaultQuantity": 1,
                            "prices": {"USD": 150, "EUR": 135, "GBP": 120},
                        }
                    ],
                }
            ],
        },
    ),
    orphan_payment_methods=(CHECKOUT_PAYMENT_METHOD_ID, *SPARE_PAYMENT_METHODS),
)
