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


READER = "rita.reader@wayne-demo.com"
EXTRA_STORAGE_RATE_PLAN_ID = "8ad09be48db5aba7018db604e1a04880"
EXTRA_STORAGE_CHARGE_ID = "8ad09be48db5aba7018db604e1be4882"


@dataclass(frozen=True)
class Lifecycle:
    """One CPQ contract's Orders, in the order they are sent: the new Order (Analytics Platform x 25, Premium Support),
    an amendment (+2 Analytics, remove Support, add Extra Storage x 10: a Product2 without the mapping field that
    Zuora knows by its externally managed plan id), a renewal (Analytics 27 -> 30, 12 more months) and a cancellation
    (every product removed)."""

    new_order_id: str
    amendment_id: str
    renewal_id: str
    cancellation_id: str
    platform_item_id: str
    support_item_id: str
    storage_product_id: str
    legacy_amendment_id: str  # an amendment adding a product Zuora does not know
    reader_id: str


def seed_lifecycle(sandbox: Sandbox, data: ButtonData) -> Lifecycle:
    """The CPQ records of `Lifecycle` on top of `seed_button_data`, and the Zuora rate plan of Extra Storage."""
    sf = sandbox.salesforce
    storage = sf.insert("Product2", {"Name": "Extra Storage", "ProductCode": "STOR"})
    sandbox.zuora.seed_rate_plan(
        "Analytics Platform",
        EXTRA_STORAGE_RATE_PLAN_ID,
        name="Extra storage",
        externally_managed_plan_id=storage,
        external_id_source_system="SalesforceCPQ",
        charges=[
            {
                "id": EXTRA_STORAGE_CHARGE_ID,
                "name": "Storage blocks",
                "chargeModel": "PerUnit",
                "chargeType": "Recurring",
                "uom": "Block",
                "prices": {"USD": 5},
            }
        ],
    )
    legacy = next(p["Id"] for p in sf.records("Product2") if p["Name"] == "Legacy Add-on")
    rep = next(u.user_id for u in sf.users.values() if u.username == REP)
    reader = sf.add_user(READER, PASSWORD, name="Rita Reader")
    for record in (data.account_id, data.order_id):
        sf.share(record, reader, "Read")
    platform_item, support_item = (i["Id"] for i in sf.records("OrderItem") if i["OrderId"] == data.order_id)
    contract = sf.insert(
        "Contract", {"AccountId": data.account_id, "SBQQ__Order__c": data.order_id, "StartDate": "2026-12-01"}
    )
    term = {"SBQQ__SubscriptionTerm__c": 12, "SBQQ__ChargeType__c": "Recurring", "SBQQ__BillingFrequency__c": "Monthly"}

    def order(date: str, kind: str | None, quote: str | None = None) -> str:
        fields = {"AccountId": data.account_id, "EffectiveDate": date, "Status": "Activated", "ContractId": contract}
        fields |= {"Type": kind} if kind else {}
        fields |= {"SBQQ__Quote__c": sf.insert("SBQQ__Quote__c", {"SBQQ__Type__c": quote})} if quote else {}
        return sf.insert("Order", fields, owner_id=rep)

    def item(order_id: str, product: str, quantity: float, **fields: Any) -> str:
        values = {"OrderId": order_id, "Product2Id": product, "Quantity": quantity, "UnitPrice": 10, **term}
        return sf.insert("OrderItem", {**values, **fields})

    platform = next(p["Id"] for p in sf.records("Product2") if p["Name"] == "Analytics Platform")
    support = next(p["Id"] for p in sf.records("Product2") if p["Name"] == "Premium Support")
    amendment = order("2027-03-01", "Amendment")
    item(
        amendment, platform, 2, SBQQ__RevisedOrderProduct__c=platform_item, SBQQ__ContractAction__c="Quantity Increase"
    )
    item(amendment, support, -1, SBQQ__RevisedOrderProduct__c=support_item, SBQQ__ContractAction__c="Cancel")
    storage_item = item(amendment, storage, 10, SBQQ__ContractAction__c="New")

    def subscription(product: str, quantity: float, order_product: str) -> str:
        values = {"SBQQ__Account__c": data.account_id, "SBQQ__Contract__c": contract, "SBQQ__Product__c": product}
        return sf.insert(
            "SBQQ__Subscription__c", {**values, "SBQQ__Quantity__c": quantity, "SBQQ__OrderProduct__c": order_product}
        )

    renewal = order("2027-12-01", None, quote="Renewal")
    renewed_platform = item(
        renewal,
        platform,
        30,
        SBQQ__Subscription__c=subscription(platform, 27, platform_item),
        SBQQ__ContractAction__c="Renew",
    )
    renewed_storage = item(
        renewal,
        storage,
        10,
        SBQQ__Subscription__c=subscription(storage, 10, storage_item),
        SBQQ__ContractAction__c="Renew",
    )
    cancellation = order("2028-02-01", "Amendment")
    item(cancellation, platform, -30, SBQQ__RevisedOrderProduct__c=renewed_platform, SBQQ__ContractAction__c="Cancel")
    item(cancellation, storage, -10, SBQQ__RevisedOrderProduct__c=renewed_storage, SBQQ__ContractAction__c="Cancel")
    legacy_amendment = order("2027-03-01", "Amendment")
    item(legacy_amendment, legacy, 1, SBQQ__ContractAction__c="New")
    return Lifecycle(
        data.order_id, amendment, renewal, cancellation, platform_item, support_item, storage, legacy_amendment, reader
    )
