"""Accounts (Create Account, Get/Update Account, the Object Query account row) and their payment methods.

Payment methods:

- A payment method without an account is an orphan, what Zuora's hosted payment page creates. ``GET
  /v1/payment-methods/{payment-method-id}`` answers it (``accountKey`` is the owning account's id, null for an
  orphan), else category 40.
- ``newAccount.hpmCreditCardPaymentMethodId`` (Create Order) / ``hpmCreditCardPaymentMethodId`` (Create Account)
  becomes the new account's default payment method ("The payment method specified for this field will be set as
  the default payment method of the account"); ``creditCard`` / ``paymentMethod`` create one. With ``autoPay:
  true`` one of them is required, and ``hpmCreditCardPaymentMethodId`` and ``creditCard`` not both (published
  schema, ``hpmCreditCardPaymentMethodId``); Create Account also refuses them with ``autoPay: false`` (its
  ``autoPay`` description). ``processingOptions.electronicPaymentOptions.paymentMethodId`` may be the account's
  own payment method or an orphan, which the order then associates with the account (published schema) without
  making it the default (Knowledge Center "Using Z-Payments Page with Zuora": for an existing account the payment
  method "will be used for this payment" but "will not be set as the default").
- An unknown payment method id is a category 40 refusal; one that belongs to another account a category 30 one.
"""

from __future__ import annotations

import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.core import json_response
from sandbox.zuora import payment_methods as methods
from sandbox.zuora.errors import RESOURCE_ACCOUNT, RejectedError, zuora_failure
from sandbox.zuora.state import ZuoraState, not_allowed, now_iso

ACCOUNTS = "/v1/accounts"
ACCOUNT_KEY = "/v1/accounts/{account-key}"
PAYMENT_METHODS = "/v1/payment-methods"
_ACCOUNT_RESERVED = {"billToContact", "soldToContact", "creditCard", "paymentMethod", "hpmCreditCardPaymentMethodId"}


class AccountsApi(ZuoraState):
    """Create Account, Get/Update Account and Get Payment Method, and the accounts Create Order opens."""

    def find_account(self, key: str) -> dict[str, Any] | None:
        """The account whose number or id is `key`."""
        with self.lock:
            if key in self.accounts:
                return self.accounts[key]
            return next((a for a in self.accounts.values() if a["id"] == key), None)

    def _new_account(self, body: dict[str, Any]) -> dict[str, Any]:
        number = body.get("accountNumber") or self._next("account", "A{:08d}", self.accounts)
        if number in self.accounts:
            raise RejectedError(20, f"The account number {number} is invalid or already exists.", RESOURCE_ACCOUNT)
        bill_to = dict(body.get("billToContact") or {})
        sold_to = dict(body.get("soldToContact") or bill_to)
        now = now_iso()
        account = {key: value for key, value in body.items() if key not in _ACCOUNT_RESERVED}
        account.update(
            {
                "id": uuid.uuid4().hex,
                "accountNumber": number,
                "status": "Active",
                "billCycleDay": body.get("billCycleDay", 0),
                "autoPay": body.get("autoPay", False),
                "batch": body.get("batch", "Batch1"),
                "crmId": body.get("crmId"),
                "billToContact": {"id": uuid.uuid4().hex, **bill_to},
                "soldToContact": {"id": uuid.uuid4().hex, **sold_to},
                "defaultPaymentMethodId": None,
                "createdDate": now,
                "updatedDate": now,
            }
        )
        self.accounts[number] = account
        return account

    def _open_account(self, body: dict[str, Any], where: str, *, create_account: bool) -> dict[str, Any]:
        """A new account (Create Order's newAccount, Create Account's body) whose default payment method is the one
        its body names or describes (``sandbox.zuora.payment_methods.new_account_problem`` has the rules)."""
        problem = methods.new_account_problem(body, where, create_account=create_account)
        if problem:
            raise RejectedError(20, problem)
        hpm = body.get("hpmCreditCardPaymentMethodId")
        field_name = f"{where}.hpmCreditCardPaymentMethodId" if where else "hpmCreditCardPaymentMethodId"
        orphan = self._usable_payment_method(hpm, None, field_name) if hpm else None
        account = self._new_account(body)
        described = methods.described(body)
        if orphan is None and described is not None:
            orphan = self._new_payment_method(**described)
        if orphan is not None:
            self._make_default(account, orphan)
        return account

    def _create_account(self, request: Request) -> Response:
        try:
            body = self._validated_body(request, "POST", ACCOUNTS, RESOURCE_ACCOUNT)
            if "subscription" in body:
                raise RejectedError(45, "The sandbox does not create subscriptions through Create Account.")
            with self.lock, self._all_or_nothing():
                account = self._open_account(body, "", create_account=True)
        except RejectedError as rejected:
            return json_response(rejected.body)
        result = {
            "success": True,
            "accountId": account["id"],
            "accountNumber": account["accountNumber"],
            "billToContactId": account["billToContact"]["id"],
            "soldToContactId": account["soldToContact"]["id"],
        }
        if account["defaultPaymentMethodId"]:
            result["paymentMethodId"] = account["defaultPaymentMethodId"]
        return json_response(result)

    def _account_by_key(self, request: Request, key: str) -> Response:
        if request.method not in ("GET", "PUT"):
            return not_allowed()
        account = self.find_account(key)
        if account is None:
            return json_response(zuora_failure(40, f"Cannot find entity by key: '{key}'.", RESOURCE_ACCOUNT))
        if request.method == "GET":
            with self.lock:
                return json_response(_account_detail(account))
        try:
            body = self._validated_body(request, "PUT", ACCOUNT_KEY, RESOURCE_ACCOUNT)
        except RejectedError as rejected:
            return json_response(rejected.body)
        with self.lock:
            _update_account(account, body)
        return json_response({"success": True})

    # --- payment methods -------------------------------------------------------------------------
    def _new_payment_method(
        self,
        payment_method_id: str | None = None,
        *,
        type: str = "CreditCard",
        card_type: str = "Visa",
        last4: str = "1111",
    ) -> dict[str, Any]:
        method = methods.new_payment_method(
            payment_method_id or uuid.uuid4().hex, type=type, card_type=card_type, last4=last4
        )
        self.payment_methods[method["id"]] = method
        return method

    def _usable_payment_method(
        self, payment_method_id: str, account: dict[str, Any] | None, field_name: str
    ) -> dict[str, Any]:
        """The payment method `field_name` names, if it is an orphan or already `account`'s."""
        method = self.payment_methods.get(payment_method_id)
        if method is None:
            raise RejectedError(40, f"Cannot find payment method '{payment_method_id}' given in '{field_name}'.")
        if methods.owned_by_another(method, account):
            raise RejectedError(
                30, f"The payment method {payment_method_id} given in '{field_name}' belongs to another account."
            )
        return method

    def _make_default(self, account: dict[str, Any], method: dict[str, Any]) -> None:
        methods.associate(method, account)
        account["defaultPaymentMethodId"] = method["id"]

    def _payment_method(self, payment_method_id: str) -> Response:
        with self.lock:
            method = self.payment_methods.get(payment_method_id)
            if method is None:
                return json_response(zuora_failure(40, f"Cannot find entity by key: '{payment_method_id}'."))
            owner = self.accounts.get(method["accountNumber"] or "")
            return json_response(methods.detail(method, owner))


