"""Send to Zuora button over real HTTPS: API Gateway on loopback, the simulator's OAuth login, cookies, CSRF."""

from __future__ import annotations

import html
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sandbox.api_gateway import LocalApiGateway
from sandbox.button_client import ButtonClient, forms_of, text_of
from sandbox.demo_data import ADMIN, OUTSIDER, PASSWORD, REP, ButtonData, seed_button_data
from sandbox.stack import Sandbox
from sfzsync.send_to_zuora.cookies import SESSION_COOKIE, CookieSealer, UserSession

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def data(sandbox: Sandbox) -> ButtonData:
    return seed_button_data(sandbox)


@pytest.fixture
def client(sandbox: Sandbox, button_api: LocalApiGateway) -> ButtonClient:
    return ButtonClient(sandbox, button_api.url)


def _zuora_writes(sandbox: Sandbox) -> list[str]:
    return [f"{c.method} {c.path}" for c in sandbox.zuora.calls if c.method in WRITES and c.path != "/oauth/token"]


def _salesforce_writes(sandbox: Sandbox) -> list[str]:
    """Calls that could change a record: sObject writes, trees, and Composite subrequests other than GET."""
    writes = []
    for call in sandbox.salesforce.calls:
        if not call.path.startswith("/services/data/"):
            continue
        if call.path.endswith("/composite") and call.body:
            methods = {sub["method"] for sub in json.loads(call.body)["compositeRequest"]}
            writes += [f"composite {m}" for m in methods - {"GET"}]
        elif call.method in WRITES:
            writes.append(f"{call.method} {call.path}")
    return writes


def _snapshot(sandbox: Sandbox) -> dict[str, Any]:
    sf = {kind: sandbox.salesforce.records(kind) for kind in ("Account", "Contact", "Order", "OrderItem")}
    return {"salesforce": sf, "zuora": (dict(sandbox.zuora.accounts), dict(sandbox.zuora.subscriptions))}


def _open_preview(client: ButtonClient, user: str = REP, **record: str) -> Any:
    preview = client.open(client.button_url(**record), username=user, password=PASSWORD)
    assert preview.status_code == 200, preview.text
    return preview


# --- the GET is safe --------------------------------------------------------------------------------


def test_opening_the_button_signs_in_and_previews_without_changing_anything(
    sandbox: Sandbox, client: ButtonClient, data: ButtonData
) -> None:
    before = _snapshot(sandbox)

    preview = _open_preview(client, orderId=data.order_id)

    assert "Analytics Platform" in preview.text and "create a Zuora account" in preview.text
    assert preview.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in preview.headers["Content-Security-Policy"]
    assert _snapshot(sandbox) == before
    assert _zuora_writes(sandbox) == []
    assert _salesforce_writes(sandbox) == []
    assert sandbox.salesforce.call_count(r"/composite$") >= 1


def test_session_cookie_is_httponly_secure_lax_and_short_lived(client: ButtonClient, data: ButtonData) -> None:
    first = client.http.get(client.button_url(accountId=data.account_id), allow_redirects=False, timeout=30)
    assert first.status_code == 302
    assert first.headers["Location"].startswith(f"https://127.0.0.1:{client.sandbox.salesforce.port}/services/oauth2/")
    assert "code_challenge_method=S256" in first.headers["Location"]

    preview = client.sign_in(client.http.get(first.headers["Location"], timeout=30), REP, PASSWORD)

    (set_session,) = [
        h for r in preview.history for h in r.raw.headers.getlist("Set-Cookie") if h.startswith(SESSION_COOKIE)
    ]
    assert {"HttpOnly", "Secure", "SameSite=Lax", "Max-Age=900"} <= {p.strip() for p in set_session.split(";")}


# --- pushes -----------------------------------------------------------------------------------------


