"""Bad input through API Gateway on loopback (real HTTPS): each gets a clear 4xx naming the problem, nothing is
created in Salesforce or Zuora, and nothing reaches the generic 500 handler."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from sandbox.api_gateway import LocalApiGateway
from sandbox.stack import SIGNING_SECRET, Sandbox
from sfzsync.checkout.signature import sign
from tests.integration.conftest import checkout_body

NUL = "\x00"
RIGHT_TO_LEFT_OVERRIDE = "\u202e"


def created(sandbox: Sandbox) -> dict[str, int]:
    """How many records each system holds (the integration conftest empties them before every test)."""
    return {
        "Account": len(sandbox.salesforce.records("Account")),
        "Contact": len(sandbox.salesforce.records("Contact")),
        "Zuora account": len(sandbox.zuora.accounts),
        "Zuora order": len(sandbox.zuora.orders),
    }


NOTHING = {"Account": 0, "Contact": 0, "Zuora account": 0, "Zuora order": 0}


def post_checkout(
    api: LocalApiGateway,
    sandbox: Sandbox,
    body: bytes,
    content_type: str = "application/json",
    *,
    signed: bool = True,
) -> requests.Response:
    """POST /orders with exactly these bytes, signed over them as the merchant's backend would."""
    headers = {"Content-Type": content_type, "Idempotency-Key": "bad-input-0001"}
    if signed:
        headers["X-Signature"] = sign(SIGNING_SECRET, "bad-input-0001", body.decode("utf-8", errors="replace"))
    return requests.post(
        f"{api.url}/orders", data=body, headers=headers, timeout=30, verify=str(sandbox.ca.bundle_path)
    )


def with_customer(**fields: Any) -> bytes:
    body = checkout_body()
    body["customer"].update(fields)
    return json.dumps(body).encode()


def with_address(**fields: Any) -> bytes:
    body = checkout_body()
    body["customer"]["address"].update(fields)
    return json.dumps(body).encode()


def error_of(response: requests.Response) -> dict[str, Any]:
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def fields_of(response: requests.Response) -> dict[str, str]:
    return {f["field"]: f["message"] for f in error_of(response).get("fields", [])}


# --- size, encoding, media type ---------------------------------------------------------------------


def test_a_1_mb_body_of_huge_strings_is_refused_with_413_and_creates_nothing(
    button_api: LocalApiGateway, sandbox: Sandbox
) -> None:
    # Given a checkout whose names and address are padded to 1 MB in total
    body = with_customer(company="A" * 350_000, lastName="D" * 350_000, firstName="J" * 350_000)
    assert len(body) > 1_000_000

    # When it is posted
    response = post_checkout(button_api, sandbox, body)

    # Then API Gateway lets it through (< 10 MB) but the function refuses it, naming the body
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"
    assert "body" in fields_of(response)
    assert created(sandbox) == NOTHING


def test_a_body_that_is_not_json_gets_422_naming_the_body(button_api: LocalApiGateway, sandbox: Sandbox) -> None:
    response = post_checkout(button_api, sandbox, b"customer=jane&order=1")

    assert response.status_code == 422
    assert error_of(response)["message"] == "the request body is not valid JSON"
    assert fields_of(response)["body"].startswith("not valid JSON")
    assert created(sandbox) == NOTHING


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data"],
)
def test_a_body_that_is_not_declared_as_json_gets_415_naming_the_content_type(
    button_api: LocalApiGateway, sandbox: Sandbox, content_type: str
) -> None:
    # Given a valid checkout sent with another Content-Type (multipart here has no boundary at all)
    body = json.dumps(checkout_body()).encode()

    # When it is posted
    response = post_checkout(button_api, sandbox, body, content_type)

    # Then it is refused as an unsupported media type, not parsed and not a server error
    assert response.status_code == 415
    assert "Content-Type" in fields_of(response)
    assert content_type in error_of(response)["message"]
    assert created(sandbox) == NOTHING


def test_a_body_that_is_not_utf8_gets_400_naming_the_body(button_api: LocalApiGateway, sandbox: Sandbox) -> None:
    response = post_checkout(button_api, sandbox, b'{"customer": "\xff\xfe"}')

    assert response.status_code == 400
    assert fields_of(response) == {"body": "the request body is not valid UTF-8"}
    assert created(sandbox) == NOTHING


def test_an_unsigned_bad_body_gets_401_before_anything_about_the_body(
    button_api: LocalApiGateway, sandbox: Sandbox
) -> None:
    response = post_checkout(button_api, sandbox, b"x" * 300_000, "text/plain", signed=False)

    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_signature"


# --- JSON structure ----------------------------------------------------------------------------------


def test_deeply_nested_json_gets_422_saying_so(button_api: LocalApiGateway, sandbox: Sandbox) -> None:
    # Given JSON nested 100 000 levels deep (deeper than Python's parser recurses)
    body = b"[" * 100_000 + b"]" * 100_000

    # When it is posted
    response = post_checkout(button_api, sandbox, body)

    # Then it is refused as JSON the service will not read, not a server error
    assert response.status_code == 422
    assert fields_of(response) == {"body": "not valid JSON: nested too deeply"}
    assert created(sandbox) == NOTHING


