"""A person in Chromium presses Send to Zuora: sign in on the Salesforce page, read the preview, send, read numbers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from sandbox.api_gateway import LocalApiGateway
from sandbox.demo_data import PASSWORD, REP, ButtonData, seed_button_data
from sandbox.stack import Sandbox
from tests.browser.conftest import save_screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Dialog, Page


@pytest.fixture
def data(clean_sandbox: Sandbox) -> ButtonData:
    return seed_button_data(clean_sandbox)


@pytest.fixture
def dialogs(page: Page) -> Iterator[list[str]]:
    """Every alert/confirm the page tries to open (an executed script would add one)."""
    opened: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    yield opened


def _button_url(sandbox: Sandbox, api: LocalApiGateway, **record: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in record.items())
    return f"{api.url}/sfdccpq?sfdc=127.0.0.1:{sandbox.salesforce.port}&{query}"


def _sign_in(page: Page, username: str = REP) -> None:
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")


def test_account_button_signs_in_previews_and_sends(
    page: Page, sandbox: Sandbox, button_api: LocalApiGateway, data: ButtonData
) -> None:
    # Given the rep opens the Account's button from Salesforce
    page.goto(_button_url(sandbox, button_api, accountId=data.account_id))
    # When they sign in on the Salesforce page
    _sign_in(page)
    # Then the preview shows what Zuora will get, and nothing has been sent
    page.wait_for_selector("#zuora-account")
    assert "create a Zuora account" in page.inner_text("#zuora-account")
    assert "Lucius Fox" in page.inner_text("#zuora-account")
    assert sandbox.zuora.accounts == {}
    save_screenshot(page, "send-to-zuora-account-preview")
    # When they press Send
    page.click("#send")
    # Then the result page shows the Zuora account number that now carries the Account as crmId
    number = page.inner_text("#zuora-account-number")
    assert sandbox.zuora.accounts[number]["crmId"] == data.account_id
    save_screenshot(page, "send-to-zuora-account-result")


def test_order_button_signs_in_previews_and_sends(
    page: Page, sandbox: Sandbox, button_api: LocalApiGateway, data: ButtonData
) -> None:
    page.goto(_button_url(sandbox, button_api, orderId=data.order_id))
    _sign_in(page)

    page.wait_for_selector("#order-lines")
    rows = page.locator("#order-lines tbody tr")
    assert rows.count() == 2
    assert "Analytics Platform" in rows.nth(0).inner_text() and "25" in rows.nth(0).inner_text()
    assert "TERMED, 12 months" in page.inner_text("#zuora-subscription")
    save_screenshot(page, "send-to-zuora-order-preview")
    page.click("#send")

    order_number = page.inner_text("#zuora-order-number")
    subscriptions = page.inner_text("#subscription-numbers")
    assert order_number in {o["orderNumber"] for o in sandbox.zuora.orders.values()}
    assert subscriptions in sandbox.zuora.subscriptions
    save_screenshot(page, "send-to-zuora-order-result")


def test_record_data_is_shown_as_text_never_run(
    page: Page, dialogs: list[str], sandbox: Sandbox, button_api: LocalApiGateway, data: ButtonData
) -> None:
    page.goto(_button_url(sandbox, button_api, accountId=data.evil_account_id))
    _sign_in(page)

    page.wait_for_selector("#zuora-account")
    assert "<script>alert(1)</script>" in page.inner_text("h1")
    assert page.locator("script").count() == 0
    assert page.locator("#zuora-account img").count() == 0
    page.click("#send")
    page.wait_for_selector("#result")
    assert dialogs == []
