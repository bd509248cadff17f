"""A sales rep in Chromium sends one CPQ contract through its life: new Order, amendment, renewal, cancellation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from sandbox.api_gateway import LocalApiGateway
from sandbox.demo_data import EXTRA_STORAGE_RATE_PLAN_ID, PASSWORD, REP, Lifecycle, seed_button_data, seed_lifecycle
from sandbox.stack import Sandbox
from sandbox.zuora import PRO_RATE_PLAN_ID, SUPPORT_RATE_PLAN_ID
from tests.browser.conftest import save_screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page


@pytest.fixture
def life(clean_sandbox: Sandbox) -> Lifecycle:
    return seed_lifecycle(clean_sandbox, seed_button_data(clean_sandbox))


def _active(subscription: dict[str, Any]) -> dict[str, Any]:
    """Active product rate plan → the quantity of its first charge (None: a flat fee)."""
    return {
        plan["productRatePlanId"]: plan["ratePlanCharges"][0]["quantity"]
        for plan in subscription["ratePlans"]
        if plan.get("lastChangeType") != "Remove"
    }


def _send(page: Page, url: str, screenshot: str | None = None) -> str:
    """Open the button (signing in when asked), read the preview, press Send; the Zuora order number shown."""
    page.goto(url)
    if page.locator("#username").count():
        page.fill("#username", REP)
        page.fill("#password", PASSWORD)
        page.click("#login")
    page.wait_for_selector("#order-lines")
    assert page.locator("#problems").count() == 0, page.inner_text("#problems")
    if screenshot:
        save_screenshot(page, screenshot)
    page.click("#send")
    page.wait_for_selector("#result")
    assert page.get_attribute("#result", "data-outcome") == "sent", page.inner_text("#result")
    return page.inner_text("#zuora-order-number")


def test_a_contract_goes_through_new_amendment_renewal_and_cancellation_in_one_zuora_subscription(
    page: Page, sandbox: Sandbox, button_api: LocalApiGateway, life: Lifecycle
) -> None:
    base = f"{button_api.url}/sfdccpq?sfdc=127.0.0.1:{sandbox.salesforce.port}&orderId="
    expected = [
        (life.new_order_id, 1, {PRO_RATE_PLAN_ID: 25, SUPPORT_RATE_PLAN_ID: None}, "Active"),
        (life.amendment_id, 2, {PRO_RATE_PLAN_ID: 27, EXTRA_STORAGE_RATE_PLAN_ID: 10}, "Active"),
        (life.renewal_id, 3, {PRO_RATE_PLAN_ID: 30, EXTRA_STORAGE_RATE_PLAN_ID: 10}, "Active"),
        (life.cancellation_id, 4, {PRO_RATE_PLAN_ID: 30, EXTRA_STORAGE_RATE_PLAN_ID: 10}, "Cancelled"),
    ]
    for order_id, version, plans, status in expected:
        # When the rep previews and sends the next Order of the contract
        shot = "send-to-zuora-amendment-preview" if order_id == life.amendment_id else None
        if order_id == life.amendment_id:
            page.goto(base + order_id)
            actions = page.inner_text("#order-lines")
            assert "+2 Analytics Platform" in actions and "25 → 27" in actions
            assert "remove Premium Support" in actions and "add Extra Storage" in actions
        zuora_order = _send(page, base + order_id, shot)

        # Then Zuora holds one subscription, one version further, with exactly these rate plans and quantities
        (number,) = sandbox.zuora.subscriptions
        subscription = sandbox.zuora.subscription(number)
        assert subscription is not None
        assert (subscription["version"], subscription["status"], _active(subscription)) == (version, status, plans)
        # and Salesforce carries the write-back on the Order and each of its order products
        order = sandbox.salesforce.get("Order", order_id) or {}
        assert (order["Zuora_Order_Number__c"], order["Zuora_Subscription_Number__c"]) == (zuora_order, number)
        assert order["Zuora_Sync_Status__c"] == "Sent" and order["Zuora_Sync_Error__c"] is None
        items = [i for i in sandbox.salesforce.records("OrderItem") if i["OrderId"] == order_id]
        assert items and all(i["Zuora_Subscription_Number__c"] == number for i in items)
        assert all(i["Zuora_Rate_Plan_Id__c"] and i["Zuora_Charge_Numbers__c"] for i in items)
    assert subscription is not None and subscription["termEndDate"] == "2028-12-01"  # renewed for 12 months
