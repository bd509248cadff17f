"""LocalApiGateway: HTTP(S) in, REST proxy events to the handlers, proxy responses out; and a real browser on top."""

from __future__ import annotations

import base64
import html
import json
import threading
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import pytest
import requests

from sandbox.api_gateway import MAX_BODY_BYTES
from sandbox.demo_data import checkout_body
from sandbox.stack import SIGNING_SECRET, Sandbox
from sfzsync.checkout.signature import sign
from tests.browser.conftest import StartGateway, save_screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def fake_handler(name: str, handler: Handler) -> ModuleType:
    """A stand-in for a handler module: anything with a `lambda_handler(event, context)`."""
    module = ModuleType(name)
    module.lambda_handler = handler  # type: ignore[attr-defined]
    return module


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[requests.Session]:
    """A requests session that trusts only the sandbox CA and ignores proxy settings from the environment."""
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(sandbox.ca.bundle_path)
        yield session


# --- (a) HTTP through the gateway ----------------------------------------------------------------------


def test_signed_checkout_through_the_gateway_returns_201(
    clean_sandbox: Sandbox, checkout_app: ModuleType, api_gateway: StartGateway, http: requests.Session
) -> None:
    # Given the checkout handler behind API Gateway at POST /orders
    api = api_gateway({("POST", "/orders"): checkout_app})
    raw = json.dumps(checkout_body("jane.doe@acme.com"))

    # When the checkout backend posts a signed order over HTTPS
    response = http.post(
        f"{api.url}/orders",
        data=raw,
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": "gateway-0001",
            "X-Signature": sign(SIGNING_SECRET, "gateway-0001", raw),
        },
        timeout=30,
    )

    # Then the order is created, with the handler's response passed through
    assert response.status_code == 201, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert len(response.json()["salesforceAccountId"]) == 18
    assert response.headers["x-amzn-RequestId"]
    assert clean_sandbox.zuora.call_count(r"^/v1/orders$", "POST") == 1


def test_unknown_routes_and_methods_get_missing_authentication_token(
    api_gateway: StartGateway, http: requests.Session
) -> None:
    # Given a gateway with only POST /orders
    api = api_gateway({("POST", "/orders"): fake_handler("orders", echo)})

    # When a client calls another path, another method, or outside the stage
    unknown = http.get(f"{api.url}/nowhere", timeout=5)
    wrong_method = http.get(f"{api.url}/orders", timeout=5)
    no_stage = http.post(api.url.removesuffix("/v1") + "/orders", timeout=5)

    # Then API Gateway's own 403s come back and the handler is never called
    assert (unknown.status_code, unknown.json()) == (403, {"message": "Missing Authentication Token"})
    assert (wrong_method.status_code, wrong_method.json()) == (403, {"message": "Missing Authentication Token"})
    assert unknown.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert (no_stage.status_code, no_stage.json()) == (403, {"message": "Forbidden"})


def test_several_set_cookie_headers_reach_the_client_as_separate_headers(
    api_gateway: StartGateway, http: requests.Session
) -> None:
    # Given a handler that sets two cookies with multiValueHeaders (and one in headers, which they override)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {
            "statusCode": 200,
            "headers": {"Set-Cookie": "ignored=1", "Content-Type": "text/plain"},
            "multiValueHeaders": {"Set-Cookie": ["session=abc; Path=/; Secure; HttpOnly", "theme=dark; Path=/"]},
            "body": "ok",
        }

    api = api_gateway({("GET", "/login"): fake_handler("login", handler)})

    # When a client calls it
    response = http.get(f"{api.url}/login", timeout=5)

    # Then both cookies arrive as two Set-Cookie header lines, and the client keeps both
    assert response.status_code == 200
    assert response.raw.headers.getlist("Set-Cookie") == ["session=abc; Path=/; Secure; HttpOnly", "theme=dark; Path=/"]
    assert http.cookies.get_dict() == {"session": "abc", "theme": "dark"}
    assert response.headers["Content-Type"] == "text/plain"


