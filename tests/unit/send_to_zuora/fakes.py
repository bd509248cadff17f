"""What the button's unit tests share: a signed-in session, Salesforce records, and fakes of the Zuora gateway, the
push store and the write-back writer."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field, replace
from typing import Any

from sfzsync.catalog import CatalogCharge, CatalogRatePlan
from sfzsync.errors import UpstreamError
from sfzsync.gateways.dynamodb import HeldLock
from sfzsync.gateways.salesforce_records import (
    AccountRecord,
    Address,
    ContactRecord,
    LineWriteBack,
    OrderLine,
    OrderRecord,
    OriginLine,
)
from sfzsync.gateways.zuora import OrderResult, ZuoraAccount
from sfzsync.gateways.zuora_subscriptions import (
    SubscriptionCharge,
    SubscriptionRatePlan,
    ZuoraSubscription,
)
from sfzsync.operations.ledger import Failure
from sfzsync.send_to_zuora.cookies import UserSession
from sfzsync.send_to_zuora.flow import SendToZuoraFlow
from sfzsync.send_to_zuora.store import PushRecord, SentOrder
from sfzsync.settings import SendToZuoraSettings

ALLOWED = ["acme.my.salesforce.com"]
KEY = "k" * 40
ORG = "00D000000000001AAA"
PRO, SEATS, FEE = "8ad0rateplan01", "8ad0charge01", "8ad0charge02"
SUPPORT, SUPPORT_FEE = "8ad0rateplan02", "8ad0charge03"
STORAGE, BLOCKS = "8ad0rateplan03", "8ad0charge04"
ONBOARDING, SESSIONS = "8ad0rateplan04", "8ad0charge05"
STORAGE_PRODUCT = "01t000000000003AAA"
CATALOG = {
    PRO: CatalogRatePlan(
        PRO,
        "Pro",
        (
            CatalogCharge(SEATS, "Seats", "Recurring", "PerUnit", frozenset({"USD"})),
            CatalogCharge(FEE, "Platform fee", "Recurring", "FlatFee", frozenset({"USD"})),
        ),
    ),
    SUPPORT: CatalogRatePlan(
        SUPPORT, "Support", (CatalogCharge(SUPPORT_FEE, "Fee", "Recurring", "FlatFee", frozenset({"USD"})),)
    ),
    STORAGE: CatalogRatePlan(
        STORAGE, "Storage", (CatalogCharge(BLOCKS, "Blocks", "Recurring", "PerUnit", frozenset({"USD"})),)
    ),
    ONBOARDING: CatalogRatePlan(
        ONBOARDING, "Onboarding", (CatalogCharge(SESSIONS, "Sessions", "OneTime", "PerUnit", frozenset({"USD"})),)
    ),
}
SUBSCRIPTION = "A-S00000001"


def session(**changes: object) -> UserSession:
    base = UserSession(
        "sid-1",
        "005000000000001AAA",
        ORG,
        "acme.my.salesforce.com",
        "token",
        "https://acme.my.salesforce.com",
        "Ann Admin",
        time.time() + 600,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def zuora_plan(
    plan_id: str,
    product_plan: str,
    charges: list[tuple[str, str, str, float | None]],
    item: str,
    *,
    removed: bool = False,
) -> SubscriptionRatePlan:
    return SubscriptionRatePlan(
        plan_id,
        plan_id,
        product_plan,
        product_plan,
        "Remove" if removed else None,
        tuple(
            SubscriptionCharge(f"c{n}", number, number, kind, model, prpc, quantity)
            for n, (number, kind, model, quantity), prpc in zip(
                range(len(charges)),
                charges,
                [CATALOG[product_plan].charges[i].charge_id for i in range(len(charges))],
                strict=True,
            )
        ),
        {"SalesforceOrderItemId__c": item},
    )


def subscription(*plans: SubscriptionRatePlan, term_type: str = "TERMED", status: str = "Active") -> ZuoraSubscription:
    return ZuoraSubscription(
        "sub-id",
        SUBSCRIPTION,
        1,
        "A00000001",
        status,
        term_type,
        12,
        "Month",
        "2027-12-01",
        plans,
        {"SalesforceOrderId__c": "801000000000001AAA"},
    )


@dataclass
class FakeZuora:
    accounts: list[ZuoraAccount] = field(default_factory=list)
    subscriptions: dict[str, ZuoraSubscription] = field(default_factory=dict)
    external_ids: dict[str, list[str]] = field(default_factory=dict)
    orders: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    created_accounts: list[dict[str, Any]] = field(default_factory=list)
    refuse: UpstreamError | None = None

    def find_accounts_by_crm_id(self, crm_id: str) -> list[ZuoraAccount]:
        return self.accounts

    def get_rate_plan(self, rate_plan_id: str) -> CatalogRatePlan | None:
        return CATALOG.get(rate_plan_id)

    def rate_plan_ids_by_external_id(self, external_id: str) -> list[str]:
        return self.external_ids.get(external_id, [])

    def get_subscription(self, key: str) -> ZuoraSubscription | None:
        return self.subscriptions.get(key)

    def subscriptions_of_account(self, account_key: str) -> list[ZuoraSubscription]:
        return list(self.subscriptions.values())

    def create_order(self, body: dict[str, Any], idempotency_key: str) -> OrderResult:
        if self.refuse:
            raise self.refuse
        self.orders.append((body, idempotency_key))
        return OrderResult("O-00000001", "A00000001", "Completed", [SUBSCRIPTION])

    def create_account(self, body: dict[str, Any], idempotency_key: str) -> ZuoraAccount:
        self.created_accounts.append(body)
        return ZuoraAccount("id1", "A00000001", str(body["currency"]), "Active")

    def update_account(self, account_key: str, body: dict[str, Any], stage: str = "zuora_account") -> None:
        return None


@dataclass
class FakeStore:
    records: dict[str, PushRecord] = field(default_factory=dict)

    def acquire_lock(self, name: str, wait_seconds: float) -> HeldLock:
        return HeldLock(name, "owner")

    def release_lock(self, lock: HeldLock) -> None:
        return None

    def get_push(self, org_id: str, record_id: str) -> PushRecord:
        return self.records.get(record_id, PushRecord())

    def read_pushes(self, org_id: str, record_ids: list[str]) -> None:
        return None

    def bump_push_attempt(self, org_id: str, record_id: str) -> None:
        record = self.get_push(org_id, record_id)
        self.records[record_id] = replace(record, attempt=record.attempt + 1)

    def mark_sent(self, org_id: str, order_id: str, sent: SentOrder) -> None:
        self.records[order_id] = replace(self.get_push(org_id, order_id), sent=sent)

    def begin_push(self) -> None:
        return None

    def record_failure(self, org_id: str, record_id: str, failure: Failure) -> None:
        self.records[record_id] = replace(self.get_push(org_id, record_id), failure_pending=True)

    def resolve_failure(self, org_id: str, record_id: str) -> None:
        self.records[record_id] = replace(self.get_push(org_id, record_id), failure_pending=False)


@dataclass
class FakeWriter:
    written: list[list[tuple[str, str, dict[str, Any]]]] = field(default_factory=list)
    fail: UpstreamError | None = None

    def update_records(self, records: list[tuple[str, str, dict[str, Any]]]) -> None:
        if self.fail:
            raise self.fail
        self.written.append(records)


ACCOUNT = AccountRecord(
    "001000000000001AAA",
    "Acme <Corp>",
    None,
    Address("1 Main St", "Springfield", "IL", "62701", "US"),
    ContactRecord("Ann", "Lee", "ann@acme.com", None),
)


def line(**changes: object) -> OrderLine:
    base = OrderLine(
        "802000000000001AAA",
        "Platform",
        PRO,
        SEATS,
        3.0,
        dt.date(2026, 12, 1),
        None,
        12,
        "Recurring",
        "Monthly",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def order(*lines: OrderLine, **changes: object) -> OrderRecord:
    base = OrderRecord(
        "801000000000002AAA", "00000101", ACCOUNT.account_id, dt.date(2027, 3, 1), "Activated", list(lines)
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def origin(
    item_id: str, quantity: float, rate_plan_id: str | None = None, number: str | None = SUBSCRIPTION
) -> OriginLine:
    return OriginLine(item_id, "801000000000001AAA", "Platform", quantity, LineWriteBack(number, rate_plan_id))


def flow(
    accounts: list[ZuoraAccount] | None = None,
    zuora: FakeZuora | None = None,
    store: FakeStore | None = None,
    writer: FakeWriter | None = None,
    settings: SendToZuoraSettings | None = None,
) -> SendToZuoraFlow:
    return SendToZuoraFlow(
        zuora or FakeZuora(accounts or []),
        store or FakeStore(),
        settings or SendToZuoraSettings(),
        ORG,
        writer or FakeWriter(),
    )
