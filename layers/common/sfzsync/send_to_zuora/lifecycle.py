"""The Salesforce CPQ lifecycle in Zuora's terms, as Zuora's own CPQ connectors map it: one contract is one Zuora
subscription; a new Order creates it, an amendment Order's order products become order actions on it, a renewal
Order renews it.

- New Order: `CreateSubscription`, one rate plan per order product.
- Amendment (order products whose `SBQQ__RevisedOrderProduct__c` names an earlier one; `Quantity` is the change):
  a change → `UpdateProduct` (old + change); down to 0 or `SBQQ__ContractAction__c = Cancel` → `RemoveProduct`;
  a new order product → `AddProduct`; every rate plan removed → `CancelSubscription` on the Order's date.
- Renewal (`Order.Type` or the quote's `SBQQ__Type__c` = Renewal; order products carry the full quantity for the new
  term): `RenewSubscription` (after `TermsAndConditions` when the Order asks for another term), and the quantity
  changes it carries from the first day of the new term.

Nothing is guessed: an original that was never sent, a subscription changed in Zuora since Salesforce last saw it,
and a change Zuora cannot express are blocking problems. A change already fully in Zuora (its write-back lost) is
recognised, so pressing Send again repairs Salesforce instead of changing Zuora twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sfzsync.gateways.salesforce_records import OrderLine, OrderRecord, OriginLine
from sfzsync.gateways.zuora_subscriptions import SubscriptionCharge, SubscriptionRatePlan, ZuoraSubscription
from sfzsync.send_to_zuora.plans import AMENDMENT, NEW, RENEWAL, LineAction
from sfzsync.send_to_zuora.products import ProductResolver

# Create Order can update the quantity of recurring charges only: its pricing update has no one-time keys
# (published schema `CreateOrderPricingUpdate`: recurringPerUnit, recurringTiered, recurringVolume, usage..., discount).
UPDATABLE_PRICING = frozenset({"recurringPerUnit", "recurringTiered", "recurringVolume"})
CANCEL_ACTION = "Cancel"


def order_kind(order: OrderRecord) -> str:
    types = {(order.order_type or "").lower(), (order.quote_type or "").lower()}
    if "renewal" in types:
        return RENEWAL
    if "amendment" in types or any(line.revised_item_id for line in order.lines):
        return AMENDMENT
    return NEW


def order_term(order: OrderRecord) -> tuple[int | None, str | None]:
    """The Order's one subscription term in months (None: evergreen), or a problem when its products differ."""
    terms = sorted({line.term_months for line in order.lines if line.term_months})
    if len(terms) > 1:
        return None, (
            f"The products have different subscription terms ({', '.join(map(str, terms))} months); "
            "one Zuora subscription has one term: split the Order."
        )
    return (terms[0] if terms else None), None