def test_a_duplicate_key_gets_422_naming_the_key(button_api: LocalApiGateway, sandbox: Sandbox) -> None:
    # Given a valid checkout whose "customer" appears twice (parsers disagree on which one wins)
    valid = json.dumps(checkout_body())
    second_customer = json.dumps(checkout_body(email="mallory@evil.example")["customer"])
    body = valid.replace('{"customer": ', '{"customer": ' + second_customer + ', "customer": ', 1).encode()

    # When it is posted
    response = post_checkout(button_api, sandbox, body)

    # Then neither is chosen: the request is refused, naming the key
    assert response.status_code == 422
    assert fields_of(response) == {"body": "not valid JSON: duplicate key 'customer'"}
    assert created(sandbox) == NOTHING


# --- characters in names and emails ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "code_point"),
    [
        (with_customer(firstName=f"Ja{NUL}ne"), "customer.firstName", "U+0000"),
        (with_customer(lastName=f"Doe{RIGHT_TO_LEFT_OVERRIDE}"), "customer.lastName", "U+202E"),
        (with_customer(company=f"{RIGHT_TO_LEFT_OVERRIDE}cnI emcA"), "customer.company", "U+202E"),
        (with_address(city=f"San{NUL}Francisco"), "customer.address.city", "U+0000"),
        (with_address(line1="1 Main St\n2 Evil Ave"), "customer.address.line1", "U+000A"),
    ],
    ids=["nul-in-first-name", "rtl-in-last-name", "rtl-in-company", "nul-in-city", "newline-in-street"],
)
def test_control_or_bidi_characters_in_names_get_422_naming_field_and_character(
    button_api: LocalApiGateway, sandbox: Sandbox, body: bytes, field: str, code_point: str
) -> None:
    response = post_checkout(button_api, sandbox, body)

    assert response.status_code == 422
    assert code_point in fields_of(response)[field]
    assert created(sandbox) == NOTHING


@pytest.mark.parametrize(
    "email",
    [f"jane{NUL}@acme.com", f"jane{RIGHT_TO_LEFT_OVERRIDE}@acme.com", f"jane@acme{NUL}.com", "jane@moc.emca\u202e"],
    ids=["nul-in-local-part", "rtl-in-local-part", "nul-in-domain", "rtl-in-domain"],
)
def test_control_or_bidi_characters_in_the_email_get_422_naming_the_email(
    button_api: LocalApiGateway, sandbox: Sandbox, email: str
) -> None:
    response = post_checkout(button_api, sandbox, with_customer(email=email))

    assert response.status_code == 422
    assert "customer.email" in fields_of(response)
    assert created(sandbox) == NOTHING


# --- what Salesforce and Zuora can hold -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (with_customer(email=f"{'j' * 64}@{'a' * 12}.example"), "customer.email"),  # Zuora workEmail: 80
        (with_customer(firstName="J" * 41), "customer.firstName"),  # Salesforce Contact.FirstName: 40
        (with_address(state="S" * 41), "customer.address.state"),  # Zuora billToContact.state: 40
        (with_address(line1="L" * 200, line2="M" * 55), "customer.address"),  # Salesforce street: 255
    ],
    ids=["email-over-80", "first-name-over-40", "state-over-40", "street-over-255"],
)
def test_values_salesforce_or_zuora_cannot_store_get_422_before_anything_is_created(
    button_api: LocalApiGateway, sandbox: Sandbox, body: bytes, field: str
) -> None:
    response = post_checkout(button_api, sandbox, body)

    assert response.status_code == 422
    assert field in fields_of(response)
    assert created(sandbox) == NOTHING


def test_the_longest_values_salesforce_and_zuora_hold_are_accepted(
    button_api: LocalApiGateway, sandbox: Sandbox
) -> None:
    # Given a checkout at every length limit at once
    body = checkout_body(email=f"{'j' * 64}@{'a' * 11}.com", first="J" * 40, last="D" * 80, company="C" * 255)
    body["customer"]["address"].update(line1="L" * 200, line2="M" * 54, city="C" * 40, state="S" * 40)

    # When it is posted
    response = post_checkout(button_api, sandbox, json.dumps(body).encode())

    # Then the order goes through to both systems
    assert response.status_code == 201, response.text
    assert created(sandbox) == {"Account": 1, "Contact": 1, "Zuora account": 1, "Zuora order": 1}


# --- the Send to Zuora form ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("&".join(f"field{i}=x" for i in range(50)).encode(), "application/x-www-form-urlencoded"),
        (b"sfdc=\xff\xfe&csrf=\xff", "application/x-www-form-urlencoded"),
        (b"sfdc=x", "multipart/form-data"),
        (b"sfdc=x", "text/plain"),
    ],
    ids=["many-fields", "not-utf8", "multipart-without-boundary", "text-plain"],
)
def test_a_malformed_button_form_gets_a_400_page_not_a_server_error(
    button_api: LocalApiGateway, sandbox: Sandbox, body: bytes, content_type: str
) -> None:
    response = requests.post(
        f"{button_api.url}/sfdccpq",
        data=body,
        headers={"Content-Type": content_type},
        timeout=30,
        verify=str(sandbox.ca.bundle_path),
        allow_redirects=False,
    )

    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")
    assert "This link is not valid" in response.text
    assert sandbox.zuora.calls == []
