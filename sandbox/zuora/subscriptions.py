"""Subscriptions with versions, and the order actions that change them, as Zuora documents them:

- ``GET /v1/subscriptions/{subscription-key}`` (number or id) answers the latest version; ``GET
  /v1/subscriptions/accounts/{account-key}`` lists an account's subscriptions (``subscriptions: [...]``). Field names
  are the SDK's ``GetSubscriptionResponse`` / ``GetSubscriptionRatePlan`` / ``GetSubscriptionRatePlanChargesWith
  AllSegments`` (Zuora-Version 2025-08-12); custom fields appear as top-level ``*__c`` keys of the subscription and
  of each rate plan, and carry over to later versions. A removed rate plan is still listed, ``lastChangeType:
  "Remove"`` (the SDK documents the values Add, Update, Remove for it).
- Every order that changes a subscription makes a new version (``version`` + 1, a new subscription ``id``, new rate
  plan and charge ``id``s; ``originalRatePlanId`` / ``originalChargeId`` stay). An order action may name a rate plan
  by "the latest version or any history version id" (published schema, ``updateProduct.ratePlanId``).
- Order actions on ``subscriptions[].subscriptionNumber`` (published schema ``CreateOrderOrderAction``), applied "with
  the sequence when it was provided in the request": ``AddProduct`` (checked against the catalog as
  CreateSubscription's rate plans are), ``UpdateProduct`` (``chargeUpdates[].chargeNumber`` of that rate plan, a
  pricing update of the charge's own model; quantities only for per-unit, tiered and volume charges; Create Order's
  pricing update has no one-time keys), ``RemoveProduct``, ``RenewSubscription`` (TERMED only: an EVERGREEN
  subscription has no term to renew; the next term starts at the current term's end), ``TermsAndConditions``
  (renewal setting and terms), ``CancelSubscription`` (``SpecificDate`` needs ``cancellationEffectiveDate``;
  ``EndOfCurrentTerm``). Setting the field of another action type is refused ("Zuora returns an error if you set a
  field that corresponds to a different type of order action"), other types answer category 45 (unsupported here).
- Refusals (nothing is kept): an unknown subscription (40), one of another account than the order's (30), a
  cancelled one (30), an unknown or removed rate plan (40 / 30), a charge number not of that rate plan (20).
"""

from __future__ import annotations

import copy
import uuid
from datetime import date
from typing import Any

from werkzeug.wrappers import Response

from sandbox.core import json_response
from sandbox.zuora.catalog import CatalogRefusalError
from sandbox.zuora.errors import RejectedError, zuora_failure
from sandbox.zuora.orders import OrdersApi
from sandbox.zuora.state import now_iso

SUBSCRIPTIONS = "/v1/subscriptions"
ACTION_FIELDS = {
    "AddProduct": "addProduct",
    "UpdateProduct": "updateProduct",
    "RemoveProduct": "removeProduct",
    "CancelSubscription": "cancelSubscription",
    "TermsAndConditions": "termsAndConditions",
    "RenewSubscription": None,
}
OTHER_FIELDS = ("createSubscription", "ownerTransfer", "resume", "suspend")
UPDATE_PRICING = frozenset({"recurringPerUnit", "recurringTiered", "recurringVolume"})


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    last = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return date(year, month, min(day.day, last))


def _months(period: int, period_type: str) -> int:
    return period * {"Month": 1, "Year": 12}.get(period_type, 1)


