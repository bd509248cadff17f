"""Write events/*.json: API Gateway proxy events for `sam local invoke -e` and the local runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sandbox.invoke import api_event

EVENTS = Path(__file__).resolve().parent.parent / "events"
PLAN = {
    "productRatePlanId": "8ad09be48db5aba7018db604776d4854",
    "quantity": 3,
    "productRatePlanChargeId": "8ad09be48db5aba7018db60477a54856",
}


def _body(
    email: str, first: str, last: str, company: str | None, *, country: str = "US", currency: str = "USD"
) -> dict[str, Any]:
    return {
        "customer": {
            "email": email,
            "firstName": first,
            "lastName": last,
            "company": company,
            "phone": "+1 415 555 0100",
            "address": {
                "line1": "1 Main St",
                "line2": None,
                "city": "San Francisco",
                "state": "CA",
                "postalCode": "94105",
                "country": country,
            },
        },
        "order": {
            "currency": currency,
            "billCycleDay": 0,
            "paymentMethodId": "8ad0950c8c4b7d1d018c5e4f1c7a0aa1",
            "autoPay": True,
            "subscriptions": [
                {
                    "ratePlans": [PLAN],
                    "term": {
                        "type": "TERMED",
                        "initialTerm": 12,
                        "renewalTerm": 12,
                        "periodType": "Month",
                        "autoRenew": True,
                    },
                }
            ],
            "processingOptions": {"runBilling": True, "collectPayment": True},
        },
    }


SCENARIOS = {
    "checkout-new-customer": ("Jane.Doe@Acme-Rockets.com", "Jane", "Doe", "Acme Rockets Inc"),
    "checkout-existing-contact": ("MARIA.GARCIA@globex.com", "Maria", "Garcia", "Globex"),
    "checkout-company-domain": ("peter@mail.initech.co.uk", "Peter", "Gibbons", "Initech"),
    "checkout-free-mail": ("sam.smith@gmail.com", "Sam", "Smith", None),
    "checkout-returning-zuora-customer": ("alice@umbrella-corp.com", "Alice", "Abernathy", "Umbrella"),
}


def main() -> None:
    EVENTS.mkdir(exist_ok=True)
    for name, (email, first, last, company) in SCENARIOS.items():
        raw = json.dumps(_body(email, first, last, company))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": f"{name}-0001",
            "X-Signature": "t=0,v1=re-signed-by-the-local-runner-or-scripts/sign-event",
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