def _amount(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def plan_new(order: OrderRecord, resolver: ProductResolver, currency: str, start: dt.date) -> ChangeSet:
    changes = ChangeSet()
    for line in order.lines:
        if line.quantity <= 0:
            changes.problems.append(f'Product "{line.product_name}" has quantity {line.quantity:g} on a new Order.')
            continue
        resolved = resolver.resolve(line, line.quantity, currency)
        if isinstance(resolved, str):
            changes.problems.append(resolved)
            continue
        text = f"subscribe to rate plan {resolved.plan.name}, quantity {line.quantity:g}"
        changes.actions.append(
            LineAction(line, "CreateSubscription", text, resolved.plan.rate_plan_id, resolved.overrides, day=start)
        )
    return changes


@dataclass
class ChangeSet:
    actions: list[LineAction] = field(default_factory=list)
    subscription_actions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    applied: list[bool] = field(default_factory=list)  # per change: already in Zuora

    @property
    def all_applied(self) -> bool:
        return bool(self.applied) and all(self.applied)


class ChangePlanner:
    """Amendments and renewals against the subscription the original Order became (already found by the caller)."""

    def __init__(self, resolver: ProductResolver, link_field: str) -> None:
        self._resolver = resolver
        self._link = link_field

    def plan(
        self, order: OrderRecord, kind: str, subscription: ZuoraSubscription, currency: str, day: dt.date
    ) -> ChangeSet:
        changes = ChangeSet()
        number = subscription.subscription_number
        if subscription.status.lower() == "cancelled":
            changes.problems.append(f"Zuora subscription {number} is cancelled: it cannot be changed any more.")
            return changes
        if kind == RENEWAL:
            day = self._renewal(order, subscription, changes) or day
        for line in order.lines:
            if line.origin_id is None:
                self._add(line, subscription, currency, day, changes)
            else:
                self._change(line, order.origins.get(line.origin_id), kind, subscription, day=day, changes=changes)
        removed = {a.rate_plan_id for a in changes.actions if a.kind == "RemoveProduct"}
        active = {plan.rate_plan_id for plan in subscription.active_rate_plans}
        adds = any(a.kind == "AddProduct" for a in changes.actions)
        if kind == AMENDMENT and active and active <= removed and not adds:
            changes.subscription_actions.append("CancelSubscription")
            changes.summary.append(f"cancel {number} on {day.isoformat()}")
            changes.applied = [False]
        return changes

    # --- renewal ---------------------------------------------------------------------------------------------
    def _renewal(self, order: OrderRecord, subscription: ZuoraSubscription, changes: ChangeSet) -> dt.date | None:
        number = subscription.subscription_number
        if subscription.term_type.upper() != "TERMED":
            changes.problems.append(
                f"Zuora subscription {number} is EVERGREEN: it never ends, so Zuora cannot renew it. "
                "Amend it instead, or make it TERMED in Zuora first."
            )
            return None
        months, problem = order_term(order)
        if problem:
            changes.problems.append(problem)
        period = months or subscription.renewal_term
        if months and (months != subscription.renewal_term or subscription.renewal_term_period_type != "Month"):
            changes.subscription_actions.append("TermsAndConditions")
        changes.subscription_actions.append("RenewSubscription")
        changes.summary.append(f"renew {number} for {period} months" if period else f"renew {number}")
        changes.applied.append(False)  # a renewal leaves no mark to recognise it by: the push record keeps it
        return dt.date.fromisoformat(subscription.term_end_date) if subscription.term_end_date else None

    # --- one order product -------------------------------------------------------------------------------------
    def _add(
        self, line: OrderLine, subscription: ZuoraSubscription, currency: str, day: dt.date, changes: ChangeSet
    ) -> None:
        if line.quantity <= 0 or line.contract_action == CANCEL_ACTION:
            changes.problems.append(
                f'Product "{line.product_name}" removes something this contract never had in Zuora '
                f"(quantity {line.quantity:g}, no original order product)."
            )
            return
        resolved = self._resolver.resolve(line, line.quantity, currency)
        if isinstance(resolved, str):
            changes.problems.append(resolved)
            return
        text = f"add {line.product_name} ({resolved.plan.name}), quantity {line.quantity:g}"
        changes.actions.append(
            LineAction(line, "AddProduct", text, resolved.plan.rate_plan_id, resolved.overrides, day=day)
        )
        changes.applied.append(subscription.rate_plan_of(self._link, line.item_id) is not None)

    def _change(
        self,
        line: OrderLine,
        origin: OriginLine | None,
        kind: str,
        subscription: ZuoraSubscription,
        *,
        day: dt.date,
        changes: ChangeSet,
    ) -> None:
        name, number = line.product_name, subscription.subscription_number
        if origin is None:
            changes.problems.append(f'Product "{name}" changes an order product you cannot see, or that is gone.')
            return
        plan = self._origin_plan(origin, subscription)
        if plan is None:
            changes.problems.append(
                f'The original of "{name}" (Order product {origin.item_id}) was never sent to Zuora: send its Order '
                "first."
            )
            return
        charges = self._quantity_charges(line, plan)
        expected = origin.quantity
        new = line.quantity if kind == RENEWAL else expected + line.quantity
        if line.contract_action == CANCEL_ACTION or new <= 0:
            self._remove(line, plan, number, day, changes)
            return
        zuora = {charge.quantity for charge in charges}
        if plan.removed or not charges:
            changes.problems.append(
                f'Zuora cannot change the quantity of "{name}" on {number}: '
                + ("it was removed in Zuora." if plan.removed else "its charges take no quantity.")
            )
            return
        if any(charge.quantity_pricing not in UPDATABLE_PRICING for charge in charges):
            changes.problems.append(
                f'Zuora cannot change the quantity of "{name}" on {number}: Create Order updates recurring charges '
                "only, and this one is a one-time charge."
            )
            return
        if new == expected and zuora == {expected}:
            changes.summary.append(f"{name} stays at {expected:g}")
            return
        if zuora == {new} and new != expected:
            changes.applied.append(True)
        elif zuora != {expected}:
            shown = ", ".join(f"{q:g}" for q in sorted(q for q in zuora if q is not None)) or "none"
            changes.problems.append(
                f'Zuora subscription {number} was changed since: Salesforce says "{name}" is {expected:g}, Zuora has '
                f"{shown}. Bring them in line (or send the earlier change that is missing), then press Send again."
            )
            return
        else:
            changes.applied.append(False)
        change = new - expected if kind == AMENDMENT else new - (zuora.pop() or 0)
        text = f"{change:+g} {name} on {number}, {expected:g} → {new:g}"
        updates = tuple((c.number, c.quantity_pricing or "", _amount(new)) for c in charges)
        changes.actions.append(
            LineAction(
                line,
                "UpdateProduct",
                text,
                plan.rate_plan_id,
                charge_updates=updates,
                day=day,
                origin_id=origin.item_id,
            )
        )

    def _remove(
        self, line: OrderLine, plan: SubscriptionRatePlan, number: str, day: dt.date, changes: ChangeSet
    ) -> None:
        changes.actions.append(
            LineAction(
                line,
                "RemoveProduct",
                f"remove {line.product_name} from {number}",
                plan.rate_plan_id,
                day=day,
                origin_id=line.origin_id,
            )
        )
        changes.applied.append(plan.removed)

    def _origin_plan(self, origin: OriginLine, subscription: ZuoraSubscription) -> SubscriptionRatePlan | None:
        if origin.written.rate_plan_id:
            found = subscription.rate_plan_by_id(origin.written.rate_plan_id)
            if found is not None:
                return found
        return subscription.rate_plan_of(self._link, origin.item_id)

    @staticmethod
    def _quantity_charges(line: OrderLine, plan: SubscriptionRatePlan) -> tuple[SubscriptionCharge, ...]:
        charges = plan.quantity_charges
        if line.charge_id:
            charges = tuple(c for c in charges if c.product_rate_plan_charge_id == line.charge_id)
        return charges
