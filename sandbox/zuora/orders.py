"""Create Order, as the simulator answers it:

- ``Zuora-Version`` >= 223.0 (or a date-style version such as ``2025-08-12``) switches the Create
  Order response from ``subscriptionNumbers`` to ``subscriptions: [{subscriptionNumber, status}]``.

Create Order also refuses (nothing is kept of a refused order):

- ``collectPayment: true`` without ``runBilling: true`` ("This value can not be 'true' when 'runBilling' flag is
  'false'", published schema); category 20.
- a ``productRatePlanId`` not in the catalog (40); a ``chargeOverrides[].productRatePlanChargeId`` that is no
  charge of that rate plan (20); a pricing override of another charge model or type, e.g. ``recurringPerUnit`` on a
  flat fee or on a one-time charge (20); a rate plan with a charge priced in no tier of the account's currency (30).
- ``collectPayment`` with an amount due and no payment method to charge: neither
  ``electronicPaymentOptions.paymentMethodId`` nor a default payment method on the account. Zuora answers "To
  collect payment, the customer account must have a default payment method." (quoted from a Create Order failure
  in gitlab-org/customers-gitlab-com issue 4712); category 30.

What an order did: each subscription records its rate plans and each charge's quantity (the override's, else the
catalog's ``defaultQuantity``, else 1 for per-unit, tiered and volume charges; none for flat fees and usage).
``runBilling`` records an invoice in ``invoices`` (amounts: ``Charge.amount``), ``collectPayment`` a payment in
``payments`` with the payment method charged (the electronic payment option, else the account's default).
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.core import json_response
from sandbox.zuora import payment_methods as methods
from sandbox.zuora.accounts import AccountsApi
from sandbox.zuora.catalog import CatalogRefusalError, money
from sandbox.zuora.errors import RESOURCE_ORDER, RejectedError
from sandbox.zuora.state import now_iso

ORDERS = "/v1/orders"
_DATE_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def uses_subscriptions_field(version: str | None) -> bool:
    """True when the Create Order response lists ``subscriptions`` (Zuora-Version 223.0 or later)."""
    if not version:
        return False
    version = version.strip()
    if _DATE_VERSION.match(version):
        return True
    try:
        return float(version) >= 223.0
    except ValueError:
        return False


class OrdersApi(AccountsApi):
    """Create Order: the account (new or existing), its subscriptions, and with runBilling the invoice and
    payment."""

    def _create_order(self, request: Request) -> Response:
        try:
            body = self._validated_body(request, "POST", ORDERS, RESOURCE_ORDER)
            with self.lock, self._all_or_nothing():
                result = self._apply_order(body)
        except RejectedError as rejected:
            return json_response(rejected.body)
        if uses_subscriptions_field(request.headers.get("Zuora-Version")):
            numbers = result.pop("subscriptionNumbers")
            result["subscriptions"] = [{"subscriptionNumber": n, "status": "Active"} for n in numbers]
        return json_response(result)

    def _apply_order(self, body: dict[str, Any]) -> dict[str, Any]:
        has_new, existing = "newAccount" in body, body.get("existingAccountNumber")
        if has_new == bool(existing):
            raise RejectedError(20, "Specify exactly one of 'newAccount' and 'existingAccountNumber'.")
        options: dict[str, Any] = body.get("processingOptions") or {}
        if options.get("collectPayment") and not options.get("runBilling"):
            raise RejectedError(
                20, "'processingOptions.collectPayment' can not be 'true' when 'runBilling' flag is 'false'."
            )
        items = body["subscriptions"]
        changes = [item for item in items if not _creates(item)]
        plans = [_create_subscription_actions(item) for item in items if _creates(item)]
        order_number = body.get("orderNumber") or self._next("order", "O-{:08d}", self.orders)
        if order_number in self.orders:
            raise RejectedError(20, f"The order number {order_number} already exists.")
        if existing:
            account = self.accounts.get(existing)
            if account is None:
                raise RejectedError(40, f"Cannot find entity by key: '{existing}'.")
        else:
            account = self._open_account(body["newAccount"], "newAccount", create_account=False)
        numbers = [self._new_subscription(account, order_number, item, action) for item, action in plans]
        numbers += [self._change_subscription(account, order_number, item, body["orderDate"]) for item in changes]
        electronic = (options.get("electronicPaymentOptions") or {}).get("paymentMethodId")
        if electronic:
            field_name = "processingOptions.electronicPaymentOptions.paymentMethodId"
            methods.associate(self._usable_payment_method(electronic, account, field_name), account)
        self.orders[order_number] = {
            "orderNumber": order_number,
            "accountNumber": account["accountNumber"],
            "orderDate": body["orderDate"],
            "status": "Completed",
            "subscriptionNumbers": numbers,
            "processingOptions": options,
            "createdDate": now_iso(),
            "request": body,
        }
        result: dict[str, Any] = {
            "success": True,
            "orderNumber": order_number,
            "accountNumber": account["accountNumber"],
        }
        if options.get("runBilling"):
            result.update(self._bill(account, order_number, numbers, body["orderDate"], options, electronic))
        result.update({"status": "Completed", "subscriptionNumbers": numbers})
        return result

    def _new_subscription(
        self, account: dict[str, Any], order_number: str, item: dict[str, Any], action: dict[str, Any]
    ) -> str:
        create = action["createSubscription"]
        rate_plans = [self._subscribed_rate_plan(plan, account) for plan in create.get("subscribeToRatePlans", [])]
        number = create.get("subscriptionNumber") or item.get("subscriptionNumber")
        number = number or self._next("subscription", "A-S{:08d}", self.subscriptions)
        if number in self.subscriptions:
            raise RejectedError(20, f"The subscription number {number} already exists.")
        self.subscriptions[number] = {
            "id": uuid.uuid4().hex,
            "subscriptionNumber": number,
            "accountNumber": account["accountNumber"],
            "accountId": account["id"],
            "orderNumber": order_number,
            "status": "Active",
            "triggerDates": {t.get("name"): t.get("triggerDate") for t in action.get("triggerDates", [])},
            "terms": create.get("terms", {}),
            "ratePlans": rate_plans,
            "customFields": item.get("customFields", {}),
            "createdDate": now_iso(),
        }
        return str(number)

    def _change_subscription(
        self, account: dict[str, Any], order_number: str, item: dict[str, Any], order_date: str
    ) -> str:
        """Order actions on an existing subscription (`sandbox.zuora.subscriptions` answers them)."""
        raise RejectedError(45, "This order action is not supported.")

    def _subscribed_rate_plan(self, item: dict[str, Any], account: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.catalog.subscribe(item, account["currency"], account["accountNumber"])
        except CatalogRefusalError as refusal:
            raise RejectedError(refusal.category, str(refusal)) from None

    def _bill(
        self,
        account: dict[str, Any],
        order_number: str,
        subscription_numbers: list[str],
        order_date: str,
        options: dict[str, Any],
        electronic_payment_method: str | None,
    ) -> dict[str, Any]:
        """The invoice of the order's subscriptions and, with collectPayment, the payment of it."""
        currency = account["currency"]
        items = [
            item
            for number in subscription_numbers
            for item in self.catalog.invoice_items(self.subscriptions[number], currency)
        ]
        total = sum((Decimal(str(item["amount"])) for item in items), Decimal(0))
        invoice_number = self._next("invoice", "INV{:08d}", self.invoices)
        self.invoices[invoice_number] = {
            "invoiceNumber": invoice_number,
            "accountNumber": account["accountNumber"],
            "orderNumber": order_number,
            "invoiceDate": order_date,
            "currency": currency,
            "amount": money(total),
            "balance": money(total),
            "status": "Posted",
            "items": items,
        }
        outputs: dict[str, Any] = {"invoiceNumbers": [invoice_number]}
        if options.get("collectPayment") and total > 0:
            method_id = electronic_payment_method or account.get("defaultPaymentMethodId")
            if not method_id:
                raise RejectedError(30, methods.COLLECT_NEEDS_PAYMENT_METHOD)
            outputs["paymentNumber"] = self._collect(account, invoice_number, str(method_id))
        return outputs

    def _collect(self, account: dict[str, Any], invoice_number: str, payment_method_id: str) -> str:
        invoice = self.invoices[invoice_number]
        number = self._next("payment", "P-{:08d}", self.payments)
        self.payments[number] = {
            "paymentNumber": number,
            "accountNumber": account["accountNumber"],
            "paymentMethodId": payment_method_id,
            "amount": invoice["amount"],
            "currency": invoice["currency"],
            "invoiceNumber": invoice_number,
            "orderNumber": invoice["orderNumber"],
            "status": "Processed",
            "createdDate": now_iso(),
        }
        invoice["balance"] = 0.0
        method = self.payment_methods[payment_method_id]
        method["totalNumberOfProcessedPayments"] += 1
        method["lastTransaction"] = "Approved"
        return number


def _creates(item: dict[str, Any]) -> bool:
    return any(action.get("type") == "CreateSubscription" for action in item.get("orderActions", []))


def _create_subscription_actions(item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    actions = item.get("orderActions", [])
    if len(actions) != 1 or actions[0].get("type") != "CreateSubscription" or "createSubscription" not in actions[0]:
        raise RejectedError(45, "A new subscription takes exactly one CreateSubscription order action.")
    return item, actions[0]