class SubscriptionsApi(OrdersApi):
    """Subscription versions, order actions on them, and their GET endpoints."""

    # --- Python API ----------------------------------------------------------------------------------------
    def subscription(self, key: str) -> dict[str, Any] | None:
        """The latest version, as ``GET /v1/subscriptions/{key}`` answers it."""
        with self.lock:
            found = self._find_subscription(key)
            return None if found is None else subscription_body(found)

    def change_quantity(self, subscription_number: str, charge_id: str, quantity: float) -> None:
        """Change a quantity directly (as someone editing the subscription in Zuora would): a new version."""
        with self.lock:
            current = copy.deepcopy(self.subscriptions[subscription_number])
            for plan in current["ratePlans"]:
                for charge in plan["charges"]:
                    if charge["productRatePlanChargeId"] == charge_id:
                        charge["quantity"] = quantity
                        plan["lastChangeType"] = "Update"
            self.subscriptions[subscription_number] = _next_version(current)

    # --- HTTP ------------------------------------------------------------------------------------------------
    def _subscriptions_route(self, path: str) -> Response:
        parts = path.removeprefix(SUBSCRIPTIONS + "/").split("/")
        with self.lock:
            if len(parts) == 2 and parts[0] == "accounts":
                account = self.find_account(parts[1])
                if account is None:
                    return json_response(zuora_failure(40, f"Cannot find entity by key: '{parts[1]}'."))
                found = [s for s in self.subscriptions.values() if s["accountNumber"] == account["accountNumber"]]
                return json_response({"success": True, "subscriptions": [subscription_body(s) for s in found]})
            if len(parts) == 1:
                subscription = self._find_subscription(parts[0])
                if subscription is None:
                    return json_response(zuora_failure(40, f"Cannot find entity by key: '{parts[0]}'."), 404)
                return json_response(subscription_body(subscription))
        return json_response({"message": "no Route matched with those values"}, 404)

    def _find_subscription(self, key: str) -> dict[str, Any] | None:
        return self.subscriptions.get(key) or next((s for s in self.subscriptions.values() if s["id"] == key), None)

    # --- Create Order ----------------------------------------------------------------------------------------
    def _new_subscription(
        self, account: dict[str, Any], order_number: str, item: dict[str, Any], action: dict[str, Any]
    ) -> str:
        number = super()._new_subscription(account, order_number, item, action)
        record = self.subscriptions[number]
        record["version"] = 1
        terms = record["terms"] or {}
        initial = terms.get("initialTerm") or {}
        renewal = (terms.get("renewalTerms") or [{}])[0]
        start = date.fromisoformat(initial.get("startDate") or record["triggerDates"].get("ContractEffective"))
        record["termType"] = initial.get("termType", "EVERGREEN")
        record["termStartDate"] = record["subscriptionStartDate"] = start.isoformat()
        record["initialTerm"] = initial.get("period")
        record["initialTermPeriodType"] = initial.get("periodType", "Month")
        record["renewalTerm"] = renewal.get("period")
        record["renewalTermPeriodType"] = renewal.get("periodType", "Month")
        record["renewalSetting"] = terms.get("renewalSetting", "RENEW_WITH_SPECIFIC_TERM")
        record["autoRenew"] = bool(terms.get("autoRenew", False))
        record["currentTerm"] = record["initialTerm"]
        record["termEndDate"] = (
            add_months(start, _months(initial["period"], record["initialTermPeriodType"])).isoformat()
            if record["termType"] == "TERMED"
            else None
        )
        record["removedRatePlans"] = []
        requested = action["createSubscription"].get("subscribeToRatePlans", [])
        for plan, request in zip(record["ratePlans"], requested, strict=True):
            _stamp(plan, request.get("customFields") or {}, None)
        return number

    def _change_subscription(
        self, account: dict[str, Any], order_number: str, item: dict[str, Any], order_date: str
    ) -> str:
        number = str(item.get("subscriptionNumber") or "")
        found = self.subscriptions.get(number)
        if not number or found is None:
            raise RejectedError(40, f"Cannot find entity by key: '{number}'.")
        if found["accountNumber"] != account["accountNumber"]:
            raise RejectedError(30, f"Subscription {number} does not belong to account {account['accountNumber']}.")
        current = copy.deepcopy(found)
        for action in item.get("orderActions", []):
            self._apply_action(current, action, account)
        current.setdefault("customFields", {}).update(item.get("customFields") or {})
        current["orderNumber"] = order_number
        self.subscriptions[number] = _next_version(current)
        return number

    def _apply_action(self, sub: dict[str, Any], action: dict[str, Any], account: dict[str, Any]) -> None:
        kind = action.get("type")
        if kind not in ACTION_FIELDS:
            raise RejectedError(45, f"The order action type '{kind}' is not supported on an existing subscription.")
        own = ACTION_FIELDS[kind]
        others = [f for f in (*ACTION_FIELDS.values(), *OTHER_FIELDS) if f and f != own and f in action]
        if others:
            raise RejectedError(20, f"The field '{others[0]}' does not belong to an order action of type {kind}.")
        if own and own not in action:
            raise RejectedError(22, f"An order action of type {kind} needs the field '{own}'.")
        if sub["status"] == "Cancelled":
            raise RejectedError(30, f"Subscription {sub['subscriptionNumber']} is cancelled and cannot be changed.")
        body = action.get(own) if own else None
        if kind == "AddProduct":
            try:
                plan = self.catalog.subscribe(body or {}, account["currency"], account["accountNumber"])
            except CatalogRefusalError as refusal:
                raise RejectedError(refusal.category, str(refusal)) from None
            sub["ratePlans"].append(_stamp(plan, (body or {}).get("customFields") or {}, "Add"))
        elif kind == "UpdateProduct":
            _update_product(sub, body or {})
        elif kind == "RemoveProduct":
            plan = _active_plan(sub, (body or {}).get("ratePlanId"))
            sub["ratePlans"].remove(plan)
            plan["lastChangeType"] = "Remove"
            sub["removedRatePlans"].append(plan)
        elif kind == "RenewSubscription":
            _renew(sub)
        elif kind == "TermsAndConditions":
            terms = body or {}
            renewal = (terms.get("renewalTerms") or [{}])[0]
            sub["renewalTerm"] = renewal.get("period", sub["renewalTerm"])
            sub["renewalTermPeriodType"] = renewal.get("periodType", sub["renewalTermPeriodType"])
            sub["renewalSetting"] = terms.get("renewalSetting", sub["renewalSetting"])
            sub["autoRenew"] = terms.get("autoRenew", sub["autoRenew"])
        else:
            _cancel(sub, body or {})


