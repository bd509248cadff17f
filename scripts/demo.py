"""`make demo`: start the sandbox, send events/*.json through the checkout handler, show what each one did."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from sandbox.demo_data import seed_demo_data
from sandbox.invoke import invoke, load_event, load_handler, response_json
from sandbox.stack import SIGNING_SECRET, Sandbox

ROOT = Path(__file__).resolve().parent.parent
CHECKOUT_EVENTS = [
    "checkout-new-customer",
    "checkout-existing-contact",
    "checkout-company-domain",
    "checkout-free-mail",
    "checkout-returning-zuora-customer",
]


def quietly_invoke(handler: ModuleType, event_file: Path) -> dict[str, Any]:
    """Invoke with the function's own stdout (EMF metrics, JSON logs) kept out of the demo's output."""
    with contextlib.redirect_stdout(io.StringIO()):
        return invoke(handler, load_event(event_file, SIGNING_SECRET))


def replayed(response: dict[str, Any]) -> bool:
    return (response.get("multiValueHeaders") or {}).get("Idempotent-Replayed") == ["true"]


def describe(name: str, response: dict[str, Any], sandbox: Sandbox) -> str:
    body = response_json(response)
    status = response["statusCode"]
    replay = " (replayed)" if replayed(response) else ""
    if status != 201:
        return f"{name}: HTTP {status}{replay} {body}"
    account = sandbox.salesforce.get("Account", body["salesforceAccountId"]) or {}
    how = "created" if body["matchedBy"] == "created" else f"matched by {body['matchedBy']}"
    return (
        f"{name}: HTTP {status}{replay}\n"
        f'    Salesforce: Account {body["salesforceAccountId"]} "{account.get("Name")}" {how}\n'
        f"    Zuora:      account {body['zuoraAccountNumber']}, order {body['zuoraOrderNumber']} "
        f"({body['orderStatus']}), subscriptions {', '.join(body['subscriptionNumbers'])}"
    )


def main() -> int:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with Sandbox() as sandbox, sandbox.aws_environment():
        print(f"Sandbox up: Salesforce {sandbox.salesforce.url}, Zuora {sandbox.zuora.url}, AWS {sandbox.aws_endpoint}")
        seed_demo_data(sandbox)
        checkout = load_handler("checkout")
        failures = 0
        for name in CHECKOUT_EVENTS:
            response = quietly_invoke(checkout, ROOT / "events" / f"{name}.json")
            failures += response["statusCode"] != 201
            print(describe(name, response, sandbox))
        sf_calls, zuora_calls = len(sandbox.salesforce.calls), len(sandbox.zuora.calls)
        replay = quietly_invoke(checkout, ROOT / "events" / f"{CHECKOUT_EVENTS[0]}.json")
        print(describe(f"{CHECKOUT_EVENTS[0]} again (same Idempotency-Key)", replay, sandbox))
        print(
            f"    calls during the replay: Salesforce {len(sandbox.salesforce.calls) - sf_calls}, "
            f"Zuora {len(sandbox.zuora.calls) - zuora_calls}"
        )
        failures += not replayed(replay)
        print(
            f"Salesforce now holds {len(sandbox.salesforce.records('Account'))} Accounts; "
            f"Zuora holds {len(sandbox.zuora.accounts)} accounts and {len(sandbox.zuora.subscriptions)} "
            "subscriptions. Sandbox stopped."
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