def test_a_request_becomes_the_rest_proxy_event_api_gateway_would_send(
    api_gateway: StartGateway, http: requests.Session
) -> None:
    # Given a handler that echoes its event, on a literal and a templated resource
    module = fake_handler("echo", echo)
    api = api_gateway({("GET", "/sfdccpq"): module, ("POST", "/items/{id}"): module})

    # When a client sends repeated query parameters and headers, then a binary body
    got = http.get(f"{api.url}/sfdccpq?id=1&id=2&mode=x", headers={"X-Trace": "a"}, timeout=5).json()
    posted = http.post(
        f"{api.url}/items/42", data=b"\x00\xff\x10", headers={"Content-Type": "application/octet-stream"}, timeout=5
    ).json()

    # Then the event has the stage-less path, resource, both header and query maps, and the request context
    host = f"127.0.0.1:{api.port}"
    assert (got["resource"], got["path"], got["httpMethod"]) == ("/sfdccpq", "/sfdccpq", "GET")
    assert got["queryStringParameters"] == {"id": "2", "mode": "x"}
    assert got["multiValueQueryStringParameters"] == {"id": ["1", "2"], "mode": ["x"]}
    assert got["headers"]["X-Trace"] == "a" and got["multiValueHeaders"]["X-Trace"] == ["a"]
    assert got["headers"]["X-Forwarded-Proto"] == "https"
    assert (got["body"], got["isBase64Encoded"], got["pathParameters"]) == (None, False, None)
    context = got["requestContext"]
    assert (context["stage"], context["path"], context["resourcePath"]) == ("v1", "/v1/sfdccpq", "/sfdccpq")
    assert (context["domainName"], context["identity"]["sourceIp"], context["httpMethod"]) == (host, "127.0.0.1", "GET")
    assert context["requestId"] != posted["requestContext"]["requestId"]
    # And a non-text body comes base64-encoded, with the path parameter extracted
    assert (posted["resource"], posted["path"], posted["pathParameters"]) == ("/items/{id}", "/items/42", {"id": "42"})
    assert posted["isBase64Encoded"] is True
    assert base64.b64decode(posted["body"]) == b"\x00\xff\x10"
    assert posted["queryStringParameters"] is None and posted["multiValueQueryStringParameters"] is None


def test_api_gateway_limits_413_502_504(api_gateway: StartGateway, http: requests.Session) -> None:
    # Given a handler that raises and one that outlasts the (here shortened) integration timeout
    release = threading.Event()

    def boom(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("bug")

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        release.wait(10)
        return {"statusCode": 200, "body": "late"}

    api = api_gateway(
        {
            ("POST", "/boom"): fake_handler("boom", boom),
            ("GET", "/slow"): fake_handler("slow", slow),
            ("POST", "/orders"): fake_handler("orders", echo),
        },
        timeout_seconds=0.3,
    )
    try:
        # When each is called, and a body one byte over 10 MB is posted
        failed = http.post(f"{api.url}/boom", json={}, timeout=5)
        timed_out = http.get(f"{api.url}/slow", timeout=5)
        too_large = http.post(f"{api.url}/orders", data=b"x" * (MAX_BODY_BYTES + 1), timeout=30)
    finally:
        release.set()

    # Then API Gateway's answers come back
    assert (failed.status_code, failed.json()) == (502, {"message": "Internal server error"})
    assert (timed_out.status_code, timed_out.json()) == (504, {"message": "Endpoint request timed out"})
    assert too_large.status_code == 413


# --- (b) a real browser --------------------------------------------------------------------------------

FORM_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Local API Gateway</title>
<style>body{font:16px system-ui,sans-serif;margin:2rem;max-width:32rem}input,button{font:inherit;padding:.4rem}
#result{margin-top:1rem;padding:.8rem;background:#e8f5e9;border-left:4px solid #2e7d32}</style></head>
<body><h1>Local API Gateway</h1>
<form method="post" action="hello"><label>Name <input id="name" name="name" value=""></label>
<button id="greet" type="submit">Greet</button></form>
%s
</body></html>"""


def hello(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """GET: a page with a form; POST (form-encoded): the same page with a greeting and a cookie."""
    result, cookies = "", []
    if event["httpMethod"] == "POST":
        name = html.escape(parse_qs(event["body"] or "").get("name", ["stranger"])[0])
        stage = event["requestContext"]["stage"]
        result = f'<p id="result">Hello, {name}! (answered by POST {event["resource"]}, stage {stage})</p>'
        cookies = [f"greeted={name}; Path=/; Secure", "visits=1; Path=/; Secure"]
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "text/html; charset=utf-8"},
        "multiValueHeaders": {"Set-Cookie": cookies} if cookies else {},
        "body": FORM_PAGE % result,
    }


def test_a_browser_submits_a_form_through_the_gateway(page: Page, api_gateway: StartGateway) -> None:
    from playwright.sync_api import expect

    # Given a handler serving a form at GET /hello and answering its POST, behind the gateway over HTTPS
    module = fake_handler("hello", hello)
    api = api_gateway({("GET", "/hello"): module, ("POST", "/hello"): module})

    # When Chromium opens the page, types a name and clicks the button
    opened = page.goto(f"{api.url}/hello")
    assert opened is not None and opened.status == 200
    page.fill("#name", "Jane")
    page.click("#greet")

    # Then the greeting comes back from the handler, with both cookies stored by the browser
    expect(page.locator("#result")).to_contain_text("Hello, Jane!")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies == {"greeted": "Jane", "visits": "1"}
    shot = save_screenshot(page, "local-api-gateway-form")
    assert shot.stat().st_size > 0