def _stamp(plan: dict[str, Any], custom_fields: dict[str, Any], change: str | None) -> dict[str, Any]:
    """Ids, charge numbers and custom fields of a rate plan new in this version."""
    plan_id = uuid.uuid4().hex
    plan.update({"id": plan_id, "originalRatePlanId": plan_id, "versionIds": [plan_id], "customFields": custom_fields})
    if change:
        plan["lastChangeType"] = change
    for charge in plan["charges"]:
        charge_id = uuid.uuid4().hex
        charge.update({"id": charge_id, "originalChargeId": charge_id, "number": f"C-{uuid.uuid4().int % 10**8:08d}"})
    return plan


def _next_version(sub: dict[str, Any]) -> dict[str, Any]:
    sub["version"] = int(sub.get("version", 1)) + 1
    sub["id"] = uuid.uuid4().hex
    for plan in sub["ratePlans"]:
        plan["id"] = uuid.uuid4().hex
        plan["versionIds"].append(plan["id"])
        for charge in plan["charges"]:
            charge["id"] = uuid.uuid4().hex
    sub["updatedDate"] = now_iso()
    return sub


def _active_plan(sub: dict[str, Any], rate_plan_id: Any) -> dict[str, Any]:
    active: list[dict[str, Any]] = sub["ratePlans"]
    for plan in active:
        if rate_plan_id in plan["versionIds"]:
            return plan
    if any(rate_plan_id in plan["versionIds"] for plan in sub["removedRatePlans"]):
        raise RejectedError(30, f"The rate plan {rate_plan_id} has been removed from the subscription.")
    raise RejectedError(40, f"Cannot find rate plan {rate_plan_id} in subscription {sub['subscriptionNumber']}.")


