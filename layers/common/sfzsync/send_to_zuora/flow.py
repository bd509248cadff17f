"""The Send to Zuora flow: what a Salesforce Account or CPQ Order becomes in Zuora (plan), then doing it (push)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from sfzsync.errors import PushBlockedError, UpstreamError
from sfzsync.gateways.salesforce_user import AccountRecord, OrderLine, OrderRecord
from sfzsync.gateways.zuora import ZuoraAccount, ZuoraGateway
from sfzsync.observability import logger, metrics
from sfzsync.send_to_zuora.store import PushStore, SentOrder
from sfzsync.settings import SendToZuoraSettings
from sfzsync.zuora_orders import QuantityOverride, SubscriptionTerm, new_subscription, rate_plan_body

PRICING_BY_CHARGE_TYPE = {"Recurring": "recurringPerUnit", "One-Time": "oneTimePerUnit"}


@dataclass(frozen=True)
class AccountPlan:
    account: AccountRecord
    existing: ZuoraAccount | None
    currency: str
    problems: list[str]

    @property
    def action(self) -> str:
        return f"update Zuora account {self.existing.account_number}" if self.existing else "create a Zuora account"

    def bill_to(self, *, order_api: bool = False) -> dict[str, Any]:
        """Zuora contact from the Account's billing address and its Contact (Orders call the zip `postalCode`)."""
        contact, billing = self.account.contact, self.account.billing
        assert contact is not None
        body: dict[str, Any] = {"firstName": contact.first_name or contact.last_name, "lastName": contact.last_name}
        optional = {
            "workEmail": contact.email,
            "workPhone": contact.phone,
            "address1": billing.street,
            "city": billing.city,
            "state": billing.state,
            "country": billing.country,
            "postalCode" if order_api else "zipCode": billing.postal_code,
        }
        body.update({key: value for key, value in optional.items() if value})
        return body


@dataclass(frozen=True)
class LinePlan:
    line: OrderLine
    start: dt.date | None
    term: str


@dataclass(frozen=True)
class OrderPlan:
    account_plan: AccountPlan
    order: OrderRecord
    lines: list[LinePlan]
    term_months: int | None
    start: dt.date
    problems: list[str]
    already_sent: SentOrder | None = None

    @property
    def term_label(self) -> str:
        return f"TERMED, {self.term_months} months, renews" if self.term_months else "EVERGREEN"


@dataclass(frozen=True)
class PushOutcome:
    zuora_account_number: str
    account_action: str
    order_number: str | None = None
    subscription_numbers: list[str] = field(default_factory=list)
    already_sent: SentOrder | None = None