def test_account_push_creates_the_zuora_account_with_the_crm_id_then_updates_it(
    sandbox: Sandbox, client: ButtonClient, data: ButtonData
) -> None:
    result = client.press_send(_open_preview(client, accountId=data.account_id))

    assert result.status_code == 200, result.text
    number = text_of(result.text, "zuora-account-number")
    (account,) = sandbox.zuora.accounts.values()
    assert (account["accountNumber"], account["crmId"]) == (number, data.account_id)
    again = client.press_send(_open_preview(client, accountId=data.account_id))
    assert text_of(again.text, "zuora-account-number") == number
    assert len(sandbox.zuora.accounts) == 1
    assert any(c.method == "PUT" for c in sandbox.zuora.calls)


def test_order_push_creates_one_subscription_with_the_mapped_rate_plans(
    sandbox: Sandbox, client: ButtonClient, data: ButtonData
) -> None:
    result = client.press_send(_open_preview(client, orderId=data.order_id))

    assert result.status_code == 200, result.text
    assert text_of(result.text, "zuora-order-number")
    (subscription,) = sandbox.zuora.subscriptions.values()
    (order_call,) = [json.loads(c.body) for c in sandbox.zuora.calls if c.path == "/v1/orders"]
    plans = order_call["subscriptions"][0]["orderActions"][0]["createSubscription"]["subscribeToRatePlans"]
    assert [p["productRatePlanId"] for p in plans] == [
        "8ad09be48db5aba7018db604776d4854",
        "8ad09be48db5aba7018db6047b2c4860",
    ]
    assert plans[0]["chargeOverrides"][0]["pricing"] == {"recurringPerUnit": {"quantity": 25}}
    terms = order_call["subscriptions"][0]["orderActions"][0]["createSubscription"]["terms"]
    assert terms["initialTerm"] == {
        "termType": "TERMED",
        "period": 12,
        "periodType": "Month",
        "startDate": "2026-12-01",
    }
    assert text_of(result.text, "subscription-numbers") == subscription["subscriptionNumber"]


def test_second_push_of_an_order_says_already_sent_and_creates_nothing(
    sandbox: Sandbox, client: ButtonClient, data: ButtonData
) -> None:
    preview = _open_preview(client, orderId=data.order_id)
    first = client.press_send(preview)
    writes = _zuora_writes(sandbox)

    again = client.press_send(preview)
    reopened = _open_preview(client, orderId=data.order_id)

    assert 'data-outcome="already-sent"' in again.text
    assert text_of(again.text, "zuora-order-number") == text_of(first.text, "zuora-order-number")
    assert "already sent to Zuora" in reopened.text and 'id="send" type="submit" disabled' in reopened.text
    assert _zuora_writes(sandbox) == writes
    assert len(sandbox.zuora.subscriptions) == 1


def test_two_tabs_pushing_one_order_at_once_make_one_subscription(
    sandbox: Sandbox, client: ButtonClient, data: ButtonData
) -> None:
    preview = _open_preview(client, orderId=data.order_id)
    sandbox.zuora.latency = 0.2
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda _: client.press_send(preview), range(2)))
    finally:
        sandbox.zuora.latency = 0.0

    assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
    assert len(sandbox.zuora.subscriptions) == 1
    assert len([c for c in sandbox.zuora.calls if c.path == "/v1/orders"]) == 1


@pytest.mark.parametrize("length", [15, 18])
def test_15_and_18_character_ids_both_work(client: ButtonClient, data: ButtonData, length: int) -> None:
    result = client.press_send(_open_preview(client, orderId=data.order_id[:length]))
    assert result.status_code == 200 and text_of(result.text, "zuora-order-number")


def test_order_with_an_unmapped_product_is_blocked_in_preview_and_on_post(
    sandbox: Sandbox, client: ButtonClient, data: ButtonData
) -> None:
    preview = _open_preview(client, orderId=data.unmapped_order_id)

    assert 'Product "Legacy Add-on" is not in Zuora\'s catalog' in html.unescape(preview.text)
    assert 'id="send" type="submit" disabled' in preview.text
    forced = client.press_send(preview)
    assert forced.status_code == 409
    assert _zuora_writes(sandbox) == []


