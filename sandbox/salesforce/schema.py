"""The org's sObjects: their fields (kind, relationship, required, writable, picklist values), key prefixes and
child relationships; the standard objects, the CPQ order, contract, quote and subscription fields, the read-only
access objects, and the optional person-account and multi-currency fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD", "JPY")
DEFAULT_PRODUCT2_FIELDS = ("Zuora_Product_Rate_Plan_Id__c", "Zuora_Product_Rate_Plan_Charge_Id__c")
ORDER_STATUSES = ("Draft", "Activated")
CPQ_CHARGE_TYPES = ("One-Time", "Recurring", "Usage")
CPQ_BILLING_FREQUENCIES = ("Monthly", "Quarterly", "Semiannual", "Annual", "Invoice Plan")
CPQ_BILLING_TYPES = ("Advance", "Arrears")
# Order product "Contract Action" (CPQ community article "Link Between Order Products and Amended/Renewed Order
# Products": New, Quantity Increase, Quantity Decrease, Product Swap, Renew) and Cancel, for removed products.
CPQ_CONTRACT_ACTIONS = ("New", "Quantity Increase", "Quantity Decrease", "Product Swap", "Renew", "Cancel")
CPQ_QUOTE_TYPES = ("Quote", "Renewal", "Amendment", "Re-quote")
# The Send to Zuora write-back fields (custom fields of the org under test), registered by default.
ORDER_WRITE_BACK = (
    ("Zuora_Order_Number__c", "string"),
    ("Zuora_Subscription_Number__c", "string"),
    ("Zuora_Sync_Status__c", "picklist"),
    ("Zuora_Sync_Error__c", "textarea"),
    ("Zuora_Last_Sync__c", "datetime"),
)
ORDER_ITEM_WRITE_BACK = (
    ("Zuora_Subscription_Number__c", "string"),
    ("Zuora_Rate_Plan_Id__c", "string"),
    ("Zuora_Charge_Numbers__c", "textarea"),
)
TEXT_KINDS = frozenset({"string", "email", "url", "phone", "picklist", "textarea"})
ID_KINDS = frozenset({"id", "reference"})
FIELD_KINDS = TEXT_KINDS | {"boolean", "double", "date", "datetime"}
SYSTEM_FIELDS = frozenset({"Id", "IsDeleted", "CreatedDate", "LastModifiedDate"})


@dataclass(frozen=True)
class FieldDef:
    name: str
    kind: str = "string"
    target: str | None = None
    relationship: str | None = None
    child_relationship: str | None = None
    required: bool = False
    writable: bool = True
    values: tuple[str, ...] | None = None
    default: Any = None


@dataclass
class SObjectDef:
    name: str
    prefix: str
    fields: dict[str, FieldDef]
    children: dict[str, tuple[str, FieldDef]] = field(default_factory=dict)

    def field(self, name: str) -> FieldDef | None:
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        lowered = name.lower()
        return next((f for f in self.fields.values() if f.relationship and f.relationship.lower() == lowered), None)

    def add(self, definition: FieldDef) -> None:
        self.fields[definition.name.lower()] = definition


def _address(prefix: str) -> list[FieldDef]:
    return [FieldDef(f"{prefix}{part}") for part in ("Street", "City", "State", "PostalCode", "Country")]


def _owner() -> FieldDef:
    return FieldDef("OwnerId", "reference", target="User", relationship="Owner")


def _system_fields() -> list[FieldDef]:
    return [
        FieldDef("Id", "id", writable=False),
        FieldDef("IsDeleted", "boolean", writable=False),
        FieldDef("CreatedDate", "datetime", writable=False),
        FieldDef("LastModifiedDate", "datetime", writable=False),
    ]


def _master_record(sobject: str) -> FieldDef:
    """Set by a merge on the records it deletes: the Id of the record that remained (Object Reference for Salesforce,
    Account and Contact, field MasterRecordId; read through queryAll)."""
    return FieldDef("MasterRecordId", "reference", target=sobject, relationship="MasterRecord", writable=False)


def _currency(currencies: tuple[str, ...], *, writable: bool = True) -> list[FieldDef]:
    """`CurrencyIsoCode` exists only in multi-currency orgs (a restricted picklist of the active currencies)."""
    if not currencies:
        return []
    return [FieldDef("CurrencyIsoCode", "picklist", values=currencies, default=currencies[0], writable=writable)]


def _type_fields(person_accounts: bool, currencies: tuple[str, ...] = ()) -> dict[str, tuple[str, list[FieldDef]]]:
    person = [FieldDef("IsPersonAccount", "boolean", writable=False), FieldDef("PersonEmail", "email")]
    return {
        "Account": (
            "001",
            [
                FieldDef("Name", required=True),
                FieldDef("Website", "url"),
                FieldDef("Phone", "phone"),
                FieldDef("Type", "picklist"),
                FieldDef("AccountSource", "picklist"),
                FieldDef("Industry", "picklist"),
                FieldDef("Description", "textarea"),
                *_address("Billing"),
                *_address("Shipping"),
                _owner(),
                *_currency(currencies),
                *(person if person_accounts else []),
                _master_record("Account"),
            ],
        ),
        "Contact": (
            "003",
            [
                FieldDef("AccountId", "reference", "Account", "Account", "Contacts"),
                FieldDef("FirstName"),
                FieldDef("LastName", required=True),
                FieldDef("Name", writable=False),
                FieldDef("Email", "email"),
                FieldDef("Phone", "phone"),
                FieldDef("Title"),
                *_address("Mailing"),
                _owner(),
                *_currency(currencies),
                _master_record("Contact"),
            ],
        ),
        "User": (
            "005",
            [
                FieldDef("Username", required=True),
                FieldDef("Email", "email"),
                FieldDef("FirstName"),
                FieldDef("LastName"),
                FieldDef("Name", writable=False),
                FieldDef("IsActive", "boolean"),
            ],
        ),
        "Product2": (
            "01t",
            [
                FieldDef("Name", required=True),
                FieldDef("ProductCode"),
                FieldDef("Family", "picklist"),
                FieldDef("Description", "textarea"),
                FieldDef("IsActive", "boolean"),
                *_currency(currencies),
                # The product's default mapping fields (custom fields of the org under test), registered by default.
                *(FieldDef(name) for name in DEFAULT_PRODUCT2_FIELDS),
            ],
        ),
        "Pricebook2": (
            "01s",
            [
                FieldDef("Name", required=True),
                FieldDef("Description", "textarea"),
                FieldDef("IsActive", "boolean"),
                FieldDef("IsStandard", "boolean", writable=False),
            ],
        ),
        "PricebookEntry": (
            "01u",
            [
                FieldDef("Pricebook2Id", "reference", "Pricebook2", "Pricebook2", "PricebookEntries", required=True),
                FieldDef("Product2Id", "reference", "Product2", "Product2", "PricebookEntries", required=True),
                FieldDef("UnitPrice", "double", required=True),
                FieldDef("IsActive", "boolean"),
                FieldDef("UseStandardPrice", "boolean"),
                FieldDef("Name", writable=False),
                FieldDef("ProductCode", writable=False),
                *_currency(currencies),
            ],
        ),
        "Order": (
            "801",
            [
                FieldDef("AccountId", "reference", "Account", "Account", "Orders", required=True),
                FieldDef("Pricebook2Id", "reference", "Pricebook2", "Pricebook2"),
                FieldDef("OrderNumber", writable=False),
                FieldDef("EffectiveDate", "date", required=True),
                FieldDef("EndDate", "date"),
                FieldDef("Status", "picklist", required=True, values=ORDER_STATUSES, default="Draft"),
                FieldDef("Description", "textarea"),
                FieldDef("TotalAmount", "double", writable=False),
                FieldDef("SBQQ__Quote__c", "reference", "SBQQ__Quote__c", "SBQQ__Quote__r"),
                # Order.Type matches its quote's type (CPQ: "the Order's Type field will match its parent Quote's").
                FieldDef("Type", "picklist"),
                FieldDef("BillToContactId", "reference", "Contact", "BillToContact"),
                FieldDef("ShipToContactId", "reference", "Contact", "ShipToContact"),
                FieldDef("ContractId", "reference", "Contract", "Contract"),
                *_write_back(ORDER_WRITE_BACK),
                _owner(),
                *_currency(currencies),
            ],
        ),
        "OrderItem": (
            "802",
            [
                FieldDef("OrderId", "reference", "Order", "Order", "OrderItems", required=True),
                FieldDef("Product2Id", "reference", "Product2", "Product2"),
                FieldDef("PricebookEntryId", "reference", "PricebookEntry", "PricebookEntry"),
                FieldDef("Quantity", "double", required=True),
                FieldDef("UnitPrice", "double"),
                FieldDef("TotalPrice", "double", writable=False),
                FieldDef("ServiceDate", "date"),
                FieldDef("EndDate", "date"),
                FieldDef("Description", "textarea"),
                FieldDef("SBQQ__SubscriptionTerm__c", "double"),
                FieldDef("SBQQ__ChargeType__c", "picklist", values=CPQ_CHARGE_TYPES),
                FieldDef("SBQQ__BillingFrequency__c", "picklist", values=CPQ_BILLING_FREQUENCIES),
                FieldDef("SBQQ__BillingType__c", "picklist", values=CPQ_BILLING_TYPES),
                FieldDef("SBQQ__RevisedOrderProduct__c", "reference", "OrderItem", "SBQQ__RevisedOrderProduct__r"),
                FieldDef("SBQQ__ContractAction__c", "picklist", values=CPQ_CONTRACT_ACTIONS),
                FieldDef("SBQQ__Subscription__c", "reference", "SBQQ__Subscription__c", "SBQQ__Subscription__r"),
                *_write_back(ORDER_ITEM_WRITE_BACK),
                *_currency(currencies, writable=False),
            ],
        ),
        **_cpq_objects(),
        **_access_objects(),
    }


def _write_back(fields: tuple[tuple[str, str], ...]) -> list[FieldDef]:
    return [FieldDef(name, kind) for name, kind in fields]


def _cpq_objects() -> dict[str, tuple[str, list[FieldDef]]]:
    """Salesforce CPQ's contract objects (Help "CPQ Subscription Fields", "CPQ Quote Fields"); custom objects' key
    prefixes are the org's own (a0x here)."""
    return {
        "Contract": (
            "800",
            [
                FieldDef("AccountId", "reference", "Account", "Account", "Contracts", required=True),
                FieldDef("Status", "picklist", values=("Draft", "Activated"), default="Draft"),
                FieldDef("StartDate", "date"),
                FieldDef("EndDate", "date"),
                FieldDef("ContractTerm", "double"),
                FieldDef("SBQQ__Order__c", "reference", "Order", "SBQQ__Order__r"),
                FieldDef("SBQQ__Quote__c", "reference", "SBQQ__Quote__c", "SBQQ__Quote__r"),
                _owner(),
            ],
        ),
        "SBQQ__Quote__c": (
            "a0Q",
            [
                FieldDef("SBQQ__Account__c", "reference", "Account", "SBQQ__Account__r"),
                FieldDef("SBQQ__Type__c", "picklist", values=CPQ_QUOTE_TYPES, default="Quote"),
                FieldDef("SBQQ__SubscriptionTerm__c", "double"),
            ],
        ),
        "SBQQ__Subscription__c": (
            "a0S",
            [
                FieldDef("SBQQ__Account__c", "reference", "Account", "SBQQ__Account__r"),
                FieldDef("SBQQ__Contract__c", "reference", "Contract", "SBQQ__Contract__r"),
                FieldDef("SBQQ__Product__c", "reference", "Product2", "SBQQ__Product__r"),
                FieldDef("SBQQ__Quantity__c", "double"),
                FieldDef("SBQQ__OrderProduct__c", "reference", "OrderItem", "SBQQ__OrderProduct__r"),
            ],
        ),
    }