def _update_account(account: dict[str, Any], body: dict[str, Any]) -> None:
    for key in ("billToContact", "soldToContact"):
        if key in body:
            account[key] = {**account[key], **body[key]}
    account.update({key: value for key, value in body.items() if key not in ("billToContact", "soldToContact")})
    account["updatedDate"] = now_iso()


def _contact_out(contact: dict[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in contact.items() if key != "postalCode"}
    out["zipCode"] = contact.get("zipCode", contact.get("postalCode"))
    return out


def _account_detail(account: dict[str, Any]) -> dict[str, Any]:
    basic_keys = ("id", "accountNumber", "name", "crmId", "status", "batch", "notes", "salesRep", "parentId")
    basic = {key: account.get(key) for key in basic_keys}
    basic.update({key: value for key, value in account.items() if key.endswith("__c")})
    return {
        "basicInfo": basic,
        "billingAndPayment": {
            "billCycleDay": account["billCycleDay"],
            "currency": account["currency"],
            "autoPay": account["autoPay"],
            # in the 2025-08-12 model (AccountBillingAndPayment), not in the 2021 document
            "defaultPaymentMethodId": account.get("defaultPaymentMethodId"),
            "paymentTerm": account.get("paymentTerm", "Due Upon Receipt"),
            "invoiceDeliveryPrefsEmail": account.get("invoiceDeliveryPrefsEmail", False),
            "invoiceDeliveryPrefsPrint": account.get("invoiceDeliveryPrefsPrint", False),
        },
        "billToContact": _contact_out(account["billToContact"]),
        "soldToContact": _contact_out(account["soldToContact"]),
        "metrics": {"balance": 0, "contractedMrr": 0, "creditBalance": 0, "totalInvoiceBalance": 0},
        "success": True,
    }


def account_query_row(account: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": account["id"],
        "accountNumber": account["accountNumber"],
        "name": account["name"],
        "currency": account["currency"],
        "crmId": account.get("crmId"),
        "status": account["status"],
        "billCycleDay": account["billCycleDay"],
        "autoPay": account["autoPay"],
        "batch": account["batch"],
        "balance": 0.0,
        "billToId": account["billToContact"]["id"],
        "soldToId": account["soldToContact"]["id"],
        "defaultPaymentMethodId": account.get("defaultPaymentMethodId"),
        "createdDate": account["createdDate"],
        "updatedDate": account["updatedDate"],
    }
