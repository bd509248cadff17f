"""The Send to Zuora flow: what a Salesforce Account or CPQ Order becomes in Zuora (plan), then doing it (push)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from .config import SendToZuoraSettings
from .errors import SyncError, UpstreamError
from .salesforce_user import AccountRecord, OrderLine, OrderRecord
from .store import PushStore, SentOrder
from .zuora import ZuoraAccount, ZuoraGateway

logger = Logger(child=True)
metrics = Metrics()

PRICING_BY_CHARGE_TYPE = {"Recurring": "recurringPerUnit", "One-Time": "oneTimePerUnit"}


class ButtonInputError(SyncError):
    """The button URL is not one this deployment serves (unknown org domain, malformed or wrong-type Id)."""


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
            self._store.release_lock(lock, "", None)
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
            self._store.release_lock(lock, "", None)
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


class PushBlockedError(SyncError):
    """The records changed since the preview and now have a blocking problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _refuse_if_blocked(problems: list[str]) -> None:
    if problems:
        raise PushBlockedError(problems)


def _rate_plan(line: OrderLine) -> dict[str, Any]:
    body: dict[str, Any] = {"productRatePlanId": line.rate_plan_id}
    pricing = PRICING_BY_CHARGE_TYPE.get(line.charge_type or "")
    if line.charge_id and pricing:
        quantity: float | int = int(line.quantity) if line.quantity.is_integer() else line.quantity
        body["chargeOverrides"] = [
            {"productRatePlanChargeId": line.charge_id, "pricing": {pricing: {"quantity": quantity}}}
        ]
    return body


def order_body(plan: OrderPlan, account_number: str) -> dict[str, Any]:
    """One subscription for the whole Order against the (now existing) Zuora account."""
    start = plan.start.isoformat()
    if plan.term_months:
        terms: dict[str, Any] = {
            "initialTerm": {
                "termType": "TERMED",
                "period": plan.term_months,
                "periodType": "Month",
                "startDate": start,
            },
            "renewalSetting": "RENEW_WITH_SPECIFIC_TERM",
            "renewalTerms": [{"period": plan.term_months, "periodType": "Month"}],
            "autoRenew": True,
        }
    else:
        terms = {"initialTerm": {"termType": "EVERGREEN", "startDate": start}}
    return {
        "orderDate": start,
        "existingAccountNumber": account_number,
        "description": f"Salesforce Order {plan.order.order_number} ({plan.order.order_id})",
        "subscriptions": [
            {
                "orderActions": [
                    {
                        "type": "CreateSubscription",
                        "triggerDates": [
                            {"name": name, "triggerDate": start}
                            for name in ("ContractEffective", "ServiceActivation", "CustomerAcceptance")
                        ],
                        "createSubscription": {
                            "subscribeToRatePlans": [_rate_plan(lp.line) for lp in plan.lines],
                            "terms": terms,
                        },
                    }
                ],
            }
        ],
    }
