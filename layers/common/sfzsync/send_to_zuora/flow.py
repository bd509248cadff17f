"""The Send to Zuora pushes: plan again under the Account's lock, refuse what the preview would refuse, then one
Zuora write (the account) and one Zuora order, and the write-back onto Salesforce.

Pressing twice never changes Zuora twice: pushes of one Account's records are serialised, an Order's Zuora
`Idempotency-Key` is org Id + Order Id + an attempt number advanced only after Zuora refused the last one, and a sent
Order is remembered (push record, write-back, and Zuora's own link fields).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sfzsync.catalog import ProductCatalog
from sfzsync.errors import ForbiddenError, PushBlockedError, UpstreamError
from sfzsync.gateways.salesforce_records import AccountRecord, OrderRecord
from sfzsync.gateways.zuora import ZuoraButtonGateway
from sfzsync.observability import count, logger
from sfzsync.send_to_zuora.order_body import order_body
from sfzsync.send_to_zuora.planning import Planner
from sfzsync.send_to_zuora.plans import NEW, AccountPlan, OrderPlan, PushOutcome, WriteBackResult
from sfzsync.send_to_zuora.store import PushStore, SentOrder
from sfzsync.send_to_zuora.write_back import RecordWriter, WriteBack
from sfzsync.settings import SendToZuoraSettings


class SendToZuoraFlow(Planner):
    """Plans read Salesforce (already done by the caller, with the user's token) and Zuora; pushes write Zuora, then
    Salesforce as the integration user."""

    def __init__(
        self,
        zuora: ZuoraButtonGateway,
        store: PushStore,
        settings: SendToZuoraSettings,
        org_id: str,
        writer: RecordWriter,
        *,
        lock_wait_seconds: float = 8.0,
        catalog: ProductCatalog | None = None,
    ) -> None:
        write_back = WriteBack(writer, settings.writeBack, settings.zuoraLinkFields)
        super().__init__(zuora, store, settings, org_id, write_back, catalog=catalog)
        self._lock_wait = lock_wait_seconds

    def push_account(self, account: AccountRecord, user: str) -> PushOutcome:
        lock = self._store.acquire_lock(f"sfdccpq:{self._org_id}:{account.account_id}", self._lock_wait)
        try:
            plan = self.plan_account(account)
            _refuse_if_blocked(plan.refusal, plan.problems)
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
            _refuse_if_blocked(plan.account_plan.refusal, [])
            if plan.already_sent:
                sent = plan.already_sent
                return PushOutcome(
                    sent.zuora_account_number,
                    "unchanged",
                    sent.order_number,
                    sent.subscription_numbers,
                    already_sent=sent,
                )
            if plan.repair:
                return self._repair(order, plan.repair)
            _refuse_if_blocked(None, plan.problems)
            outcome = self._push_order(plan, user)
        finally:
            self._store.release_lock(lock)
        count("OrdersPushed", kind=plan.kind)
        logger.info(
            "order pushed",
            extra={
                "salesforce_order_id": order.order_id,
                "kind": plan.kind,
                "zuora_order_number": outcome.order_number,
                "user": user,
            },
        )
        return outcome

    def _push_order(self, plan: OrderPlan, user: str) -> PushOutcome:
        order = plan.order
        if plan.kind == NEW:
            number, action = self._ensure_account(plan.account_plan, plan)
        else:
            assert plan.subscription is not None
            number, action = plan.subscription.account_number, "unchanged"
        attempt = self._store.get_push(self._org_id, order.order_id).attempt
        key = f"sfdccpq-{self._org_id}-{order.order_id}-{attempt}"
        try:
            result = self._zuora.create_order(order_body(plan, number, self._links), key)
        except UpstreamError as error:
            if error.definitive:
                self._store.bump_push_attempt(self._org_id, order.order_id)
                self._write_back.failed(order, f"{error.code}: {error.message}")
            raise
        subscriptions = result.subscription_numbers or (
            [plan.subscription.subscription_number] if plan.subscription else []
        )
        sent = SentOrder(
            number, result.order_number, subscriptions, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), user
        )
        self._store.mark_sent(self._org_id, order.order_id, sent)
        written = self._write_back_from_zuora(order, result.order_number, subscriptions)
        return PushOutcome(number, action, result.order_number, subscriptions, write_back=written)

    def _repair(self, order: OrderRecord, sent: SentOrder) -> PushOutcome:
        """Zuora already has this Order: fill in Salesforce from Zuora, change nothing in Zuora."""
        written = self._write_back_from_zuora(order, sent.order_number, sent.subscription_numbers)
        count("WriteBackRepaired")
        return PushOutcome(
            sent.zuora_account_number,
            "unchanged",
            sent.order_number or None,
            sent.subscription_numbers,
            write_back=written,
            repaired=True,
        )

    def _write_back_from_zuora(self, order: OrderRecord, order_number: str, numbers: list[str]) -> WriteBackResult:
        try:
            subscription = self._zuora.get_subscription(numbers[0]) if numbers else None
        except UpstreamError as error:
            return WriteBackResult(False, f"{error.code}: {error.message}")
        if subscription is None:
            return WriteBackResult(False, "Zuora did not return the subscription to write back")
        return self._write_back.sent(order, order_number, subscription)

    def _ensure_account(self, plan: AccountPlan, order: OrderPlan | None = None) -> tuple[str, str]:
        account = plan.account
        bill_to_person = order.order.bill_to if order else None
        ship_to = order.order.ship_to if order else None
        bill_to = plan.bill_to(person=bill_to_person)
        sold_to = plan.bill_to(person=ship_to) if ship_to else None
        if plan.existing:
            update: dict[str, Any] = {"name": account.name, "billToContact": bill_to}
            if sold_to:
                update["soldToContact"] = sold_to
            self._zuora.update_account(plan.existing.account_number, update)
            return plan.existing.account_number, "updated"
        body: dict[str, Any] = {
            "name": account.name,
            "currency": plan.currency,
            "crmId": account.account_id,
            "billCycleDay": 0,
            "autoPay": False,
            "billToContact": bill_to,
        }
        body |= {"soldToContact": sold_to} if sold_to else {"soldToSameAsBillTo": True}
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
        count("ZuoraAccountsCreated")
        return created.account_number, "created"


def _refuse_if_blocked(refusal: str | None, problems: list[str]) -> None:
    if refusal:
        raise ForbiddenError(refusal)
    if problems:
        raise PushBlockedError(problems)