def _access_objects() -> dict[str, tuple[str, list[FieldDef]]]:
    """Read-only objects answered from sharing and permissions (`sandbox.salesforce.access`)."""
    flags = ("HasReadAccess", "HasEditAccess", "HasDeleteAccess", "HasTransferAccess", "HasAllAccess")
    return {
        "UserRecordAccess": (
            "0UA",
            [
                FieldDef("UserId", "reference", "User", "User", writable=False),
                FieldDef("RecordId", "picklist", writable=False),
                *(FieldDef(flag, "boolean", writable=False) for flag in flags),
                FieldDef("MaxAccessLevel", "picklist", writable=False),
            ],
        ),
        "UserSetupEntityAccess": (
            "0UE",
            [
                FieldDef("DeveloperName", writable=False),
                FieldDef("NamespacePrefix", writable=False),
                FieldDef("SetupEntityId", writable=False),
                FieldDef("SetupEntityType", "picklist", writable=False),
                FieldDef("KeyPrefix", writable=False),
                FieldDef("DurableId", writable=False),
                FieldDef("LastCacheUpdate", "datetime", writable=False),
            ],
        ),
    }


def build_schema(person_accounts: bool, currencies: tuple[str, ...] = ()) -> dict[str, SObjectDef]:
    """The org's objects; `currencies` non-empty means a multi-currency org (first one is the corporate currency)."""
    schema = {
        name: SObjectDef(name, prefix, {f.name.lower(): f for f in [*_system_fields(), *fields]})
        for name, (prefix, fields) in _type_fields(person_accounts, currencies).items()
    }
    for sobject in schema.values():
        for definition in sobject.fields.values():
            if definition.child_relationship and definition.target:
                schema[definition.target].children[definition.child_relationship.lower()] = (sobject.name, definition)
    return schema
