"""The checkout's Zuora "Create order" body: a new billing account or the named one, and its subscriptions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sfzsync.checkout.catalog import PlannedRatePlan
from sfzsync.checkout.models import CheckoutRequest, Customer, Term
from sfzsync.zuora_orders import SubscriptionTerm, new_subscription, rate_plan_body


def account_name(customer: Customer) -> str:
    """Company, else "First Last" (Salesforce requires a Name)."""
    if customer.company:
        return customer.company
    return " ".join(part for part in (customer.firstName, customer.lastName) if part)


def _bill_to_contact(customer: Customer, email: str) -> dict[str, Any]:
    address = customer.address
    contact: dict[str, Any] = {
        "firstName": customer.firstName or customer.lastName,
        "lastName": customer.lastName,
        "workEmail": email,
        "address1": address.line1,
        "city": address.city,
        "country": address.country,
    }
    optional = {
        "address2": address.line2,
        "state": address.state,
        "postalCode": address.postalCode,
        "workPhone": customer.phone,
    }
    contact.update({key: value for key, value in optional.items() if value})
    return contact


def _term(term: Term) -> SubscriptionTerm:
    if term.type == "EVERGREEN":
        return SubscriptionTerm()
    return SubscriptionTerm(term.initialTerm, term.periodType, term.renewalTerm, term.autoRenew)


def build_order_body(
    request: CheckoutRequest,
    email: str,
    crm_account_id: str,
    subscriptions: list[list[PlannedRatePlan]],
    order_date: dt.date,
) -> dict[str, Any]:
    """The Create Order body: on the billing account the request names, else on a new one carrying crmId.

    A Salesforce match never picks the billing account: it links the CRM record, it does not prove who pays.
    """
    order = request.order
    body: dict[str, Any] = {"orderDate": order_date.isoformat()}
    processing: dict[str, Any] = {
        "runBilling": order.processingOptions.runBilling,
        "collectPayment": order.processingOptions.collectPayment,
    }
    if order.zuoraAccountNumber:
        body["existingAccountNumber"] = order.zuoraAccountNumber
        if order.paymentMethodId:
            # Zuora associates an orphan payment method (as the hosted payment page makes) with the account and
            # charges this order's payment to it, not to the account's stored default.
            processing["electronicPaymentOptions"] = {"paymentMethodId": order.paymentMethodId}
    else:
        new_account: dict[str, Any] = {
            "name": account_name(request.customer),
            "currency": order.currency,
            "billCycleDay": order.billCycleDay,
            "autoPay": order.autoPay,
            "crmId": crm_account_id,
            # Without soldToContact Zuora uses the bill-to contact as sold-to; the published schema (2021) has no
            # soldToSameAsBillTo field, so it is not sent.
            "billToContact": _bill_to_contact(request.customer, email),
        }
        if order.paymentMethodId:
            new_account["hpmCreditCardPaymentMethodId"] = order.paymentMethodId
        body["newAccount"] = new_account
    body["subscriptions"] = [
        new_subscription(
            [rate_plan_body(plan.rate_plan_id, plan.quantities) for plan in plans], _term(subscription.term), order_date
        )
        for subscription, plans in zip(order.subscriptions, subscriptions, strict=True)
    ]
    body["processingOptions"] = processing
    return body
