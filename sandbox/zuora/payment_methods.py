"""Payment method records of the Zuora simulator, and the rules a new account's payment method follows.

A payment method is a dict (``new_payment_method``) with ``accountId`` / ``accountNumber`` None while it is an
orphan, what Zuora's hosted payment page creates before any account exists. ``detail`` is its
``GET /v1/payment-methods/{payment-method-id}`` answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

CARD_TYPES = ("CreditCard", "DebitCard", "CreditCardReferenceTransaction")
# Zuora's message when an auto-pay account gets no electronic payment method (quoted from a CRUD update failure in
# gitlab-org/customers-gitlab-com issue 8425).
AUTO_PAY_NEEDS_PAYMENT_METHOD = (
    "Because this customer account is designated as Auto-Pay, you must specify an Electronic Payment Method as the "
    "default."
)
# Zuora's answer to a Create Order that collects payment from an account without one (quoted in
# gitlab-org/customers-gitlab-com issue 4712).
COLLECT_NEEDS_PAYMENT_METHOD = "To collect payment, the customer account must have a default payment method."


def new_payment_method(
    payment_method_id: str, *, type: str = "CreditCard", card_type: str = "Visa", last4: str = "1111"
) -> dict[str, Any]:
    """An orphan payment method record (card fields only on card types)."""
    card = type in CARD_TYPES
    now = _now()
    return {
        "id": payment_method_id,
        "type": type,
        "accountId": None,
        "accountNumber": None,
        "status": "Active",
        "creditCardType": card_type if card else None,
        "creditCardMaskNumber": f"************{last4}" if card else None,
        "creditCardExpirationMonth": 12 if card else None,
        "creditCardExpirationYear": 2030 if card else None,
        "creditCardHolderName": "Sandbox Shopper" if card else None,
        "totalNumberOfProcessedPayments": 0,
        "totalNumberOfErrorPayments": 0,
        "lastTransaction": None,
        "createdDate": now,
        "updatedDate": now,
    }


def associate(method: dict[str, Any], account: Mapping[str, Any]) -> None:
    """`method` now belongs to `account`."""
    method["accountId"], method["accountNumber"] = account["id"], account["accountNumber"]
    method["updatedDate"] = _now()


def owned_by_another(method: Mapping[str, Any], account: Mapping[str, Any] | None) -> bool:
    """Whether `method` belongs to an account other than `account` (None: an account not created yet)."""
    owner = method["accountId"]
    return owner is not None and (account is None or owner != account["id"])


def new_account_problem(body: Mapping[str, Any], where: str, *, create_account: bool) -> str | None:
    """Why Zuora refuses the payment method fields of a new account's body (category 20), or None.

    From the published schema: ``hpmCreditCardPaymentMethodId`` "If the autoPay field is set to true, you must
    provide the credit card payment method ID for either this field or the creditCard field, but not both";
    Create Account's ``paymentMethod`` "can not [be used] together with creditCard or hpmCreditCardPaymentMethodId";
    Create Account's ``autoPay`` "If this field is set to false, you can specify neither the creditCard field nor
    the hpmCreditCardPaymentMethodId field". ``paymentMethod`` also satisfies auto-pay: Zuora recommends it over the
    deprecated ``creditCard``.
    """
    prefix = f"{where}." if where else ""
    hpm, card, method = body.get("hpmCreditCardPaymentMethodId"), body.get("creditCard"), body.get("paymentMethod")
    if hpm and card:
        return f"Specify either '{prefix}hpmCreditCardPaymentMethodId' or '{prefix}creditCard', but not both."
    if method and (hpm or card):
        return f"'{prefix}paymentMethod' can not be used with 'creditCard' or 'hpmCreditCardPaymentMethodId'."
    if body.get("autoPay") is True and not (hpm or card or method):
        return AUTO_PAY_NEEDS_PAYMENT_METHOD
    if create_account and body.get("autoPay") is False and (hpm or card):
        return "With 'autoPay' false, specify neither 'creditCard' nor 'hpmCreditCardPaymentMethodId'."
    return None


def described(body: Mapping[str, Any]) -> dict[str, str] | None:
    """The payment method a new account's ``creditCard`` / ``paymentMethod`` describes, as `new_payment_method`
    keyword arguments; None when it describes none."""
    details = body.get("creditCard") or body.get("paymentMethod")
    if not details:
        return None
    return {
        "type": str(details.get("type", "CreditCard")),
        "card_type": str(details.get("cardType", "Visa")),
        "last4": str(details.get("cardNumber") or "1111")[-4:],
    }


def detail(method: Mapping[str, Any], owner: Mapping[str, Any] | None) -> dict[str, Any]:
    """ "Retrieve a payment method": the SDK's PaymentMethodResponse fields, plus ``accountKey`` (the owning
    account's id, null for an orphan) from the published example answer."""
    return {
        "id": method["id"],
        "type": method["type"],
        "status": method["status"],
        "accountKey": method["accountId"],
        "isDefault": owner is not None and owner.get("defaultPaymentMethodId") == method["id"],
        "cardNumber": method["creditCardMaskNumber"],
        "creditCardMaskNumber": method["creditCardMaskNumber"],
        "creditCardType": method["creditCardType"],
        "expirationMonth": method["creditCardExpirationMonth"],
        "expirationYear": method["creditCardExpirationYear"],
        "accountHolderInfo": {"accountHolderName": method["creditCardHolderName"]},
        "lastTransaction": method["lastTransaction"],
        "totalNumberOfProcessedPayments": method["totalNumberOfProcessedPayments"],
        "totalNumberOfErrorPayments": method["totalNumberOfErrorPayments"],
        "createdDate": method["createdDate"],
        "updatedDate": method["updatedDate"],
        "success": True,
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
