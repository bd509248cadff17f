"""Zuora "Create order" request bodies built from a checkout (shape checked against Zuora's OpenAPI in tests)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .models import CheckoutRequest, Customer, RatePlan, Term


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


def _rate_plan(plan: RatePlan) -> dict[str, Any]:
    body: dict[str, Any] = {"productRatePlanId": plan.productRatePlanId}
    if plan.quantity is not None:
        body["chargeOverrides"] = [
            {
                "productRatePlanChargeId": plan.productRatePlanChargeId,
                "pricing": {"recurringPerUnit": {"quantity": plan.quantity}},
            }
        ]
    return body


def _terms(term: Term, start: dt.date) -> dict[str, Any]:
    if term.type == "EVERGREEN":
        return {"initialTerm": {"termType": "EVERGREEN", "startDate": start.isoformat()}}
    renewal = term.renewalTerm or term.initialTerm
    return {
        "initialTerm": {
            "termType": "TERMED",
            "period": term.initialTerm,
            "periodType": term.periodType,
            "startDate": start.isoformat(),
        },
        "renewalSetting": "RENEW_WITH_SPECIFIC_TERM",
        "renewalTerms": [{"period": renewal, "periodType": term.periodType}],
        "autoRenew": term.autoRenew,
    }


def build_order_body(
    request: CheckoutRequest, email: str, crm_account_id: str, existing_account_number: str | None, today: dt.date
) -> dict[str, Any]:
    """The Create Order body: against the existing Zuora account when given, else a new one carrying crmId."""
    order = request.order
    order_date = order.orderDate or today
    body: dict[str, Any] = {"orderDate": order_date.isoformat()}
    if existing_account_number:
        body["existingAccountNumber"] = existing_account_number
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
    trigger_dates = [
        {"name": name, "triggerDate": order_date.isoformat()}
        for name in ("ContractEffective", "ServiceActivation", "CustomerAcceptance")
    ]
    body["subscriptions"] = [
        {
            "orderActions": [
                {
                    "type": "CreateSubscription",
                    "triggerDates": trigger_dates,
                    "createSubscription": {
                        "subscribeToRatePlans": [_rate_plan(plan) for plan in subscription.ratePlans],
                        "terms": _terms(subscription.term, order_date),
                    },
                }
            ]
        }
        for subscription in order.subscriptions
    ]
    body["processingOptions"] = {
        "runBilling": order.processingOptions.runBilling,
        "collectPayment": order.processingOptions.collectPayment,
    }
    return body
