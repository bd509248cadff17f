"""What a Salesforce Account or new Order becomes in Zuora: plans, blocking problems, the Create Order body, and
who may push."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sandbox.zuora import validate_request_body
from sfzsync.errors import ForbiddenError, PushBlockedError, UpstreamError
from sfzsync.gateways.salesforce_records import Address, ContactRecord, RecordAccess
from sfzsync.gateways.zuora import ZuoraAccount
from sfzsync.send_to_zuora.order_body import order_body
from sfzsync.settings import SendToZuoraSettings, ZuoraLinkFields
from tests.unit.send_to_zuora.fakes import (
    ACCOUNT,
    FEE,
    ONBOARDING,
    SEATS,
    STORAGE,
    STORAGE_PRODUCT,
    SUPPORT,
    FakeStore,
    FakeWriter,
    FakeZuora,
    flow,
    line,
    order,
)

LINKS = ZuoraLinkFields()


def test_account_without_billing_country_or_contact_is_blocked_with_both_reasons() -> None:
    account = replace(ACCOUNT, billing=replace(ACCOUNT.billing, country=None), contact=None)
    problems = flow().plan_account(account).problems
    assert any("Billing Country" in p for p in problems) and any("no Contact" in p for p in problems)


def test_new_order_plan_names_unknown_products_mixed_terms_and_quantities_zuora_cannot_hold() -> None:
    # Given a product in no catalog, two terms, and 3 of a flat-fee-only plan
    lines = (
        line(rate_plan_id=None, product_name="Widget", product_id="01t000000000009AAA"),
        line(term_months=24),
        line(rate_plan_id=SUPPORT, charge_id=None, product_name="Support"),
    )
    # When the Order is planned
    text = " ".join(flow().plan_order(order(*lines), ACCOUNT).problems)
    # Then each problem is named in plain words
    assert 'Product "Widget" is not in Zuora\'s catalog' in text
    assert "different subscription terms (12, 24 months)" in text
    assert 'Product "Support" cannot be ordered 3 times' in text


@pytest.mark.parametrize("term", [12, None])
def test_new_order_body_validates_against_zuoras_published_schema(term: int | None) -> None:
    lines = (
        line(term_months=term, charge_id=None),
        line(item_id="802000000000002AAA", rate_plan_id=ONBOARDING, charge_id=None, quantity=2.0, term_months=term),
    )
    plan = flow().plan_order(order(*lines), ACCOUNT)

    body = order_body(plan, "A00000001", LINKS)

    assert plan.problems == []
    assert validate_request_body("POST", "/v1/orders", body) == []
    subscription = body["subscriptions"][0]
    create = subscription["orderActions"][0]["createSubscription"]
    assert create["terms"]["initialTerm"]["termType"] == ("TERMED" if term else "EVERGREEN")
    assert create["subscribeToRatePlans"][0]["chargeOverrides"] == [
        {"productRatePlanChargeId": SEATS, "pricing": {"recurringPerUnit": {"quantity": 3}}}
    ]
    assert create["subscribeToRatePlans"][1]["chargeOverrides"][0]["pricing"] == {"oneTimePerUnit": {"quantity": 2}}
    assert subscription["customFields"] == {LINKS.subscription: plan.order.order_id}
    assert create["subscribeToRatePlans"][1]["customFields"] == {LINKS.ratePlan: "802000000000002AAA"}


def test_quantity_goes_only_on_the_charge_the_product_names() -> None:
    plan = flow().plan_order(order(line(charge_id=SEATS)), ACCOUNT)
    overrides = order_body(plan, "A1", LINKS)["subscriptions"][0]["orderActions"][0]["createSubscription"]
    assert [o["productRatePlanChargeId"] for o in overrides["subscribeToRatePlans"][0]["chargeOverrides"]] == [SEATS]
    assert FEE not in str(overrides)


def test_a_product2_without_the_mapping_field_resolves_through_the_externally_managed_plan_id() -> None:
    # Given a Product2 whose mapping field is empty, and a Zuora rate plan carrying its Id as external id
    zuora = FakeZuora(external_ids={STORAGE_PRODUCT: [STORAGE]})
    storage = line(rate_plan_id=None, charge_id=None, product_id=STORAGE_PRODUCT, product_name="Storage")
    # When the Order is planned
    plan = flow(zuora=zuora).plan_order(order(storage), ACCOUNT)
    # Then the line is that rate plan
    assert plan.problems == [] and [a.rate_plan_id for a in plan.actions] == [STORAGE]


def test_a_product2_carried_by_two_rate_plans_is_a_problem_not_a_guess() -> None:
    zuora = FakeZuora(external_ids={STORAGE_PRODUCT: [STORAGE, ONBOARDING]})
    storage = line(rate_plan_id=None, product_id=STORAGE_PRODUCT, product_name="Storage")
    assert "2 Zuora rate plans" in flow(zuora=zuora).plan_order(order(storage), ACCOUNT).problems[0]


def test_existing_zuora_account_is_updated_not_created() -> None:
    plan = flow([ZuoraAccount("id2", "A00000002", "EUR", "Active")]).plan_account(ACCOUNT)
    assert (plan.action, plan.currency) == ("update Zuora account A00000002", "EUR")
    assert (
        validate_request_body(
            "PUT", "/v1/accounts/{account-key}", {"name": ACCOUNT.name, "billToContact": plan.bill_to()}
        )
        == []
    )


# --- who may push --------------------------------------------------------------------------------------------


def test_a_user_without_edit_access_previews_with_the_reason_and_cannot_push() -> None:
    zuora = FakeZuora()
    read_only = order(line(), access=RecordAccess(can_edit=False))
    subject = flow(zuora=zuora)

    plan = subject.plan_order(read_only, ACCOUNT)

    assert plan.blocked and "not edit it" in (plan.account_plan.refusal or "")
    with pytest.raises(ForbiddenError):
        subject.push_order(read_only, ACCOUNT, "005")
    assert zuora.orders == []


def test_with_a_custom_permission_configured_a_user_without_it_is_refused() -> None:
    zuora = FakeZuora()
    settings = SendToZuoraSettings(permission="Send_To_Zuora")
    subject = flow(zuora=zuora, settings=settings)

    with pytest.raises(ForbiddenError, match="Send_To_Zuora"):
        subject.push_order(order(line(), access=RecordAccess(True, False)), ACCOUNT, "005")
    outcome = subject.push_order(order(line(), access=RecordAccess(True, True)), ACCOUNT, "005")

    assert outcome.order_number == "O-00000001" and len(zuora.orders) == 1


# --- idempotency and write-back -----------------------------------------------------------------------------------


def test_the_idempotency_key_advances_only_after_zuora_refused() -> None:
    refusal = UpstreamError("zuora_order", "50000020", "Invalid value", retryable=False, definitive=True)
    zuora, store, writer = FakeZuora(refuse=refusal), FakeStore(), FakeWriter()
    subject = flow(zuora=zuora, store=store, writer=writer)
    the_order = order(line())

    with pytest.raises(UpstreamError):
        subject.push_order(the_order, ACCOUNT, "005")
    zuora.refuse = None
    subject.push_order(the_order, ACCOUNT, "005")

    assert zuora.orders[0][1] == f"sfdccpq-00D000000000001AAA-{the_order.order_id}-1"
    (failed,) = writer.written[0]
    assert failed[2]["Zuora_Sync_Status__c"] == "Failed" and "Invalid value" in failed[2]["Zuora_Sync_Error__c"]


def test_a_refused_push_blocked_by_a_problem_writes_nothing() -> None:
    zuora, writer = FakeZuora(), FakeWriter()
    with pytest.raises(PushBlockedError):
        flow(zuora=zuora, writer=writer).push_order(order(), ACCOUNT, "005")
    assert zuora.orders == [] and writer.written == []


def test_bill_to_and_sold_to_come_from_the_orders_bill_to_and_ship_to_contacts() -> None:
    # Given an Order naming its bill-to and ship-to Contacts (the ship-to with its own mailing address)
    mailing = Address("5 Harbour Rd", "Boston", "MA", "02110", "US")
    bill_to = ContactRecord("Bea", "Payer", "bea@acme.com", None)
    ship_to = ContactRecord("Sam", "User", "sam@acme.com", None, mailing)
    zuora = FakeZuora()
    # When it is pushed for an Account Zuora does not know yet
    flow(zuora=zuora).push_order(order(line(), bill_to=bill_to, ship_to=ship_to), ACCOUNT, "005")
    # Then the new Zuora account bills Bea at the Account's address and sells to Sam at his own
    (body,) = zuora.created_accounts
    assert (body["billToContact"]["lastName"], body["billToContact"]["address1"]) == ("Payer", "1 Main St")
    assert (body["soldToContact"]["lastName"], body["soldToContact"]["city"]) == ("User", "Boston")
    assert validate_request_body("POST", "/v1/accounts", body) == []
