"""Fault matrix, Send to Zuora: every outbound call of an Order push fails in every way that applies to it. The
page answers with the right status and tells the person whether trying again helps, and pressing Send again,
the fault gone, leaves one Zuora account for the Salesforce Account and one subscription for the Order."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pytest
import requests

from sandbox.button_client import ButtonClient, text_of
from sandbox.demo_data import PASSWORD, REP, ButtonData, seed_button_data
from tests.chaos.conftest import RESULTS, CellResult, Chaos
from tests.chaos.matrix import PUSH_CALLS, Call, Expect, FaultKind, cells, expected, fault_for

ORDER_WRITE_BACK_FIELDS = ("Zuora_Order_Number__c", "Zuora_Subscription_Number__c", "Zuora_Sync_Status__c")
ITEM_WRITE_BACK_FIELDS = ("Zuora_Subscription_Number__c", "Zuora_Rate_Plan_Id__c", "Zuora_Charge_Numbers__c")
MAX_ATTEMPTS = 10
MAX_SECONDS = 20.0
TEMPORARY = "This is temporary"


@dataclass(frozen=True)
class SignedIn:
    data: ButtonData
    client: ButtonClient
    preview: requests.Response  # the Order's preview page: its form is what Send posts


@pytest.fixture(scope="module")
def signed_in(chaos: Chaos) -> SignedIn:
    """One org, one signed-in sales rep, one Order preview; each cell starts from an empty Zuora and table."""
    chaos.reset()
    data = seed_button_data(chaos.sandbox)
    client = ButtonClient(chaos.sandbox, chaos.api.url)
    preview = client.open(client.button_url(orderId=data.order_id), username=REP, password=PASSWORD)
    assert preview.status_code == 200, preview.text
    return SignedIn(data, client, preview)


def _forget_write_back(chaos: Chaos, order_id: str) -> None:
    """Salesforce is not reset between cells: clear what the last cell's push wrote back onto the Order."""
    sf = chaos.sandbox.salesforce
    sf.update("Order", order_id, dict.fromkeys(ORDER_WRITE_BACK_FIELDS))
    for item in (i for i in sf.records("OrderItem") if i["OrderId"] == order_id):
        sf.update("OrderItem", item["Id"], dict.fromkeys(ITEM_WRITE_BACK_FIELDS))


def _first_answer_problems(page: requests.Response, expect: Expect) -> list[str]:
    if page.status_code != expect.status:
        return [f"first answer {page.status_code}, expected {expect.status}: {_error_text(page)}"]
    if page.status_code in (502, 504) and (TEMPORARY in page.text) is not expect.retryable:
        return [f"the page says {'try again' if TEMPORARY in page.text else 'fix the record'}: {_error_text(page)}"]
    return []


def _error_text(page: requests.Response) -> str:
    match = re.search(r"<main>(.*?)</main>", page.text, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1) if match else page.text)[:300].strip()


def _answer(page: requests.Response) -> str:
    if page.status_code in (502, 504):
        return f"{page.status_code} {'retryable' if TEMPORARY in page.text else 'not retryable'}"
    return str(page.status_code)


def _press_until_sent(signed_in: SignedIn, first: requests.Response) -> tuple[requests.Response, int]:
    """The person's side: press Send again (after Retry-After on a 409) until the result page, within bounds."""
    page, attempts, give_up = first, 1, time.monotonic() + MAX_SECONDS
    while page.status_code != 200 and attempts < MAX_ATTEMPTS and time.monotonic() < give_up:
        time.sleep(min(float(page.headers.get("Retry-After") or 0.05), 3.0))
        page, attempts = signed_in.client.press_send(signed_in.preview), attempts + 1
    return page, attempts


@pytest.mark.parametrize(("call", "kind"), cells(PUSH_CALLS), ids=lambda v: v.id)
def test_push_answers_the_fault_right_and_pressing_again_sends_the_order_once(
    chaos: Chaos, signed_in: SignedIn, call: Call, kind: FaultKind
) -> None:
    # Given an Order previewed by a signed-in rep, an empty Zuora (or one that knows the Account), and a failing call
    chaos.sandbox.zuora.reset()
    chaos.sandbox.clear_table()
    chaos.aws.reset()
    _forget_write_back(chaos, signed_in.data.order_id)
    account_id = signed_in.data.account_id
    if call.zuora_account:
        chaos.sandbox.zuora.seed_account(name="Wayne Enterprises", currency="USD", crm_id=account_id)
    chaos.server(call.system).add_fault(fault_for(call, kind))
    started = time.monotonic()

    # When the rep presses Send, and presses it again once the fault is gone
    first = signed_in.client.press_send(signed_in.preview)
    chaos.clear_faults()
    final, attempts = _press_until_sent(signed_in, first)

    # Then the first page said what happened, and Zuora has one account and one subscription for the Order
    expect = expected(call, kind)
    problems = _first_answer_problems(first, expect)
    zuora_accounts = [a for a in chaos.sandbox.zuora.accounts.values() if a.get("crmId") == account_id]
    subscriptions = list(chaos.sandbox.zuora.subscriptions.values())
    RESULTS.append(
        CellResult(
            "push",
            call.id,
            kind.label,
            str(expect),
            _answer(first),
            attempts,
            str(final.status_code),
            len(zuora_accounts),
            len(subscriptions),
            time.monotonic() - started,
            problems,
        )
    )
    assert problems == []
    assert final.status_code == 200, f"not sent after {attempts} presses: {_error_text(final)}"
    # "repaired": the order was in Zuora (its answer lost); the press found it there and only filled in Salesforce
    assert re.search(r'data-outcome="(sent|already-sent|repaired)"', final.text)
    assert len(zuora_accounts) == 1 and len(subscriptions) == 1
    assert text_of(final.text, "subscription-numbers") == subscriptions[0]["subscriptionNumber"]
    assert subscriptions[0]["accountNumber"] == zuora_accounts[0]["accountNumber"]
    assert chaos.sandbox.zuora.schema_violations == []
