"""In-memory fakes of the gateway and store interfaces, for running the checkout flow with no server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sfzsync.checkout.catalog import CatalogCharge, CatalogRatePlan, ProductCatalog
from sfzsync.checkout.flow import CheckoutDependencies
from sfzsync.checkout.store import Checkpoint, Progress
from sfzsync.errors import UpstreamError
from sfzsync.gateways.dynamodb import HeldLock
from sfzsync.gateways.salesforce import CreatedAccount
from sfzsync.gateways.zuora import OrderResult, PaymentMethod, ZuoraAccount
from sfzsync.operations.ledger import Failure

PRO = "8ad09be48db5aba7018db604776d4854"
SEATS = "8ad09be48db5aba7018db60477a54856"
PLATFORM_FEE = "8ad09be48db5aba7018db60477a54857"
SUPPORT = "8ad09be48db5aba7018db6047b2c4860"
USD_ONLY = "8ad09be48db5aba7018db6047b2c4870"
CARD = "8ad0950c8c4b7d1d018c5e4f1c7a0aa1"  # an orphan card, as the hosted payment page makes it

CATALOG = {
    PRO: CatalogRatePlan(
        PRO,
        "Pro",
        (
            CatalogCharge(SEATS, "Seats", "Recurring", "PerUnit", frozenset({"USD", "EUR"})),
            CatalogCharge(PLATFORM_FEE, "Platform fee", "Recurring", "FlatFee", frozenset({"USD", "EUR"})),
        ),
    ),
    SUPPORT: CatalogRatePlan(
        SUPPORT, "Support", (CatalogCharge("c-support", "Support", "Recurring", "FlatFee", frozenset({"USD", "EUR"})),)
    ),
    USD_ONLY: CatalogRatePlan(
        USD_ONLY, "US only", (CatalogCharge("c-us", "Seats", "Recurring", "PerUnit", frozenset({"USD"})),)
    ),
}


@dataclass
class FakeSalesforce:
    """Answers lookups from `results` (rule name → records) and creates Accounts with generated Ids."""

    results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    queries: list[dict[str, str]] = field(default_factory=list)
    created: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def run_queries(self, queries: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
        self.queries.append(dict(queries))
        return {name: self.results.get(name, []) for name in queries}

    def create_account_with_contact(self, account: dict[str, Any], contact: dict[str, Any]) -> CreatedAccount:
        self.created.append((account, contact))
        return CreatedAccount(f"001000000000{len(self.created):03d}AAA", duplicate_of_existing=False)

    @property
    def writes(self) -> int:
        return len(self.created)


@dataclass
class FakeZuora:
    accounts: dict[str, ZuoraAccount] = field(default_factory=dict)
    plans: dict[str, CatalogRatePlan] = field(default_factory=lambda: dict(CATALOG))
    orders: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    catalog_reads: list[str] = field(default_factory=list)
    refuse_orders: bool = False
    payment_methods: dict[str, PaymentMethod] = field(
        default_factory=lambda: {CARD: PaymentMethod(CARD, None, "Active")}
    )

    def find_accounts_by_crm_id(self, crm_id: str) -> list[ZuoraAccount]:
        return [a for a in self.accounts.values() if a.crm_id == crm_id]

    def get_account(self, account_key: str) -> ZuoraAccount | None:
        return self.accounts.get(account_key)

    def get_rate_plan(self, rate_plan_id: str) -> CatalogRatePlan | None:
        self.catalog_reads.append(rate_plan_id)
        return self.plans.get(rate_plan_id)

    def get_payment_method(self, payment_method_id: str) -> PaymentMethod | None:
        return self.payment_methods.get(payment_method_id)

    def create_order(self, body: dict[str, Any], idempotency_key: str) -> OrderResult:
        if self.refuse_orders:
            raise UpstreamError("zuora_order", "53100020", "refused", retryable=False, definitive=True)
        self.orders.append((body, idempotency_key))
        number = body.get("existingAccountNumber") or f"NEW{len(self.orders):05d}"
        return OrderResult(f"O-{len(self.orders):08d}", number, "Completed", [f"A-S{len(self.orders):08d}"])

    def create_account(self, body: dict[str, Any], idempotency_key: str) -> ZuoraAccount:
        raise NotImplementedError

    def update_account(self, account_key: str, body: dict[str, Any], stage: str = "zuora_account") -> None:
        self.updates.append((account_key, body))
        if "crmId" in body:
            self.accounts[account_key] = replace(self.accounts[account_key], crm_id=body["crmId"])

    @property
    def writes(self) -> int:
        return len(self.orders) + len(self.updates)


@dataclass
class FakeStore:
    checkpoints: dict[str, Checkpoint] = field(default_factory=dict)
    failures: dict[str, Failure] = field(default_factory=dict)
    resolved: list[str] = field(default_factory=list)
    locks_taken: int = 0

    def get_progress(self, idempotency_key: str) -> Progress:
        return Progress(self.checkpoints.get(idempotency_key), idempotency_key in self.failures)

    def record_failure(self, idempotency_key: str, failure: Failure, customer: str | None) -> None:
        self.failures[idempotency_key] = failure

    def resolve_failure(self, idempotency_key: str) -> None:
        self.resolved.append(idempotency_key)
        self.failures.pop(idempotency_key, None)

    def acquire_lock(self, customer_key: str, wait_seconds: float, idempotency_key: str = "") -> HeldLock:
        self.locks_taken += 1
        return HeldLock(customer_key, idempotency_key)

    def release_lock(self, lock: HeldLock | None, idempotency_key: str, checkpoint: Checkpoint | None) -> None:
        if checkpoint is not None:
            self.checkpoints[idempotency_key] = checkpoint


@dataclass
class World:
    salesforce: FakeSalesforce = field(default_factory=FakeSalesforce)
    zuora: FakeZuora = field(default_factory=FakeZuora)
    store: FakeStore = field(default_factory=FakeStore)

    def deps(self, rules: tuple[str, ...] = ("contact_email", "account_domain")) -> CheckoutDependencies:
        return CheckoutDependencies(
            salesforce=self.salesforce,
            zuora=self.zuora,
            catalog=ProductCatalog(self.zuora.get_rate_plan),
            store=self.store,
            rules=rules,
            domain_field=None,
            account_defaults={},
            lock_wait_seconds=1.0,
        )
