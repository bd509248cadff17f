"""The one Zuora "Create order" body of an Order push: the rule table from order action type to its body."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sfzsync.send_to_zuora.plans import NEW, LineAction, OrderPlan
from sfzsync.settings import ZuoraLinkFields
from sfzsync.zuora_orders import (
    SubscriptionTerm,
    add_product,
    cancel_subscription,
    existing_subscription,
    new_subscription,
    rate_plan_body,
    remove_product,
    renew_subscription,
    renewal_terms,
    update_product,
)


@dataclass(frozen=True)
class Context:
    plan: OrderPlan
    links: ZuoraLinkFields

    @property
    def day(self) -> dt.date:
        return self.plan.start

    def rate_plan(self, action: LineAction) -> dict[str, Any]:
        return rate_plan_body(action.rate_plan_id or "", action.overrides, {self.links.ratePlan: action.line.item_id})


@dataclass(frozen=True)
class OrderActionKind:
    """How one kind of order action is written. Line actions get their LineAction; subscription actions None."""

    body: Callable[[Context, LineAction | None], dict[str, Any]]


def _line(action: LineAction | None) -> LineAction:
    assert action is not None
    return action


ORDER_ACTIONS: dict[str, OrderActionKind] = {
    "AddProduct": OrderActionKind(lambda c, a: add_product(c.rate_plan(_line(a)), _line(a).day or c.day)),
    "UpdateProduct": OrderActionKind(
        lambda c, a: update_product(_line(a).rate_plan_id or "", _line(a).charge_updates, _line(a).day or c.day)
    ),
    "RemoveProduct": OrderActionKind(lambda c, a: remove_product(_line(a).rate_plan_id or "", _line(a).day or c.day)),
    "TermsAndConditions": OrderActionKind(lambda c, _: renewal_terms(c.plan.term_months or 12)),
    "RenewSubscription": OrderActionKind(lambda c, _: renew_subscription()),
    "CancelSubscription": OrderActionKind(lambda c, _: cancel_subscription(c.day)),
}
# Zuora applies a subscription's order actions "with the sequence when it was provided in the request" (published
# schema): renew first, so that changes dated in the new term find it; a cancellation replaces the removals.
SEQUENCE = ("TermsAndConditions", "RenewSubscription", "RemoveProduct", "UpdateProduct", "AddProduct")


def order_body(plan: OrderPlan, account_number: str, links: ZuoraLinkFields) -> dict[str, Any]:
    """One Zuora order for the whole Salesforce Order, against the (now existing) Zuora account."""
    context = Context(plan, links)
    body: dict[str, Any] = {
        "orderDate": plan.start.isoformat(),
        "existingAccountNumber": account_number,
        "description": f"Salesforce Order {plan.order.order_number} ({plan.order.order_id})",
    }
    if plan.kind == NEW:
        term = SubscriptionTerm(plan.term_months) if plan.term_months else SubscriptionTerm()
        rate_plans = [context.rate_plan(action) for action in plan.actions]
        fields = {links.subscription: plan.order.order_id}
        body["subscriptions"] = [new_subscription(rate_plans, term, plan.start, fields)]
        return body
    assert plan.subscription is not None
    actions: list[dict[str, Any]] = []
    if "CancelSubscription" in plan.subscription_actions:
        actions.append(ORDER_ACTIONS["CancelSubscription"].body(context, None))
    else:
        for kind in SEQUENCE:
            if kind in plan.subscription_actions:
                actions.append(ORDER_ACTIONS[kind].body(context, None))
            actions += [ORDER_ACTIONS[kind].body(context, a) for a in plan.actions if a.kind == kind]
    body["subscriptions"] = [existing_subscription(plan.subscription.subscription_number, actions)]
    return body
