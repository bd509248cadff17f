"""Plans (read only): what a Salesforce Account or CPQ Order becomes in Zuora, who may send it, and what blocks it.

Salesforce was read by the caller with the user's own token; this reads Zuora (accounts, the catalog, the
subscription an amendment or renewal changes) and the push record, and writes nothing.
"""

from __future__ import annotations

import datetime as dt

from sfzsync.catalog import ProductCatalog
from sfzsync.gateways.salesforce_records import AccountRecord, OrderRecord, RecordAccess
from sfzsync.gateways.zuora import ZuoraAccount, ZuoraButtonGateway
from sfzsync.gateways.zuora_subscriptions import ZuoraSubscription
from sfzsync.send_to_zuora.lifecycle import ChangePlanner, ChangeSet, order_kind, order_term, plan_new
from sfzsync.send_to_zuora.plans import NEW, AccountPlan, OrderPlan
from sfzsync.send_to_zuora.products import ProductResolver
from sfzsync.send_to_zuora.store import PushStore, SentOrder
from sfzsync.send_to_zuora.write_back import WriteBack
from sfzsync.settings import SendToZuoraSettings


def refusal(access: RecordAccess, kind: str, permission: str | None) -> str | None:
    """Why the signed-in user may preview but not send (None: they may send)."""
    if not access.can_edit:
        return f"You can see this {kind} but not edit it in Salesforce, so you cannot send it to Zuora."
    if permission and access.has_permission is not True:
        return f"Sending to Zuora needs the Custom Permission {permission}; ask your Salesforce admin for it."
    return None


