"""The Salesforce org and Zuora tenant that the sample events in events/ meet (demo and tests)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .stack import Sandbox
from .zuora import CHECKOUT_PAYMENT_METHOD_ID, PRO_RATE_PLAN_ID


def checkout_body(
    email: str = "jane.doe@acme.com",
    *,
    company: str | None = "Acme Inc",
    currency: str = "USD",
    first: str = "Jane",
    last: str = "Doe",
    country: str = "US",
    **order: Any,
) -> dict[str, Any]:
    """A valid checkout request body; `order` entries override the order's fields."""
    return {
        "customer": {
            "email": email,
            "firstName": first,
            "lastName": last,
            "company": company,
            "phone": "+1 415 555 0100",
            "address": {
                "line1": "1 Main St",
                "line2": None,
                "city": "San Francisco",
                "state": "CA",
                "postalCode": "94105",
                "country": country,
            },
        },
        "order": {
            "currency": currency,
            "paymentMethodId": CHECKOUT_PAYMENT_METHOD_ID,
            "autoPay": True,
            "subscriptions": [
                {
                    "ratePlans": [{"productRatePlanId": PRO_RATE_PLAN_ID, "quantity": 3}],
                    "term": {
                        "type": "TERMED",
                        "initialTerm": 12,
                        "renewalTerm": 12,
                        "periodType": "Month",
                        "autoRenew": True,
                    },
                }
            ],
            "processingOptions": {"runBilling": True, "collectPayment": True},
            **order,
        },
    }


def seed_demo_data(sandbox: Sandbox) -> None:
    """The Salesforce org and Zuora tenant the sample events meet."""
    sf = sandbox.salesforce
    old = dt.datetime(2019, 3, 1, tzinfo=dt.UTC)
    globex = sf.insert("Account", {"Name": "Globex Corporation", "Website": "https://globex.com"}, created_date=old)
    sf.insert(
        "Contact", {"AccountId": globex, "FirstName": "Maria", "LastName": "Garcia", "Email": "maria.garcia@globex.com"}
    )
    sf.insert("Account", {"Name": "Initech UK", "Website": "https://www.initech.co.uk/about"}, created_date=old)
    sf.insert(
        "Account",
        {"Name": "Initech (newer duplicate)", "Website": "initech.co.uk"},
        created_date=dt.datetime(2024, 6, 1, tzinfo=dt.UTC),
    )
    sf.insert("Account", {"Name": "Gmail Fan Club", "Website": "https://gmail.com"}, created_date=old)
    umbrella = sf.insert("Account", {"Name": "Umbrella Corporation", "Website": "umbrella-corp.com"}, created_date=old)
    sf.insert(
        "Contact",
        {"AccountId": umbrella, "FirstName": "Alice", "LastName": "Abernathy", "Email": "alice@umbrella-corp.com"},
    )
    # Umbrella pays on this billing account, with a card on file: only a checkout that names it may order on it.
    sandbox.zuora.seed_account(
        name="Umbrella Corporation", currency="USD", crm_id=umbrella, account_number=UMBRELLA_BILLING_ACCOUNT
    )


UMBRELLA_BILLING_ACCOUNT = "A00000900"

EXPECTED_MATCHES = {
    "checkout-new-customer": "created",
    "checkout-existing-contact": "contact_email",
    "checkout-company-domain": "account_domain",
    "checkout-free-mail": "created",
    "checkout-named-billing-account": "contact_email",
}


PASSWORD = "sandbox-password-1"
ADMIN = "ann.admin@wayne-demo.com"
REP = "bob.rep@wayne-demo.com"
OUTSIDER = "olga@other-org-demo.com"
OTHER_ORG = "00D000000000777"


@dataclass(frozen=True)
class ButtonData:
    """Ids of the records the Send to Zuora demo and tests use."""

    account_id: str
    order_id: str
    order_number: str
    hidden_account_id: str
    evil_account_id: str
    unmapped_order_id: str


def seed_button_data(sandbox: Sandbox) -> ButtonData:
    """An org with an admin (sees all), a rep (sees own records), an outsider in another org, and CPQ Orders."""
    sf = sandbox.salesforce
    sf.add_user(ADMIN, PASSWORD, name="Ann Admin", view_all=True)
    rep = sf.add_user(REP, PASSWORD, name="Bob Rep")
    sf.add_user(OUTSIDER, PASSWORD, name="Olga Outsider", org_id=OTHER_ORG)
    billing = {
        "BillingStreet": "1007 Mountain Drive",
        "BillingCity": "Gotham",
        "BillingState": "NJ",
        "BillingPostalCode": "07001",
        "BillingCountry": "US",
    }
    account = sf.insert("Account", {"Name": "Wayne Enterprises", **billing}, owner_id=rep)
    sf.insert(
        "Contact",
        {
            "AccountId": account,
            "FirstName": "Lucius",
            "LastName": "Fox",
            "Email": "lucius.fox@wayne-demo.com",
            "Phone": "+1 201 555 0199",
        },
        owner_id=rep,
    )
    hidden = sf.insert("Account", {"Name": "Hidden Holdings", **billing})
    evil = sf.insert("Account", {"Name": "<script>alert(1)</script>", **billing}, owner_id=rep)
    sf.insert(
        "Contact",
        {
            "AccountId": evil,
            "FirstName": "Eve",
            "LastName": "<img src=x onerror=alert(2)>",
            "Email": "eve@evil-demo.com",
        },
        owner_id=rep,
    )
    platform = sf.insert(
        "Product2",
        {
            "Name": "Analytics Platform",
            "ProductCode": "PLAT",
            "Zuora_Product_Rate_Plan_Id__c": "8ad09be48db5aba7018db604776d4854",
            "Zuora_Product_Rate_Plan_Charge_Id__c": "8ad09be48db5aba7018db60477a54856",
        },
    )
    support = sf.insert(
        "Product2",
        {
            "Name": "Premium Support",
            "ProductCode": "SUP",
            "Zuora_Product_Rate_Plan_Id__c": "8ad09be48db5aba7018db6047b2c4860",
        },
    )
    legacy = sf.insert("Product2", {"Name": "Legacy Add-on", "ProductCode": "LEG"})
    order = sf.insert(
        "Order", {"AccountId": account, "EffectiveDate": "2026-12-01", "Status": "Activated"}, owner_id=rep
    )
    for product, quantity in ((platform, 25), (support, 1)):
        sf.insert(
            "OrderItem",
            {
                "OrderId": order,
                "Product2Id": product,
                "Quantity": quantity,
                "UnitPrice": 10,
                "ServiceDate": "2026-12-01",
                "SBQQ__SubscriptionTerm__c": 12,
                "SBQQ__ChargeType__c": "Recurring",
                "SBQQ__BillingFrequency__c": "Monthly",
            },
        )
    unmapped = sf.insert("Order", {"AccountId": account, "EffectiveDate": "2026-12-01"}, owner_id=rep)
    sf.insert(
        "OrderItem",
        {"OrderId": unmapped, "Product2Id": legacy, "Quantity": 1, "UnitPrice": 5, "SBQQ__ChargeType__c": "Recurring"},
    )
    number = str((sf.get("Order", order) or {}).get("OrderNumber"))
    return ButtonData(account, order, number, hidden, evil, unmapped)