# --- who may do what ----------------------------------------------------------------------------------


def test_disallowed_sfdc_domain_gets_an_error_page_and_no_redirect(client: ButtonClient, data: ButtonData) -> None:
    url = f"{client.api_url}/sfdccpq?sfdc=evil.example.com&accountId={data.account_id}"

    response = client.http.get(url, allow_redirects=False, timeout=30)

    assert response.status_code == 400 and "Location" not in response.headers
    assert "evil.example.com" not in response.text and "<script" not in response.text


def test_user_of_another_org_is_refused_with_403(sandbox: Sandbox, client: ButtonClient, data: ButtonData) -> None:
    response = client.open(client.button_url(accountId=data.account_id), username=OUTSIDER, password=PASSWORD)

    assert response.status_code == 403
    assert SESSION_COOKIE not in client.http.cookies
    assert _zuora_writes(sandbox) == []


def test_record_the_user_cannot_see_is_refused_and_nothing_is_pushed(
    sandbox: Sandbox, client: ButtonClient, data: ButtonData
) -> None:
    refused = client.open(client.button_url(accountId=data.hidden_account_id), username=REP, password=PASSWORD)

    assert refused.status_code == 404 and "may not see it" in refused.text
    admin = ButtonClient(sandbox, client.api_url)
    assert (
        admin.open(admin.button_url(accountId=data.hidden_account_id), username=ADMIN, password=PASSWORD).status_code
        == 200
    )
    assert _zuora_writes(sandbox) == []


@pytest.mark.parametrize("tamper", ["no_csrf", "wrong_csrf", "other_record_csrf"])
def test_post_without_a_valid_csrf_token_is_refused(
    sandbox: Sandbox, client: ButtonClient, data: ButtonData, tamper: str
) -> None:
    preview = _open_preview(client, orderId=data.order_id)
    other = _open_preview(client, accountId=data.account_id)
    other_csrf = forms_of(other.text)[0][1]["csrf"]
    overrides = {"no_csrf": {"csrf": ""}, "wrong_csrf": {"csrf": "A" * 43}, "other_record_csrf": {"csrf": other_csrf}}[
        tamper
    ]

    response = client.press_send(preview, **overrides)

    assert response.status_code == 403
    assert _zuora_writes(sandbox) == []


def _sealer(sandbox: Sandbox) -> CookieSealer:
    return CookieSealer(sandbox.secret_document()["sendToZuora"]["sessionKey"])


@pytest.mark.parametrize("cookie", ["forged", "expired", "other_key"])
def test_post_with_a_forged_or_expired_session_cookie_is_refused(
    sandbox: Sandbox, client: ButtonClient, data: ButtonData, cookie: str
) -> None:
    preview = _open_preview(client, orderId=data.order_id)
    jar_cookie = next(c for c in client.http.cookies if c.name == SESSION_COOKIE)
    assert jar_cookie.value is not None
    real = _sealer(sandbox).open_session(jar_cookie.value)
    assert isinstance(real, UserSession)
    value = {
        "forged": jar_cookie.value[:20] + ("x" if jar_cookie.value[20] != "x" else "y") + jar_cookie.value[21:],
        "expired": _sealer(sandbox).seal_session(UserSession(**{**real.__dict__, "expires_at": time.time() - 5})),
        "other_key": CookieSealer("z" * 40).seal_session(real),
    }[cookie]
    jar_cookie.value = value

    response = client.press_send(preview)

    assert response.status_code == 403
    assert _zuora_writes(sandbox) == []


def test_post_from_another_site_is_refused(sandbox: Sandbox, client: ButtonClient, data: ButtonData) -> None:
    preview = _open_preview(client, orderId=data.order_id)
    client.http.headers["Origin"] = "https://evil.example.com"

    response = client.press_send(preview)

    assert response.status_code == 403
    assert _zuora_writes(sandbox) == []
