"""docs/openapi.json: generated from the two handlers, valid OpenAPI, and current (`make openapi` rewrites it)."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from openapi_spec_validator import validate

from sandbox.openapi_document import DOCUMENT, build, render

REGENERATE = "docs/openapi.json is out of date with the handlers: run `make openapi` and commit the result"


@pytest.fixture(scope="module")
def generated(checkout_app: ModuleType, send_to_zuora_app: ModuleType) -> dict[str, Any]:
    return build(checkout_app, send_to_zuora_app)


def test_committed_document_equals_the_one_generated_from_the_handlers(generated: dict[str, Any]) -> None:
    # Given the handlers as loaded for the tests, and the committed document
    committed = DOCUMENT.read_text(encoding="utf-8")

    # When the document is generated again, in memory
    regenerated = render(generated)

    # Then nothing changed
    assert regenerated == committed, REGENERATE


def test_document_is_valid_openapi() -> None:
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))

    validate(document)


def test_document_holds_both_functions_routes(generated: dict[str, Any]) -> None:
    routes = {f"{method.upper()} {path}" for path, operations in generated["paths"].items() for method in operations}

    assert routes == {"POST /orders", "GET /sfdccpq", "POST /sfdccpq", "GET /sfdccpq/callback"}


def test_checkout_declares_its_body_headers_and_every_status_it_answers(generated: dict[str, Any]) -> None:
    operation = generated["paths"]["/orders"]["post"]

    body = operation["requestBody"]["content"]["application/json"]["schema"]
    headers = {p["name"].lower() for p in operation["parameters"] if p["in"] == "header"}
    assert body == {"$ref": "#/components/schemas/CheckoutRequest"}
    assert headers == {"idempotency-key", "x-signature"}
    assert set(operation["responses"]) == {"201", "400", "401", "409", "413", "415", "422", "500", "502", "504"}


def test_checkout_errors_are_error_bodies_and_retries_are_timed(generated: dict[str, Any]) -> None:
    responses = generated["paths"]["/orders"]["post"]["responses"]

    schemas = {status: r["content"]["application/json"]["schema"]["$ref"] for status, r in responses.items()}
    assert schemas.pop("201") == "#/components/schemas/CheckoutResult"
    assert set(schemas.values()) == {"#/components/schemas/ErrorBody"}
    assert "Retry-After" in responses["409"]["headers"]
    assert "Idempotent-Replayed" in responses["201"]["headers"]


def test_button_routes_answer_html_pages_and_redirects_with_a_location(generated: dict[str, Any]) -> None:
    operations = [op for path, ops in generated["paths"].items() if path.startswith("/sfdccpq") for op in ops.values()]

    media_types = {media for op in operations for r in op["responses"].values() for media in r["content"]}
    redirects = [r for op in operations for status, r in op["responses"].items() if status.startswith("3")]
    assert media_types == {"text/html"}
    assert len(redirects) == 2
    assert all("Location" in r["headers"] for r in redirects)
