"""What the button reads from Salesforce with the signed-in user's token: Account, Contacts, a CPQ Order with its
order products, what earlier pushes wrote back, and what the user may do with the record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Address:
    street: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str | None


@dataclass(frozen=True)
class ContactRecord:
    first_name: str | None
    last_name: str
    email: str | None
    phone: str | None
    address: Address | None = None


@dataclass(frozen=True)
class RecordAccess:
    """UserRecordAccess.HasEditAccess for the record, and whether the user holds the configured Custom Permission
    (None: no permission is configured)."""

    can_edit: bool = True
    has_permission: bool | None = None


@dataclass(frozen=True)
class AccountRecord:
    account_id: str
    name: str
    currency: str | None
    billing: Address
    contact: ContactRecord | None
    access: RecordAccess = field(default_factory=RecordAccess)


@dataclass(frozen=True)
class LineWriteBack:
    """What an earlier push wrote onto an order product."""

    subscription_number: str | None = None
    rate_plan_id: str | None = None
    charge_numbers: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrderWriteBackValues:
    """What an earlier push wrote onto the Order."""

    order_number: str | None = None
    subscription_number: str | None = None
    sync_status: str | None = None


@dataclass(frozen=True)
class OrderLine:
    item_id: str
    product_name: str
    rate_plan_id: str | None  # the Product2 mapping field
    charge_id: str | None
    quantity: float
    service_date: dt.date | None
    end_date: dt.date | None
    term_months: int | None
    charge_type: str | None
    billing_frequency: str | None
    product_id: str | None = None
    revised_item_id: str | None = None  # SBQQ__RevisedOrderProduct__c: the order product an amendment changes
    subscribed_item_id: str | None = None  # SBQQ__Subscription__r.SBQQ__OrderProduct__c: the one it renews
    contract_action: str | None = None  # SBQQ__ContractAction__c
    written: LineWriteBack = field(default_factory=LineWriteBack)

    @property
    def origin_id(self) -> str | None:
        """The earlier order product this one changes or renews (None: a new product)."""
        return self.revised_item_id or self.subscribed_item_id


@dataclass(frozen=True)
class OriginLine:
    """An earlier order product an amendment or renewal refers to, as Salesforce knows it now: its quantity after
    the revisions already sent, and where Zuora has it (from the write-back)."""

    item_id: str
    order_id: str
    product_name: str
    quantity: float
    written: LineWriteBack = field(default_factory=LineWriteBack)


@dataclass(frozen=True)
class OrderRecord:
    order_id: str
    order_number: str
    account_id: str
    effective_date: dt.date | None
    status: str
    lines: list[OrderLine]
    order_type: str | None = None  # Order.Type
    quote_type: str | None = None  # SBQQ__Quote__r.SBQQ__Type__c
    bill_to: ContactRecord | None = None
    ship_to: ContactRecord | None = None
    contract_order_id: str | None = None  # Contract.SBQQ__Order__c: the Order that made the contract
    contract_subscription_number: str | None = None  # that Order's write-back
    written: OrderWriteBackValues = field(default_factory=OrderWriteBackValues)
    origins: dict[str, OriginLine] = field(default_factory=dict)
    access: RecordAccess = field(default_factory=RecordAccess)
