"""Send to Zuora through the CPQ lifecycle, over real HTTPS: new Order, amendment, renewal and cancellation, the
write-back, who may push, and what blocks a push."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import boto3
import pytest
import requests

from sandbox.api_gateway import LocalApiGateway, deployed_routes
from sandbox.button_client import ButtonClient, forms_of
from sandbox.demo_data import (
    EXTRA_STORAGE_RATE_PLAN_ID,
    PASSWORD,
    READER,
    REP,
    ButtonData,
    Lifecycle,
    seed_button_data,
    seed_lifecycle,
)
from sandbox.invoke import load_handler
from sandbox.stack import SECRET_NAME, Sandbox
from sandbox.zuora import PRO_RATE_PLAN_ID, SEATS_CHARGE_ID, SUPPORT_RATE_PLAN_ID, validate_request_body
from sfzsync.send_to_zuora.cookies import SESSION_COOKIE

ORDERS = r"^/v1/orders$"


@pytest.fixture
def data(sandbox: Sandbox) -> ButtonData:
    return seed_button_data(sandbox)


@pytest.fixture
def life(sandbox: Sandbox, data: ButtonData) -> Lifecycle:
    return seed_lifecycle(sandbox, data)


@pytest.fixture
def client(sandbox: Sandbox, button_api: LocalApiGateway) -> ButtonClient:
    return ButtonClient(sandbox, button_api.url)


def _preview(client: ButtonClient, order_id: str, user: str = REP) -> requests.Response:
    page = client.open(client.button_url(orderId=order_id), username=user, password=PASSWORD)
    assert page.status_code == 200, page.text
    return page


def _send(client: ButtonClient, order_id: str) -> requests.Response:
    result = client.press_send(_preview(client, order_id))
    assert result.status_code == 200, result.text
    return result


def _order_bodies(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [json.loads(c.body) for c in sandbox.zuora.calls if c.path == "/v1/orders" and c.method == "POST"]


def _only_subscription(sandbox: Sandbox) -> dict[str, Any]:
    (subscription,) = sandbox.zuora.subscriptions.values()
    body = sandbox.zuora.subscription(subscription["subscriptionNumber"])
    assert body is not None
    return body


def _quantities(subscription: dict[str, Any]) -> dict[str, float]:
    """Active product rate plan → quantity of its first charge."""
    return {
        plan["productRatePlanId"]: plan["ratePlanCharges"][0]["quantity"]
        for plan in subscription["ratePlans"]
        if plan.get("lastChangeType") != "Remove"
    }


def _outcome(page: requests.Response) -> str | None:
    marker = 'data-outcome="'
    return page.text.split(marker, 1)[1].split('"', 1)[0] if marker in page.text else None


def _zuora_writes(sandbox: Sandbox) -> list[str]:
    return [
        f"{c.method} {c.path}" for c in sandbox.zuora.calls if c.method in ("POST", "PUT") and "oauth" not in c.path
    ]


def _salesforce_patches(sandbox: Sandbox) -> int:
    return sum(
        sub["method"] == "PATCH"
        for call in sandbox.salesforce.calls
        if call.path.endswith("/composite") and call.body
        for sub in json.loads(call.body)["compositeRequest"]
    )


# --- the lifecycle -------------------------------------------------------------------------------------------


def test_each_push_of_the_lifecycle_is_one_zuora_order_whose_body_fits_zuoras_published_schema(
    sandbox: Sandbox, client: ButtonClient, life: Lifecycle
) -> None:
    # Given a contract's new Order, amendment, renewal and cancellation in Salesforce
    orders = (life.new_order_id, life.amendment_id, life.renewal_id, life.cancellation_id)

    # When each is previewed and sent in turn
    results = [_send(client, order_id) for order_id in orders]

    # Then Zuora got one order per push, each valid against the published Create Order schema, with these actions
    bodies = _order_bodies(sandbox)
    assert [validate_request_body("POST", "/v1/orders", body) for body in bodies] == [[], [], [], []]
    kinds = [[a["type"] for a in body["subscriptions"][0]["orderActions"]] for body in bodies]
    assert kinds == [
        ["CreateSubscription"],
        ["RemoveProduct", "UpdateProduct", "AddProduct"],
        ["RenewSubscription", "UpdateProduct"],
        ["CancelSubscription"],
    ]
    assert [_outcome(r) for r in results] == ["sent"] * 4
    subscription = _only_subscription(sandbox)
    assert (subscription["version"], subscription["status"]) == (4, "Cancelled")


def test_the_amendment_changes_the_subscription_the_original_order_became(
    sandbox: Sandbox, client: ButtonClient, life: Lifecycle
) -> None:
    _send(client, life.new_order_id)
    preview = _preview(client, life.amendment_id)
    text = html.unescape(preview.text)
    number = next(iter(sandbox.zuora.subscriptions))

    assert f"+2 Analytics Platform on {number}, 25 → 27" in text
    assert f"remove Premium Support from {number}" in text

    _send(client, life.amendment_id)

    subscription = _only_subscription(sandbox)
    assert subscription["version"] == 2
    assert _quantities(subscription) == {PRO_RATE_PLAN_ID: 27, EXTRA_STORAGE_RATE_PLAN_ID: 10}
    removed = [p["productRatePlanId"] for p in subscription["ratePlans"] if p.get("lastChangeType") == "Remove"]
    assert removed == [SUPPORT_RATE_PLAN_ID]


def test_a_product2_without_the_mapping_field_resolves_through_the_externally_managed_plan_id(
    sandbox: Sandbox, client: ButtonClient, life: Lifecycle
) -> None:
    _send(client, life.new_order_id)

    _send(client, life.amendment_id)

    assert sandbox.zuora.call_count(rf"^/v1/product-rate-plans/external-id/{life.storage_product_id}$") >= 1
    added = _order_bodies(sandbox)[1]["subscriptions"][0]["orderActions"][2]["addProduct"]
    assert added["productRatePlanId"] == EXTRA_STORAGE_RATE_PLAN_ID


def test_write_back_puts_the_zuora_numbers_on_the_order_and_its_order_products(
    sandbox: Sandbox, client: ButtonClient, life: Lifecycle
) -> None:
    result = _send(client, life.new_order_id)

    order = sandbox.salesforce.get("Order", life.new_order_id) or {}
    subscription = _only_subscription(sandbox)
    plans = {p["SalesforceOrderItemId__c"]: p for p in subscription["ratePlans"]}
    item = sandbox.salesforce.get("OrderItem", life.platform_item_id) or {}
    assert order["Zuora_Sync_Status__c"] == "Sent" and order["Zuora_Last_Sync__c"]
    assert order["Zuora_Order_Number__c"] in result.text
    assert order["Zuora_Subscription_Number__c"] == subscription["subscriptionNumber"]
    assert item["Zuora_Rate_Plan_Id__c"] == plans[life.platform_item_id]["originalRatePlanId"]
    assert item["Zuora_Charge_Numbers__c"] == ",".join(
        c["number"] for c in plans[life.platform_item_id]["ratePlanCharges"]
    )


# --- pressed twice, two tabs, a lost answer -----------------------------------------------------------------


def test_the_same_amendment_pressed_twice_changes_zuora_once(
    sandbox: Sandbox, client: ButtonClient, life: Lifecycle
) -> None:
    _send(client, life.new_order_id)
    preview = _preview(client, life.amendment_id)

    first, again = client.press_send(preview), client.press_send(preview)

    assert (_outcome(first), _outcome(again)) == ("sent", "already-sent")
    assert len(_order_bodies(sandbox)) == 2
    assert _only_subscription(sandbox)["version"] == 2


def test_the_same_amendment_in_two_tabs_at_once_changes_zuora_once(
    sandbox: Sandbox, client: ButtonClient, life: Lifecycle
) -> None:
    _send(client, life.new_order_id)
    preview = _preview(client, life.amendment_id)
    sandbox.zuora.latency = 0.2
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda _: client.press_send(preview), range(2)))
    finally:
        sandbox.zuora.latency = 0.0

    assert sorted(r.status_code for r in results) in ([200, 200], [200, 409]), [r.text for r in results]
    assert len(_order_bodies(sandbox)) == 2
    assert _only_subscription(sandbox)["version"] == 2


def test_an_amendment_retried_after_a_lost_zuora_answer_changes_zuora_once(
    sandbox: Sandbox, client: ButtonClient, life: Lifecycle
) -> None:
    _send(client, life.new_order_id)
    preview = _preview(client, life.amendment_id)
    sandbox.zuora.add_fault(path=ORDERS, method="POST", action="reset_after_commit")

    lost = client.press_send(preview)
    retried = client.press_send(preview)

    assert lost.status_code == 502 and "This is temporary" in lost.text
    assert retried.status_code == 200 and _outcome(retried) in ("sent", "repaired")
    subscription = _only_subscription(sandbox)
    assert subscription["version"] == 2
    assert _quantities(subscription)[PRO_RATE_PLAN_ID] == 27


# --- a lost write-back ------------------------------------------------------------------------------------------


def test_a_write_back_that_fails_after_zuora_committed_is_said_and_repaired_by_the_next_push(
    sandbox: Sandbox, client: ButtonClient, life: Lifecycle
) -> None:
    _send(client, life.new_order_id)
    preview = _preview(client, life.amendment_id)
    sandbox.salesforce.add_fault(path=r"/composite$", method="POST", match='"PATCH"', status=503, times=10)

    failed = client.press_send(preview)
    sandbox.salesforce.clear_faults()
    writes = _zuora_writes(sandbox)
    repaired = client.press_send(_preview(client, life.amendment_id))

    assert failed.status_code == 200 and _outcome(failed) == "sent-write-back-failed"
    assert "Salesforce could not be updated" in html.unescape(failed.text)
    assert _outcome(repaired) == "repaired"
    assert _zuora_writes(sandbox) == writes
    amendment = sandbox.salesforce.get("Order", life.amendment_id) or {}
    assert amendment["Zuora_Sync_Status__c"] == "Sent"
    assert amendment["Zuora_Subscription_Number__c"] == _only_subscription(sandbox)["subscriptionNumber"]


def test_a_lost_write_back_and_push_record_are_repaired_from_zuoras_link_fields(
    sandbox: Sandbox, client: ButtonClient, life: Lifecycle
) -> None:
    sandbox.salesforce.add_fault(path=r"/composite$", method="POST", match='"PATCH"', status=503, times=10)
    failed = client.press_send(_preview(client, life.new_order_id))
    sandbox.salesforce.clear_faults()
    sandbox.clear_table()  # the push record is gone too: only Zuora remembers

    repaired = client.press_send(_preview(client, life.new_order_id))

    assert (_outcome(failed), _outcome(repaired)) == ("sent-write-back-failed", "repaired")
    assert len(_order_bodies(sandbox)) == 1 and len(sandbox.zuora.subscriptions) == 1
    item = sandbox.salesforce.get("OrderItem", life.support_item_id) or {}
    assert item["Zuora_Subscription_Number__c"] == _only_subscription(sandbox)["subscriptionNumber"]


# --- what blocks a push -------------------------------------------------------------------------------------------


def _blocked(sandbox: Sandbox, client: ButtonClient, order_id: str, expected: str) -> None:
    zuora, patches = _zuora_writes(sandbox), _salesforce_patches(sandbox)
    preview = _preview(client, order_id)
    assert expected in html.unescape(preview.text)
    assert 'id="send" type="submit" disabled' in preview.text
    forced = client.press_send(preview)
    assert forced.status_code == 409 and expected in html.unescape(forced.text)
    assert _zuora_writes(sandbox) == zuora and _salesforce_patches(sandbox) == patches


def test_an_amendment_whose_original_was_never_sent_is_blocked(
    sandbox: Sandbox, client: ButtonClient, life: Lifecycle
) -> None:
    _blocked(sandbox, client, life.amendment_id, "was never sent to Zuora")


def test_an_amendment_after_the_subscription_changed_in_zuora_is_blocked(
    sandbox: Sandbox, client: ButtonClient, life: Lifecycle
) -> None:
    _send(client, life.new_order_id)
    sandbox.zuora.change_quantity(next(iter(sandbox.zuora.subscriptions)), SEATS_CHARGE_ID, 40)

    _blocked(sandbox, client, life.amendment_id, 'Salesforce says "Analytics Platform" is 25, Zuora has 40')


def test_an_amendment_adding_a_product_zuora_does_not_know_is_blocked(
    sandbox: Sandbox, client: ButtonClient, life: Lifecycle
) -> None:
    _send(client, life.new_order_id)

    _blocked(sandbox, client, life.legacy_amendment_id, 'Product "Legacy Add-on" is not in Zuora\'s catalog')


# --- who may push ---------------------------------------------------------------------------------------------------


def test_a_read_only_user_sees_the_preview_and_the_reason_but_cannot_send(
    sandbox: Sandbox, client: ButtonClient, life: Lifecycle
) -> None:
    preview = _preview(client, life.new_order_id, user=READER)

    assert "not edit it in Salesforce" in preview.text and 'id="send" type="submit" disabled' in preview.text
    refused = client.press_send(preview)
    assert refused.status_code == 403
    assert _zuora_writes(sandbox) == [] and _salesforce_patches(sandbox) == 0


@pytest.fixture
def permission_api(sandbox: Sandbox) -> Iterator[LocalApiGateway]:
    """The button deployed with `sendToZuora.permission` = Send_To_Zuora (a cold start on a changed secret)."""
    document = sandbox.secret_document()
    document["sendToZuora"]["permission"] = "Send_To_Zuora"
    sandbox.salesforce.add_custom_permission("Send_To_Zuora")
    with sandbox.aws_environment():
        boto3.client("secretsmanager").put_secret_value(SecretId=SECRET_NAME, SecretString=json.dumps(document))
        handler: ModuleType = load_handler("send_to_zuora")
    try:
        with LocalApiGateway(
            deployed_routes(send_to_zuora=handler), ssl_context=sandbox.ca.server_context()
        ) as gateway:
            yield gateway
    finally:
        sandbox.configure()


def test_with_a_custom_permission_configured_a_user_without_it_is_refused(
    sandbox: Sandbox, life: Lifecycle, permission_api: LocalApiGateway
) -> None:
    client = ButtonClient(sandbox, permission_api.url)
    preview = _preview(client, life.new_order_id)

    refused = client.press_send(preview)
    sandbox.salesforce.grant_custom_permission(
        next(u.user_id for u in sandbox.salesforce.users.values() if u.username == REP), "Send_To_Zuora"
    )
    allowed = client.press_send(_preview(client, life.new_order_id))

    assert "Custom Permission Send_To_Zuora" in preview.text and refused.status_code == 403
    assert allowed.status_code == 200 and _outcome(allowed) == "sent"
    assert len(_order_bodies(sandbox)) == 1


# --- hardening ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "/sfdccpq/callback?error=MARKER-%3Cb%3Ehi%3C/b%3E&state=x",
        "/sfdccpq?sfdc=MARKER.example.com&orderId=801000000000001",
        "/sfdccpq?sfdc=MARKER&accountId=MARKER",
    ],
)
def test_error_pages_never_show_query_string_text(client: ButtonClient, data: ButtonData, query: str) -> None:
    response = client.http.get(f"{client.api_url}{query}", allow_redirects=False, timeout=30)

    assert response.status_code == 400
    assert "MARKER" not in response.text and "<b>hi" not in response.text


def test_a_valid_session_survives_a_malformed_neighbouring_cookie(
    sandbox: Sandbox, client: ButtonClient, life: Lifecycle
) -> None:
    _preview(client, life.new_order_id)
    session = next(c for c in client.http.cookies if c.name == SESSION_COOKIE)
    header = f'theme="dark mode; broken; x=a,b; {SESSION_COOKIE}={session.value}; tracking=a b c'
    fresh = requests.Session()
    fresh.verify = client.http.verify
    fresh.trust_env = False

    page = fresh.get(client.button_url(orderId=life.new_order_id), headers={"Cookie": header}, timeout=30)

    assert page.status_code == 200 and forms_of(page.text)
    assert session.name.startswith("__Host-") and session.path == "/" and session.secure
