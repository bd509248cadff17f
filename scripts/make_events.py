"""Write events/*.json: API Gateway proxy events for `sam local invoke -e` and the local runner."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.demo_data import UMBRELLA_BILLING_ACCOUNT, checkout_body
from sandbox.invoke import api_event
from sandbox.zuora import CHECKOUT_PAYMENT_METHOD_ID, SPARE_PAYMENT_METHODS

EVENTS = Path(__file__).resolve().parent.parent / "events"


# name: (email, first name, last name, company, the card from the hosted payment page, the order's extra fields)
SCENARIOS = {
    "checkout-new-customer": (
        "Jane.Doe@Acme-Rockets.com",
        "Jane",
        "Doe",
        "Acme Rockets Inc",
        CHECKOUT_PAYMENT_METHOD_ID,
        {},
    ),
    "checkout-existing-contact": ("MARIA.GARCIA@globex.com", "Maria", "Garcia", "Globex", SPARE_PAYMENT_METHODS[0], {}),
    "checkout-company-domain": (
        "peter@mail.initech.co.uk",
        "Peter",
        "Gibbons",
        "Initech",
        SPARE_PAYMENT_METHODS[1],
        {},
    ),
    "checkout-free-mail": ("sam.smith@gmail.com", "Sam", "Smith", None, SPARE_PAYMENT_METHODS[2], {}),
    "checkout-named-billing-account": (
        "alice@umbrella-corp.com",
        "Alice",
        "Abernathy",
        "Umbrella",
        SPARE_PAYMENT_METHODS[3],
        {"zuoraAccountNumber": UMBRELLA_BILLING_ACCOUNT},
    ),
}


def main() -> None:
    EVENTS.mkdir(exist_ok=True)
    for stale in EVENTS.glob("checkout-*.json"):
        stale.unlink()
    for name, (email, first, last, company, card, order) in SCENARIOS.items():
        body = checkout_body(
            email, company=company, first=first, last=last, billCycleDay=0, paymentMethodId=card, **order
        )
        raw = json.dumps(body)
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": f"{name}-0001",
            "X-Signature": "t=0,v1=stale: sign with scripts/sign-event",
        }
        event = api_event("POST", "/orders", raw, headers)
        event["requestContext"]["requestId"] = f"{name}-request"
        event["requestContext"]["extendedRequestId"] = f"{name}-request"
        event["requestContext"]["requestTimeEpoch"] = 1795000000000
        (EVENTS / f"{name}.json").write_text(json.dumps(event, indent=2) + "\n")
    button_events()


BUTTONS = {
    "sfdccpq-account": {"accountId": "0015e00000AbCdEAAV"},
    "sfdccpq-order": {"orderId": "8015e00000XyZabAAF"},
}


def button_events() -> None:
    """The Send to Zuora button URLs as Salesforce opens them (no session yet: the answer is a sign-in redirect)."""
    for name, record in BUTTONS.items():
        query = {"sfdc": "acme.my.salesforce.com", **record}
        event = api_event("GET", "/sfdccpq", None, {"Accept": "text/html"}, query)
        event["requestContext"]["requestId"] = f"{name}-request"
        event["requestContext"]["extendedRequestId"] = f"{name}-request"
        event["requestContext"]["requestTimeEpoch"] = 1795000000000
        (EVENTS / f"{name}.json").write_text(json.dumps(event, indent=2) + "\n")


if __name__ == "__main__":
    main()
