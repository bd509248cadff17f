"""`make demo`: start the sandbox, run the sample checkouts and Send to Zuora pushes, show what each one did."""

from __future__ import annotations

import contextlib
import html
import io
import logging
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

# As a deployed function has them: in the environment before the package's one Logger and Metrics are built, which
# happens on the first import of `sfzsync` (some sandbox modules import it).
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "sfzsync")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "SfzSync")

from sandbox.api_gateway import LocalApiGateway, deployed_routes
from sandbox.button_client import ButtonClient, text_of
from sandbox.demo_data import PASSWORD, REP, seed_button_data, seed_demo_data, seed_lifecycle
from sandbox.invoke import invoke, load_event, load_handler, response_json
from sandbox.stack import SIGNING_SECRET, Sandbox

ROOT = Path(__file__).resolve().parent.parent
CHECKOUT_EVENTS = [
    "checkout-new-customer",
    "checkout-existing-contact",
    "checkout-company-domain",
    "checkout-free-mail",
    "checkout-named-billing-account",
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


def run_checkouts(sandbox: Sandbox) -> int:
    """The sample checkouts of events/, then a replay of the first one; returns the number of surprises."""
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
    return failures + (not replayed(replay))


def run_button(sandbox: Sandbox) -> int:
    """A sales rep presses Send to Zuora on an Account, then on an Order, then on the same Order again; then on the
    contract's amendment, renewal and cancellation."""
    data = seed_button_data(sandbox)
    life = seed_lifecycle(sandbox, data)
    button = load_handler("send_to_zuora")
    failures = 0
    with (
        LocalApiGateway(deployed_routes(send_to_zuora=button), ssl_context=sandbox.ca.server_context()) as api,
        contextlib.redirect_stdout(io.StringIO()) as quiet,
    ):
        browser = ButtonClient(sandbox, api.url)
        steps = []
        for label, record in (("Account", {"accountId": data.account_id}), ("Order", {"orderId": data.order_id})):
            before = zuora_writes(sandbox)
            preview = browser.open(browser.button_url(**record), username=REP, password=PASSWORD)
            writes = zuora_writes(sandbox) - before
            result = browser.press_send(preview)
            steps.append((label, preview, writes, result))
        again = browser.press_send(preview)
        for label, order_id in (
            ("amendment", life.amendment_id),
            ("renewal", life.renewal_id),
            ("cancellation", life.cancellation_id),
        ):
            before = zuora_writes(sandbox)
            preview = browser.open(browser.button_url(orderId=order_id), username=REP, password=PASSWORD)
            writes = zuora_writes(sandbox) - before
            steps.append((f"Order's {label}", preview, writes, browser.press_send(preview)))
        quiet.truncate(0)  # the functions' EMF metrics and logs
    for label, preview, writes, result in steps:
        failures += preview.status_code != 200 or result.status_code != 200
        print(
            f"Send to Zuora on the {label} (signed in as {REP}): preview HTTP {preview.status_code}, "
            f"Zuora writes while previewing: {writes}"
        )
        print(f"    preview: {_preview_summary(preview.text)}")
        print(f"    result: {_result_summary(result.text)}")
    print(f"Send to Zuora on the Order again: {_result_summary(again.text)}")
    failures += 'data-outcome="already-sent"' not in again.text
    for number, subscription in sandbox.zuora.subscriptions.items():
        plans = ", ".join(
            f"{plan['productRatePlanName']} x {plan['charges'][0]['quantity'] or 1}"
            for plan in subscription["ratePlans"]
        )
        print(
            f"Zuora subscription {number}: version {subscription['version']}, {subscription['status']}, "
            f"term to {subscription['termEndDate']}; rate plans: {plans}"
        )
    return failures


def zuora_writes(sandbox: Sandbox) -> int:
    return sum(c.method in ("POST", "PUT") and c.path != "/oauth/token" for c in sandbox.zuora.calls)


def _preview_summary(page: str) -> str:
    will = re.findall(r"<dt>Zuora will</dt><dd>(.*?)</dd>", page)
    actions = [html.unescape(a) for a in re.findall(r"<tr><td>.*?<td>([^<]*)</td></tr>", page) if a and a != "—"]
    steps = [html.unescape(li) for li in re.findall(r"<li>(.*?)</li>", page)]
    return "; ".join([html.unescape(w) for w in will] + steps + actions)


def _result_summary(page: str) -> str:
    numbers = {
        key: text_of(page, key) for key in ("zuora-account-number", "zuora-order-number", "subscription-numbers")
    }
    message = re.search(r'id="result"[^>]*><p>(.*?)</p>', page)
    shown = ", ".join(f"{k.replace('-', ' ')} {v}" for k, v in numbers.items() if v)
    return f"{html.unescape(message.group(1)) if message else 'no result'} ({shown})"


def main() -> int:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with Sandbox() as sandbox, sandbox.aws_environment():
        print(f"Sandbox up: Salesforce {sandbox.salesforce.url}, Zuora {sandbox.zuora.url}, AWS {sandbox.aws_endpoint}")
        failures = run_checkouts(sandbox)
        failures += run_button(sandbox)
        print(
            f"Salesforce now holds {len(sandbox.salesforce.records('Account'))} Accounts; "
            f"Zuora holds {len(sandbox.zuora.accounts)} accounts and {len(sandbox.zuora.subscriptions)} "
            "subscriptions. Sandbox stopped."
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