def _update_product(sub: dict[str, Any], body: dict[str, Any]) -> None:
    plan = _active_plan(sub, body.get("ratePlanId"))
    for update in body.get("chargeUpdates") or []:
        charge = next((c for c in plan["charges"] if c["number"] == update.get("chargeNumber")), None)
        if charge is None:
            raise RejectedError(20, f"The charge {update.get('chargeNumber')} is not a charge of this rate plan.")
        for key, pricing in (update.get("pricing") or {}).items():
            fits = key in UPDATE_PRICING and key.removeprefix("recurring") == charge["chargeModel"]
            if not fits or charge["chargeType"] != "Recurring":
                raise RejectedError(
                    20,
                    f"The pricing '{key}' does not match charge {charge['number']} "
                    f"('{charge['name']}' is a {charge['chargeType']} {charge['chargeModel']} charge).",
                )
            if isinstance(pricing, dict) and pricing.get("quantity") is not None:
                quantity = pricing["quantity"]
                if quantity < 0:
                    raise RejectedError(20, "The quantity must not be negative.")
                charge["quantity"] = quantity
    plan["lastChangeType"] = "Update"


def _renew(sub: dict[str, Any]) -> None:
    if sub["termType"] != "TERMED":
        raise RejectedError(30, "An evergreen subscription cannot be renewed.")
    period = sub["renewalTerm"] or sub["currentTerm"]
    start = date.fromisoformat(sub["termEndDate"])
    sub["termStartDate"] = start.isoformat()
    sub["termEndDate"] = add_months(start, _months(period, sub["renewalTermPeriodType"])).isoformat()
    sub["currentTerm"] = period


def _cancel(sub: dict[str, Any], body: dict[str, Any]) -> None:
    policy = body.get("cancellationPolicy")
    if policy == "SpecificDate":
        if not body.get("cancellationEffectiveDate"):
            raise RejectedError(22, "cancellationEffectiveDate is required when cancellationPolicy is SpecificDate.")
        day = str(body["cancellationEffectiveDate"])
    elif policy == "EndOfCurrentTerm" and sub["termEndDate"]:
        day = sub["termEndDate"]
    else:
        raise RejectedError(45, f"The cancellation policy {policy} is not supported here.")
    if day < sub["subscriptionStartDate"]:
        raise RejectedError(30, "The cancellation date cannot be before the subscription start date.")
    sub["status"] = "Cancelled"
    sub["cancelledDate"] = sub["subscriptionEndDate"] = day


def _plan_body(plan: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": plan["id"],
        "originalRatePlanId": plan["originalRatePlanId"],
        "productRatePlanId": plan["productRatePlanId"],
        "ratePlanName": plan["productRatePlanName"],
        "ratePlanCharges": [
            {
                "id": charge["id"],
                "originalChargeId": charge["originalChargeId"],
                "number": charge["number"],
                "name": charge["name"],
                "type": charge["chargeType"],
                "model": charge["chargeModel"],
                "productRatePlanChargeId": charge["productRatePlanChargeId"],
                "quantity": charge["quantity"],
            }
            for charge in plan["charges"]
        ],
        **plan.get("customFields", {}),
    }
    if plan.get("lastChangeType"):
        body["lastChangeType"] = plan["lastChangeType"]
    return body


def subscription_body(sub: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "subscriptionNumber", "version", "accountNumber", "accountId", "status", "termType", "initialTerm",
        "initialTermPeriodType", "currentTerm", "renewalTerm", "renewalTermPeriodType", "renewalSetting",
        "autoRenew", "termStartDate", "termEndDate", "subscriptionStartDate", "orderNumber",
    )  # fmt: skip
    body = {key: sub.get(key) for key in keys}
    body.update(
        {
            "success": True,
            "id": sub["id"],
            "currentTermPeriodType": sub.get("renewalTermPeriodType") or "Month",
            "contractEffectiveDate": sub.get("subscriptionStartDate"),
            "subscriptionEndDate": sub.get("subscriptionEndDate") or sub.get("termEndDate"),
            "isLatestVersion": True,
            "ratePlans": [_plan_body(p) for p in sub["ratePlans"] + sub.get("removedRatePlans", [])],
            **sub.get("customFields", {}),
        }
    )
    return body
