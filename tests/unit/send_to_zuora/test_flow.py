"""What a Salesforce Account or Order becomes in Zuora: plans, blocking problems and the Create Order body."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from sandbox.zuora import validate_request_body
from sfzsync.gateways.salesforce_user import OrderLine, OrderRecord
from sfzsync.gateways.zuora import ZuoraAccount
from sfzsync.send_to_zuora.flow import order_body
from tests.unit.send_to_zuora.fakes import ACCOUNT, flow, line


def _order(*lines: OrderLine) -> OrderRecord:
    return OrderRecord(
        "801000000000001AAA", "00000100", ACCOUNT.account_id, dt.date(2026, 12, 1), "Activated", list(lines)
    )


def test_account_without_billing_country_or_contact_is_blocked_with_both_reasons() -> None:
    account = replace(ACCOUNT, billing=replace(ACCOUNT.billing, country=None), contact=None)
    problems = flow().plan_account(account).problems
    assert any("Billing Country" in p for p in problems) and any("no Contact" in p for p in problems)


def test_order_plan_flags_unmapped_products_mixed_terms_and_quantities_without_a_charge() -> None:
    plan = flow().plan_order(
        _order(
            line(rate_plan_id=None, product_name="Widget"),
            line(term_months=24),
            line(charge_id=None, product_name="Seats"),
        ),
        ACCOUNT,
    )
    text = " ".join(plan.problems)
    assert 'Product "Widget" has no Zuora product rate plan' in text
    assert "different subscription terms (12, 24 months)" in text
    assert 'Product "Seats" is ordered 3 times' in text


@pytest.mark.parametrize("term", [12, None])
def test_order_body_validates_against_zuoras_published_schema(term: int | None) -> None:
    lines = (line(term_months=term), line(charge_type="One-Time", quantity=1.0, term_months=term))
    plan = flow().plan_order(_order(*lines), ACCOUNT)
    body = order_body(plan, "A00000001")

    assert validate_request_body("POST", "/v1/orders", body) == []
    subscription = body["subscriptions"][0]["orderActions"][0]["createSubscription"]
    assert subscription["terms"]["initialTerm"]["termType"] == ("TERMED" if term else "EVERGREEN")
    assert subscription["subscribeToRatePlans"][0]["chargeOverrides"][0]["pricing"] == {
        "recurringPerUnit": {"quantity": 3}
    }


def test_existing_zuora_account_is_updated_not_created() -> None:
    plan = flow([ZuoraAccount("id2", "A00000002", "EUR", "Active")]).plan_account(ACCOUNT)
    assert (plan.action, plan.currency) == ("update Zuora account A00000002", "EUR")
    assert (
        validate_request_body(
            "PUT", "/v1/accounts/{account-key}", {"name": ACCOUNT.name, "billToContact": plan.bill_to()}
        )
        == []
    )