class SendToZuoraFlow:
    """Plans read Salesforce (already done by the caller, with the user's token) and Zuora; pushes write Zuora."""

    def __init__(
        self,
        zuora: ZuoraGateway,
        store: PushStore,
        settings: SendToZuoraSettings,
        org_id: str,
        lock_wait_seconds: float = 8.0,
    ) -> None:
        self._zuora = zuora
        self._store = store
        self._settings = settings
        self._org_id = org_id
        self._lock_wait = lock_wait_seconds

    # --- plans (read only) ---------------------------------------------------------------------
    def plan_account(self, account: AccountRecord) -> AccountPlan:
        problems = []
        if not account.billing.country:
            problems.append(f'Account "{account.name}" has no Billing Country: Zuora needs it for tax and invoices.')
        if account.contact is None:
            problems.append(f'Account "{account.name}" has no Contact: add the person Zuora should bill.')
        existing = self._existing_account(account.account_id)
        currency = existing.currency if existing else (account.currency or self._settings.defaultCurrency)
        return AccountPlan(account, existing, currency, problems)

    def plan_order(self, order: OrderRecord, account: AccountRecord) -> OrderPlan:
        account_plan = self.plan_account(account)
        problems = list(account_plan.problems)
        sent = self._store.get_push(self._org_id, order.order_id).sent
        if sent:
            problems.append(
                f"Order {order.order_number} was already sent to Zuora on {sent.sent_at[:10]} as order "
                f"{sent.order_number}; sending it again would bill the customer twice."
            )
        if not order.lines:
            problems.append(f"Order {order.order_number} has no products.")
        terms = sorted({line.term_months for line in order.lines if line.term_months})
        if len(terms) > 1:
            problems.append(
                f"The products have different subscription terms ({', '.join(map(str, terms))} months); "
                "one Zuora subscription has one term: split the Order."
            )
        problems.extend(self._line_problems(order.lines))
        start = order.effective_date or min(
            (ln.service_date for ln in order.lines if ln.service_date), default=dt.datetime.now(dt.UTC).date()
        )
        term_label = f"{terms[0]} months" if len(terms) == 1 else "evergreen"
        lines = [LinePlan(line, line.service_date or start, term_label) for line in order.lines]
        return OrderPlan(account_plan, order, lines, terms[0] if len(terms) == 1 else None, start, problems, sent)

    def _line_problems(self, lines: list[OrderLine]) -> list[str]:
        problems = []
        for line in lines:
            if not line.rate_plan_id:
                problems.append(
                    f'Product "{line.product_name}" has no Zuora product rate plan: fill '
                    f"{self._settings.productRatePlanField} on the Product."
                )
            needs_charge = line.quantity != 1 and line.charge_type in PRICING_BY_CHARGE_TYPE
            if needs_charge and not line.charge_id:
                problems.append(
                    f'Product "{line.product_name}" is ordered {line.quantity:g} times but names no '
                    f"Zuora charge ({self._settings.productRatePlanChargeField}); Zuora sets quantities "
                    "per charge."
                )
        return problems

    def _existing_account(self, crm_id: str) -> ZuoraAccount | None:
        accounts = [a for a in self._zuora.find_accounts_by_crm_id(crm_id) if a.status.lower() != "canceled"]
        return min(accounts, key=lambda a: a.account_number, default=None)

    # --- pushes --------------------------------------------------------------------------------
    def push_account(self, account: AccountRecord, user: str) -> PushOutcome:
        lock = self._store.acquire_lock(f"sfdccpq:{self._org_id}:{account.account_id}", self._lock_wait)
        try:
            plan = self.plan_account(account)
            _refuse_if_blocked(plan.problems)
            number, action = self._ensure_account(plan)
        finally:
            self._store.release_lock(lock)
        logger.info(
            "account pushed",
            extra={
                "salesforce_account_id": account.account_id,
                "action": action,
                "zuora_account_number": number,
                "user": user,
            },
        )
        return PushOutcome(number, action)

    def push_order(self, order: OrderRecord, account: AccountRecord, user: str) -> PushOutcome:
        lock = self._store.acquire_lock(f"sfdccpq:{self._org_id}:{account.account_id}", self._lock_wait)
        try:
            plan = self.plan_order(order, account)
            if plan.already_sent:
                sent = plan.already_sent
                return PushOutcome(
                    sent.zuora_account_number,
                    "unchanged",
                    sent.order_number,
                    sent.subscription_numbers,
                    already_sent=sent,
                )
            _refuse_if_blocked(plan.problems)
            number, action = self._ensure_account(plan.account_plan)
            attempt = self._store.get_push(self._org_id, order.order_id).attempt
            key = f"sfdccpq-{self._org_id}-{order.order_id}-{attempt}"
            try:
                result = self._zuora.create_order(order_body(plan, number), key)
            except UpstreamError as error:
                if error.definitive:
                    self._store.bump_push_attempt(self._org_id, order.order_id)
                raise
            sent = SentOrder(
                number,
                result.order_number,
                result.subscription_numbers,
                dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                user,
            )
            self._store.mark_sent(self._org_id, order.order_id, sent)
        finally:
            self._store.release_lock(lock)
        metrics.add_metric(name="OrdersPushed", unit=MetricUnit.Count, value=1)
        logger.info(
            "order pushed",
            extra={"salesforce_order_id": order.order_id, "zuora_order_number": result.order_number, "user": user},
        )
        return PushOutcome(number, action, result.order_number, result.subscription_numbers)

    def _ensure_account(self, plan: AccountPlan) -> tuple[str, str]:
        account = plan.account
        if plan.existing:
            self._zuora.update_account(
                plan.existing.account_number, {"name": account.name, "billToContact": plan.bill_to()}
            )
            return plan.existing.account_number, "updated"
        body = {
            "name": account.name,
            "currency": plan.currency,
            "crmId": account.account_id,
            "billCycleDay": 0,
            "autoPay": False,
            "billToContact": plan.bill_to(),
            "soldToSameAsBillTo": True,
        }
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
        # Zuora keeps a refusal under its key too: after one, the next press needs a fresh key (as for Orders).
        attempt = self._store.get_push(self._org_id, account.account_id).attempt
        key = f"sfdccpq-account-{self._org_id}-{account.account_id}-{digest}-{attempt}"
        try:
            created = self._zuora.create_account(body, key)
        except UpstreamError as error:
            if error.definitive:
                self._store.bump_push_attempt(self._org_id, account.account_id)
            raise
        metrics.add_metric(name="ZuoraAccountsCreated", unit=MetricUnit.Count, value=1)
        return created.account_number, "created"


def _refuse_if_blocked(problems: list[str]) -> None:
    if problems:
        raise PushBlockedError(problems)


def _rate_plan(line: OrderLine) -> dict[str, Any]:
    pricing = PRICING_BY_CHARGE_TYPE.get(line.charge_type or "")
    if not (line.charge_id and pricing and line.rate_plan_id):
        return rate_plan_body(line.rate_plan_id or "")
    quantity: float | int = int(line.quantity) if line.quantity.is_integer() else line.quantity
    return rate_plan_body(line.rate_plan_id, [QuantityOverride(line.charge_id, pricing, quantity)])


def order_body(plan: OrderPlan, account_number: str) -> dict[str, Any]:
    """One subscription for the whole Order against the (now existing) Zuora account."""
    term = SubscriptionTerm(plan.term_months) if plan.term_months else SubscriptionTerm()
    return {
        "orderDate": plan.start.isoformat(),
        "existingAccountNumber": account_number,
        "description": f"Salesforce Order {plan.order.order_number} ({plan.order.order_id})",
        "subscriptions": [new_subscription([_rate_plan(lp.line) for lp in plan.lines], term, plan.start)],
    }
