"""What a push will do, as the preview shows it and the push does it: the Zuora account, and for an Order the one
Zuora order (its actions, line by line) with every blocking problem in plain words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sfzsync.gateways.salesforce_records import AccountRecord, ContactRecord, OrderLine, OrderRecord
from sfzsync.gateways.zuora import ZuoraAccount
from sfzsync.gateways.zuora_subscriptions import ZuoraSubscription
from sfzsync.send_to_zuora.store import SentOrder
from sfzsync.zuora_orders import QuantityOverride

NEW, AMENDMENT, RENEWAL = "new", "amendment", "renewal"


@dataclass(frozen=True)
class AccountPlan:
    account: AccountRecord
    existing: ZuoraAccount | None
    currency: str
    problems: list[str]
    refusal: str | None = None  # why this user may not push (they still see the preview)

    @property
    def action(self) -> str:
        return f"update Zuora account {self.existing.account_number}" if self.existing else "create a Zuora account"

    def bill_to(self, *, order_api: bool = False, person: ContactRecord | None = None) -> dict[str, Any]:
        """Zuora contact from `person` (default: the Account's first Contact) and its mailing address, else the
        Account's billing address (Orders call the zip `postalCode`)."""
        contact = person or self.account.contact
        assert contact is not None
        address = contact.address if person is not None and contact.address else self.account.billing
        body: dict[str, Any] = {"firstName": contact.first_name or contact.last_name, "lastName": contact.last_name}
        optional = {
            "workEmail": contact.email,
            "workPhone": contact.phone,
            "address1": address.street,
            "city": address.city,
            "state": address.state,
            "country": address.country or self.account.billing.country,
            "postalCode" if order_api else "zipCode": address.postal_code,
        }
        body.update({key: value for key, value in optional.items() if value})
        return body


@dataclass(frozen=True)
class LineAction:
    """What one order product becomes in Zuora. `kind` is an order action type (`ORDER_ACTIONS`) or "none"."""

    line: OrderLine
    kind: str
    text: str
    rate_plan_id: str | None = None  # the product rate plan (Create/Add), or the subscription rate plan (Update/Remove)
    overrides: tuple[QuantityOverride, ...] = ()
    charge_updates: tuple[tuple[str, str, int | float], ...] = ()  # (charge number, pricing key, new quantity)
    day: dt.date | None = None
    origin_id: str | None = None  # the order product whose Zuora rate plan this one changes


@dataclass(frozen=True)
class OrderPlan:
    account_plan: AccountPlan
    order: OrderRecord
    kind: str
    actions: list[LineAction]
    start: dt.date
    problems: list[str]
    term_months: int | None = None
    subscription: ZuoraSubscription | None = None  # amendments and renewals: the subscription they change
    subscription_actions: list[str] = field(default_factory=list)  # "RenewSubscription", "CancelSubscription", ...
    summary: list[str] = field(default_factory=list)  # what Zuora will do, in plain words
    already_sent: SentOrder | None = None
    repair: SentOrder | None = None  # Zuora has it; only Salesforce's write-back is missing

    @property
    def term_label(self) -> str:
        return f"TERMED, {self.term_months} months, renews" if self.term_months else "EVERGREEN"

    @property
    def blocked(self) -> bool:
        return bool(self.problems) or self.account_plan.refusal is not None


@dataclass(frozen=True)
class WriteBackResult:
    """Whether Salesforce got the Zuora numbers (`error` says why not)."""

    written: bool
    error: str | None = None


@dataclass(frozen=True)
class PushOutcome:
    zuora_account_number: str
    account_action: str
    order_number: str | None = None
    subscription_numbers: list[str] = field(default_factory=list)
    already_sent: SentOrder | None = None
    write_back: WriteBackResult | None = None
    repaired: bool = False