class Planner:
    def __init__(
        self,
        zuora: ZuoraButtonGateway,
        store: PushStore,
        settings: SendToZuoraSettings,
        org_id: str,
        write_back: WriteBack,
        *,
        catalog: ProductCatalog | None = None,
    ) -> None:
        self._zuora = zuora
        self._store = store
        self._settings = settings
        self._org_id = org_id
        self._links = settings.zuoraLinkFields
        self._write_back = write_back
        resolver = ProductResolver(zuora, catalog or ProductCatalog(zuora.get_rate_plan), settings.productRatePlanField)
        self._resolver = resolver
        self._changes = ChangePlanner(resolver, self._links.ratePlan)

    def plan_account(
        self, account: AccountRecord, access: RecordAccess | None = None, kind: str = "Account"
    ) -> AccountPlan:
        problems = []
        if not account.billing.country:
            problems.append(f'Account "{account.name}" has no Billing Country: Zuora needs it for tax and invoices.')
        if account.contact is None:
            problems.append(f'Account "{account.name}" has no Contact: add the person Zuora should bill.')
        existing = self._existing_account(account.account_id)
        currency = existing.currency if existing else (account.currency or self._settings.defaultCurrency)
        why_not = refusal(access or account.access, kind, self._settings.permission)
        return AccountPlan(account, existing, currency, problems, why_not)

    def plan_order(self, order: OrderRecord, account: AccountRecord) -> OrderPlan:
        account_plan = self.plan_account(account, order.access, "Order")
        kind = order_kind(order)
        start = order.effective_date or min(
            (ln.service_date for ln in order.lines if ln.service_date), default=dt.datetime.now(dt.UTC).date()
        )
        # The Account's record too: a new Order's push creates the Zuora account under its key attempt.
        self._store.read_pushes(self._org_id, [order.order_id, account.account_id])
        sent = self._store.get_push(self._org_id, order.order_id).sent
        if sent is None and order.written.order_number and self._write_back.complete(order):
            sent = SentOrder("", order.written.order_number, [order.written.subscription_number or ""], "", "")
        if sent is not None and self._write_back.complete(order):
            when = f" on {sent.sent_at[:10]}" if sent.sent_at else ""
            problem = (
                f"Order {order.order_number} was already sent to Zuora{when} as order {sent.order_number}; "
                "sending it again would bill the customer twice."
            )
            return OrderPlan(account_plan, order, kind, [], start, [problem], already_sent=sent)
        if sent is not None:
            return OrderPlan(account_plan, order, kind, [], start, [], repair=sent)
        problems = list(account_plan.problems)
        if not order.lines:
            problems.append(f"Order {order.order_number} has no products.")
        if kind == NEW:
            return self._plan_new(account_plan, order, start, problems)
        return self._plan_change(account_plan, order, kind, start, problems)

    def _plan_new(
        self, account_plan: AccountPlan, order: OrderRecord, start: dt.date, problems: list[str]
    ) -> OrderPlan:
        months, term_problem = order_term(order)
        problems += [term_problem] if term_problem else []
        found = self._subscription_of(account_plan.existing, {order.order_id}, set())
        if found is not None:  # sent before, its write-back and push record lost: Zuora remembers
            sent = SentOrder(found.account_number, found.order_number or "", [found.subscription_number], "", "")
            return OrderPlan(account_plan, order, NEW, [], start, [], months, found, repair=sent)
        changes = plan_new(order, self._resolver, account_plan.currency, start)
        return OrderPlan(account_plan, order, NEW, changes.actions, start, problems + changes.problems, months)

    def _plan_change(
        self, account_plan: AccountPlan, order: OrderRecord, kind: str, start: dt.date, problems: list[str]
    ) -> OrderPlan:
        months, _ = order_term(order)
        subscription, located = self._locate(order, account_plan.existing)
        if subscription is None:
            return OrderPlan(account_plan, order, kind, [], start, problems + located, months)
        changes: ChangeSet = self._changes.plan(order, kind, subscription, account_plan.currency, start)
        problems += located + changes.problems
        if not problems and changes.all_applied:
            sent = SentOrder(subscription.account_number, "", [subscription.subscription_number], "", "")
            return OrderPlan(account_plan, order, kind, [], start, [], months, subscription, repair=sent)
        if not problems and not changes.actions and not changes.subscription_actions:
            problems.append(f"Order {order.order_number} changes nothing in Zuora.")
        summary = changes.summary
        return OrderPlan(
            account_plan,
            order,
            kind,
            changes.actions,
            start,
            problems,
            months,
            subscription,
            changes.subscription_actions,
            summary,
        )

    def _locate(self, order: OrderRecord, account: ZuoraAccount | None) -> tuple[ZuoraSubscription | None, list[str]]:
        """The one subscription the original Order became: from the write-back, else from Zuora's link fields."""
        numbers = {o.written.subscription_number for o in order.origins.values() if o.written.subscription_number}
        if order.contract_subscription_number:
            numbers.add(order.contract_subscription_number)
        if not numbers:
            order_ids = {o.order_id for o in order.origins.values()} | {order.contract_order_id or ""}
            found = self._subscription_of(account, order_ids - {""}, set(order.origins))
            numbers = {found.subscription_number} if found else set()
        if len(numbers) > 1:
            return None, [
                f"Order {order.order_number} changes several Zuora subscriptions ({', '.join(sorted(numbers))}); "
                "one Order can change one: split it."
            ]
        if not numbers:
            return None, [
                f"The original Order of {order.order_number} was never sent to Zuora, so there is no subscription "
                "to change: send the original Order first."
            ]
        subscription = self._zuora.get_subscription(numbers.pop())
        if subscription is None:
            return None, ["The Zuora subscription written on the original Order no longer exists in Zuora."]
        return subscription, []

    def _subscription_of(
        self, account: ZuoraAccount | None, order_ids: set[str], item_ids: set[str]
    ) -> ZuoraSubscription | None:
        if account is None or not (order_ids or item_ids):
            return None
        for subscription in self._zuora.subscriptions_of_account(account.account_number):
            if subscription.custom_fields.get(self._links.subscription) in order_ids:
                return subscription
            if any(plan.custom_fields.get(self._links.ratePlan) in item_ids for plan in subscription.rate_plans):
                return subscription
        return None

    def _existing_account(self, crm_id: str) -> ZuoraAccount | None:
        accounts = [a for a in self._zuora.find_accounts_by_crm_id(crm_id) if a.status.lower() != "canceled"]
        return min(accounts, key=lambda a: a.account_number, default=None)
