"""Amendments, renewals and cancellations as Zuora order actions on the subscription the original Order became."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sandbox.zuora import validate_request_body
from sfzsync.errors import UpstreamError
from sfzsync.gateways.salesforce_records import OrderLine, OrderRecord
from sfzsync.gateways.zuora import ZuoraAccount
from sfzsync.send_to_zuora.order_body import order_body
from sfzsync.send_to_zuora.plans import OrderPlan
from sfzsync.settings import ZuoraLinkFields
from tests.unit.send_to_zuora.fakes import (
    ACCOUNT,
    ONBOARDING,
    PRO,
    STORAGE,
    SUBSCRIPTION,
    SUPPORT,
    FakeStore,
    FakeWriter,
    FakeZuora,
    flow,
    line,
    order,
    origin,
    subscription,
    zuora_plan,
)

ORIGIN_PRO, ORIGIN_SUPPORT = "802000000000011AAA", "802000000000012AAA"
LINKS = ZuoraLinkFields()
ACCOUNT_Z = [ZuoraAccount("id1", "A00000001", "USD", "Active")]


def _zuora(seats: float = 25, *, term_type: str = "TERMED", support_removed: bool = False) -> FakeZuora:
    pro = zuora_plan(
        "rp-pro-v2", PRO, [("C-1", "Recurring", "PerUnit", seats), ("C-2", "Recurring", "FlatFee", None)], ORIGIN_PRO
    )
    pro = replace(pro, original_rate_plan_id="rp-pro-v1")
    support = zuora_plan(
        "rp-sup", SUPPORT, [("C-3", "Recurring", "FlatFee", None)], ORIGIN_SUPPORT, removed=support_removed
    )
    return FakeZuora(ACCOUNT_Z, {SUBSCRIPTION: subscription(pro, support, term_type=term_type)})


def _amendment(*lines: OrderLine, **changes: object) -> OrderRecord:
    origins = {ORIGIN_PRO: origin(ORIGIN_PRO, 25, "rp-pro-v1"), ORIGIN_SUPPORT: origin(ORIGIN_SUPPORT, 1, "rp-sup")}
    return order(*lines, order_type="Amendment", origins=origins, **changes)


def _plus(quantity: float) -> OrderLine:
    return line(item_id="802000000000021AAA", quantity=quantity, revised_item_id=ORIGIN_PRO, charge_id=None)


def _cancel_support() -> OrderLine:
    return line(
        item_id="802000000000022AAA",
        rate_plan_id=SUPPORT,
        charge_id=None,
        product_name="Support",
        quantity=-1,
        revised_item_id=ORIGIN_SUPPORT,
        contract_action="Cancel",
    )


def _plan(zuora: FakeZuora, the_order: OrderRecord) -> OrderPlan:
    return flow(zuora=zuora).plan_order(the_order, ACCOUNT)


def test_a_quantity_change_becomes_update_product_on_the_originals_rate_plan_old_plus_change() -> None:
    plan = _plan(_zuora(), _amendment(_plus(2)))

    (action,) = plan.actions
    assert plan.problems == [] and action.kind == "UpdateProduct"
    assert action.text == f"+2 Platform on {SUBSCRIPTION}, 25 → 27"
    body = order_body(plan, "A00000001", LINKS)["subscriptions"][0]
    assert body["subscriptionNumber"] == SUBSCRIPTION
    # the rate plan id Salesforce holds is an earlier version's: Zuora accepts "any history version id"
    assert body["orderActions"][0]["updateProduct"] == {
        "ratePlanId": "rp-pro-v2",
        "chargeUpdates": [{"chargeNumber": "C-1", "pricing": {"recurringPerUnit": {"quantity": 27}}}],
    }


def test_a_line_brought_to_zero_or_marked_cancel_becomes_remove_product() -> None:
    plan = _plan(_zuora(), _amendment(_cancel_support(), _plus(-3)))
    assert [a.kind for a in plan.actions] == ["RemoveProduct", "UpdateProduct"]
    assert _plan(_zuora(), _amendment(_plus(-25))).actions[0].kind == "RemoveProduct"


def test_every_rate_plan_removed_becomes_one_cancel_subscription_on_the_orders_date() -> None:
    plan = _plan(_zuora(), _amendment(_cancel_support(), _plus(-25)))

    actions = order_body(plan, "A00000001", LINKS)["subscriptions"][0]["orderActions"]

    assert actions == [
        {
            "type": "CancelSubscription",
            "cancelSubscription": {"cancellationPolicy": "SpecificDate", "cancellationEffectiveDate": "2027-03-01"},
        }
    ]


def test_a_new_product_on_an_amendment_becomes_add_product_on_the_same_subscription() -> None:
    new = line(item_id="802000000000023AAA", rate_plan_id=STORAGE, charge_id=None, quantity=10, product_name="Storage")
    plan = _plan(_zuora(), _amendment(_plus(2), new))
    body = order_body(plan, "A00000001", LINKS)
    actions = body["subscriptions"][0]["orderActions"]
    assert [a["type"] for a in actions] == ["UpdateProduct", "AddProduct"]
    assert actions[1]["addProduct"]["customFields"] == {LINKS.ratePlan: "802000000000023AAA"}


@pytest.mark.parametrize(
    ("zuora", "the_order", "expected"),
    [
        (FakeZuora(ACCOUNT_Z), "never_sent", "was never sent to Zuora"),
        (_zuora(seats=30), "plus", 'Salesforce says "Platform" is 25, Zuora has 30'),
        (_zuora(), "one_time", "updates recurring charges only"),
        (_zuora(), "unknown", 'Product "Widget" is not in Zuora\'s catalog'),
    ],
)
def test_what_zuora_cannot_do_or_salesforce_cannot_know_is_a_blocking_problem(
    zuora: FakeZuora, the_order: str, expected: str
) -> None:
    orders = {
        "never_sent": order(_plus(2), order_type="Amendment", origins={ORIGIN_PRO: origin(ORIGIN_PRO, 25, None, None)}),
        "plus": _amendment(_plus(2)),
        "one_time": _amendment(_plus(2)),
        "unknown": _amendment(line(rate_plan_id=None, product_name="Widget", product_id="01t000000000009AAA")),
    }
    if the_order == "one_time":
        plan = zuora_plan("rp-on", ONBOARDING, [("C-9", "OneTime", "PerUnit", 25)], ORIGIN_PRO)
        zuora.subscriptions[SUBSCRIPTION] = subscription(plan)
    problems = _plan(zuora, orders[the_order]).problems
    assert any(expected in p for p in problems), problems


def test_an_amendment_already_in_zuora_is_repaired_not_sent_again() -> None:
    # Given Zuora already holds 27 (the amendment's result) and the Support removal, and no push record
    zuora, writer = _zuora(seats=27, support_removed=True), FakeWriter()
    subject = flow(zuora=zuora, writer=writer)
    # When the amendment is pushed
    outcome = subject.push_order(_amendment(_plus(2), _cancel_support()), ACCOUNT, "005")
    # Then nothing is sent to Zuora; Salesforce gets the numbers
    assert outcome.repaired and zuora.orders == []
    assert writer.written[0][0][2]["Zuora_Subscription_Number__c"] == SUBSCRIPTION


def test_a_renewal_renews_the_subscription_and_carries_its_quantity_changes() -> None:
    renewal = order(
        line(quantity=30, subscribed_item_id=ORIGIN_PRO, charge_id=None),
        order_type=None,
        quote_type="Renewal",
        origins={ORIGIN_PRO: origin(ORIGIN_PRO, 25, "rp-pro-v1")},
    )
    plan = _plan(_zuora(), renewal)

    actions = order_body(plan, "A00000001", LINKS)["subscriptions"][0]["orderActions"]

    assert plan.kind == "renewal" and plan.problems == []
    assert [a["type"] for a in actions] == ["RenewSubscription", "UpdateProduct"]
    assert actions[1]["triggerDates"][0]["triggerDate"] == "2027-12-01"  # the first day of the new term
    assert f"renew {SUBSCRIPTION} for 12 months" in plan.summary


def test_a_renewal_for_another_term_sets_the_renewal_term_first() -> None:
    renewal = order(
        line(quantity=25, subscribed_item_id=ORIGIN_PRO, term_months=24),
        order_type="Renewal",
        origins={ORIGIN_PRO: origin(ORIGIN_PRO, 25, "rp-pro-v1")},
    )
    actions = order_body(_plan(_zuora(), renewal), "A1", LINKS)["subscriptions"][0]["orderActions"]
    assert [a["type"] for a in actions] == ["TermsAndConditions", "RenewSubscription"]
    assert actions[0]["termsAndConditions"]["renewalTerms"] == [{"period": 24, "periodType": "Month"}]


def test_an_evergreen_subscription_cannot_be_renewed() -> None:
    renewal = order(
        line(subscribed_item_id=ORIGIN_PRO),
        order_type="Renewal",
        origins={ORIGIN_PRO: origin(ORIGIN_PRO, 25, "rp-pro-v1")},
    )
    assert "EVERGREEN" in _plan(_zuora(term_type="EVERGREEN"), renewal).problems[0]


def test_every_amendment_renewal_and_cancellation_body_fits_zuoras_published_schema() -> None:
    new = line(item_id="802000000000023AAA", rate_plan_id=STORAGE, charge_id=None, quantity=10, product_name="Storage")
    renewal = order(
        line(quantity=30, subscribed_item_id=ORIGIN_PRO, term_months=24),
        order_type="Renewal",
        origins={ORIGIN_PRO: origin(ORIGIN_PRO, 25, "rp-pro-v1")},
    )
    plans = [
        _plan(_zuora(), _amendment(_plus(2), _cancel_support(), new)),
        _plan(_zuora(), renewal),
        _plan(_zuora(), _amendment(_cancel_support(), _plus(-25))),
    ]
    assert [p.problems for p in plans] == [[], [], []]
    assert [validate_request_body("POST", "/v1/orders", order_body(p, "A1", LINKS)) for p in plans] == [[], [], []]


def test_a_write_back_lost_after_zuora_committed_is_said_and_the_next_push_repairs_it() -> None:
    zuora, store = _zuora(), FakeStore()
    writer = FakeWriter(fail=UpstreamError("salesforce_write_back", "UNABLE_TO_LOCK_ROW", "locked", retryable=True))
    subject = flow(zuora=zuora, store=store, writer=writer)
    the_order = _amendment(_plus(2))

    first = subject.push_order(the_order, ACCOUNT, "005")
    writer.fail = None
    second = subject.push_order(the_order, ACCOUNT, "005")

    assert (
        first.write_back is not None
        and not first.write_back.written
        and "UNABLE_TO_LOCK_ROW" in (first.write_back.error or "")
    )
    assert second.repaired and second.write_back is not None and second.write_back.written
    assert len(zuora.orders) == 1
