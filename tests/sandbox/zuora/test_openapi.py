"""Request-body validation against Zuora's published OpenAPI document (`sandbox.zuora.openapi`)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from sandbox.zuora import openapi
from sandbox.zuora.openapi import (
    RELAXED_SCHEMAS,
    OpenAPIDocumentMissingError,
    UnknownOperationError,
    relax,
    validate_request_body,
)

ORDERS = "/v1/orders"
OPERATIONS = [("post", "/v1/orders"), ("post", "/v1/accounts"), ("put", "/v1/accounts/{account-key}")]


@pytest.fixture
def raw_document(zuora_document: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(zuora_document.read_bytes())
    return document


def new_account_order() -> dict[str, Any]:
    return {
        "orderDate": "2026-11-23",
        "newAccount": {
            "name": "Acme Inc",
            "currency": "USD",
            "billCycleDay": 0,
            "autoPay": True,
            "crmId": "001000000000001AAA",
            "billToContact": {
                "firstName": "Jane",
                "lastName": "Doe",
                "workEmail": "jane@acme.com",
                "address1": "1 Main St",
                "city": "San Francisco",
                "state": "CA",
                "postalCode": "94105",
                "country": "US",
                "workPhone": "+1 415 555 0100",
            },
            "hpmCreditCardPaymentMethodId": "8ad0...",
        },
        "subscriptions": [
            {
                "orderActions": [
                    {
                        "type": "CreateSubscription",
                        "triggerDates": [
                            {"name": "ContractEffective", "triggerDate": "2026-11-23"},
                            {"name": "ServiceActivation", "triggerDate": "2026-11-23"},
                            {"name": "CustomerAcceptance", "triggerDate": "2026-11-23"},
                        ],
                        "createSubscription": {
                            "subscribeToRatePlans": [
                                {
                                    "productRatePlanId": "8ad0...",
                                    "chargeOverrides": [
                                        {
                                            "productRatePlanChargeId": "8ad1...",
                                            "pricing": {"recurringPerUnit": {"quantity": 3}},
                                        }
                                    ],
                                }
                            ],
                            "terms": {
                                "initialTerm": {
                                    "termType": "TERMED",
                                    "period": 12,
                                    "periodType": "Month",
                                    "startDate": "2026-11-23",
                                },
                                "renewalSetting": "RENEW_WITH_SPECIFIC_TERM",
                                "renewalTerms": [{"period": 12, "periodType": "Month"}],
                                "autoRenew": True,
                            },
                        },
                    }
                ]
            }
        ],
        "processingOptions": {"runBilling": True, "collectPayment": True},
    }


def create_subscription(order: dict[str, Any]) -> dict[str, Any]:
    action: dict[str, Any] = order["subscriptions"][0]["orderActions"][0]["createSubscription"]
    return action


def openapi_core_errors(document: dict[str, Any], body: dict[str, Any]) -> list[str]:
    api = OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))
    environ = EnvironBuilder(
        method="POST",
        path=ORDERS,
        base_url="https://rest.zuora.com",
        data=json.dumps(body),
        content_type="application/json; charset=utf-8",
    ).get_environ()
    try:
        api.validate_request(WerkzeugOpenAPIRequest(Request(environ)))
    except Exception as exc:
        errors = getattr(exc.__cause__, "schema_errors", None) or [exc]
        return [str(error).splitlines()[0] for error in errors]
    return []


def resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def allof_branches_with_typed_additional_properties(document: dict[str, Any], method: str, path: str) -> set[str]:
    found: set[str] = set()
    seen: set[str] = set()
    body = resolve(document, document["paths"][path][method]["requestBody"])
    stack: list[tuple[Any, str]] = [(media["schema"], "") for media in body["content"].values()]
    while stack:
        node, name = stack.pop()
        if isinstance(node, dict) and "$ref" in node:
            if node["$ref"] not in seen:
                seen.add(node["$ref"])
                stack.append((resolve(document, node), node["$ref"].rsplit("/", 1)[1]))
            continue
        if not isinstance(node, dict):
            continue
        for branch in node.get("allOf", []):
            extra = resolve(document, branch).get("additionalProperties")
            if isinstance(extra, dict) and "type" in extra:
                found.add(name)
        stack.extend((sub, name) for sub in node.get("properties", {}).values())
        stack.extend((node[key], name) for key in ("items", "additionalProperties") if isinstance(node.get(key), dict))
        stack.extend((branch, name) for branch in node.get("allOf", []))
    return found


# --- valid bodies -------------------------------------------------------------------------------


def test_valid_new_account_order_has_no_violations() -> None:
    # Given a Create Order body shaped like the schema
    body = new_account_order()
    # When it is validated
    violations = validate_request_body("POST", ORDERS, body)
    # Then nothing is reported
    assert violations == []


def test_order_against_an_existing_account_has_no_violations() -> None:
    # Given an order that names an existing account instead of creating one
    body = new_account_order()
    del body["newAccount"]
    body["existingAccountNumber"] = "A00000001"
    # When / Then
    assert validate_request_body("POST", ORDERS, body) == []


def test_evergreen_order_has_no_violations() -> None:
    # Given an order whose subscription has no term end
    body = new_account_order()
    create_subscription(body)["terms"] = {"initialTerm": {"termType": "EVERGREEN"}}
    # When / Then
    assert validate_request_body("POST", ORDERS, body) == []


def test_custom_fields_with_the_documented_suffix_are_accepted() -> None:
    # Given a custom field on the bill-to contact (allOf with ContactObjectCustomFields) and on the order
    body = new_account_order()
    body["newAccount"]["billToContact"]["Region__c"] = "West"
    body["customFields"] = {"Channel__c": "web"}
    # When / Then
    assert validate_request_body("POST", ORDERS, body) == []


def test_create_account_body_with_zip_code_is_valid() -> None:
    # Given a Create Account body (its contacts use zipCode, unlike Create Order's postalCode)
    body = {
        "name": "Acme Inc",
        "currency": "USD",
        "billCycleDay": 0,
        "crmId": "001000000000001AAA",
        "soldToSameAsBillTo": True,
        "billToContact": {"firstName": "Jane", "lastName": "Doe", "zipCode": "94105", "country": "US"},
    }
    # When / Then
    assert validate_request_body("POST", "/v1/accounts", body) == []


def test_update_account_body_is_valid() -> None:
    # Given an Update Account body
    body = {"name": "Acme Corp", "crmId": "001000000000002AAA", "billToContact": {"firstName": "J", "lastName": "D"}}
    # When / Then
    assert validate_request_body("PUT", "/v1/accounts/{account-key}", body) == []


# --- invalid bodies -----------------------------------------------------------------------------


def test_wrong_type_is_reported_with_its_json_path() -> None:
    # Given a bill cycle day sent as a string
    body = new_account_order()
    body["newAccount"]["billCycleDay"] = "1"
    # When
    violations = validate_request_body("POST", ORDERS, body)
    # Then
    assert violations == ['$.newAccount.billCycleDay: expected integer, got string "1"']


def test_misspelled_required_nesting_is_reported_as_missing_and_unknown() -> None:
    # Given "subscription" where the schema requires "subscriptions"
    body = new_account_order()
    body["subscription"] = body.pop("subscriptions")
    # When
    violations = validate_request_body("POST", ORDERS, body)
    # Then
    assert violations == [
        "$: missing required field 'subscriptions'",
        "$.subscription: unknown field 'subscription': not declared by the schema",
    ]


def test_undeclared_structure_in_new_account_is_reported() -> None:
    # Given an object where Account only allows undeclared string fields (data access control, *__h)
    body = new_account_order()
    body["newAccount"]["shipping"] = {"city": "Boston"}
    # When
    violations = validate_request_body("POST", ORDERS, body, strict=False)
    # Then
    assert violations == ['$.newAccount.shipping: expected string, got object {"city": "Boston"}']


def test_enum_and_format_violations_are_reported() -> None:
    # Given a bad term type and an impossible date
    body = new_account_order()
    body["orderDate"] = "2026-13-45"
    create_subscription(body)["terms"]["initialTerm"]["termType"] = "FIXED"
    # When
    violations = validate_request_body("POST", ORDERS, body)
    # Then
    assert violations == [
        '$.orderDate: "2026-13-45" is not a valid date',
        '$.subscriptions[0].orderActions[0].createSubscription.terms.initialTerm.termType: "FIXED" is not one of '
        '["TERMED", "EVERGREEN"]',
    ]


def test_quantity_must_be_a_number() -> None:
    # Given a quantity sent as a string
    body = new_account_order()
    create_subscription(body)["subscribeToRatePlans"][0]["chargeOverrides"][0]["pricing"]["recurringPerUnit"][
        "quantity"
    ] = "3"
    # When
    violations = validate_request_body("POST", ORDERS, body)
    # Then
    assert len(violations) == 1
    assert violations[0].endswith('.pricing.recurringPerUnit.quantity: expected number, got string "3"')


def test_create_order_contact_rejects_zip_code_and_sold_to_same_as_bill_to() -> None:
    # Given the Create Account spellings inside a Create Order newAccount
    body = new_account_order()
    body["newAccount"]["billToContact"]["zipCode"] = body["newAccount"]["billToContact"].pop("postalCode")
    body["newAccount"]["soldToSameAsBillTo"] = True
    # When
    violations = validate_request_body("POST", ORDERS, body)
    # Then both are named, with the extension-field rule of their object
    assert violations == [
        "$.newAccount.billToContact.zipCode: unknown field 'zipCode': not declared by the schema "
        "(extension fields here must end with __c)",
        "$.newAccount.soldToSameAsBillTo: unknown field 'soldToSameAsBillTo': not declared by the schema "
        "(extension fields here must end with __h)",
    ]


def test_non_strict_mode_lets_undeclared_string_fields_through() -> None:
    # Given an undeclared string field where the schema permits extra strings
    body = new_account_order()
    body["newAccount"]["billToContact"]["zipCode"] = "94105"
    # When / Then
    assert validate_request_body("POST", ORDERS, body, strict=False) == []


def test_account_currency_cannot_be_updated() -> None:
    # Given an Update Account body that tries to change the currency
    body = {"currency": "EUR"}
    # When / Then
    assert validate_request_body("PUT", "/v1/accounts/{account-key}", body) == [
        "$.currency: unknown field 'currency': not declared by the schema (extension fields here must end with __c)"
    ]


def test_non_object_body_is_reported() -> None:
    # When / Then
    assert validate_request_body("POST", ORDERS, [1]) == ["$: expected object, got array [1]"]


def test_operation_without_a_request_body_is_an_error() -> None:
    # When / Then
    with pytest.raises(UnknownOperationError):
        validate_request_body("POST", "/v1/no-such-thing", {})


# --- relaxations ----------------------------------------------------------------------------------


def test_only_the_documented_schemas_combine_allof_with_typed_additional_properties(
    raw_document: dict[str, Any],
) -> None:
    # Given the published document as fetched
    # When every schema reachable from the simulated operations is scanned
    found = set().union(*(allof_branches_with_typed_additional_properties(raw_document, m, p) for m, p in OPERATIONS))
    # Then exactly the relaxed schemas have the allOf + additionalProperties {type: string} pattern
    assert found == set(RELAXED_SCHEMAS)


def test_relax_changes_exactly_the_documented_schemas(raw_document: dict[str, Any]) -> None:
    # Given the published document
    before = copy.deepcopy(raw_document)
    # When relaxed
    changed = relax(raw_document)
    # Then only those schemas differ
    assert changed == list(RELAXED_SCHEMAS)
    schemas, original = raw_document["components"]["schemas"], before["components"]["schemas"]
    assert [name for name in schemas if schemas[name] != original[name]] == sorted(RELAXED_SCHEMAS)
    assert raw_document["paths"] == before["paths"]


def test_openapi_core_rejects_a_valid_order_until_relaxed(raw_document: dict[str, Any]) -> None:
    # Given a valid order
    body = new_account_order()
    # When openapi-core validates it against the published document
    errors = openapi_core_errors(raw_document, body)
    # Then the allOf/additionalProperties pattern rejects declared non-string fields
    assert sorted(errors) == [
        "0 is not of type 'string'",
        "True is not of type 'string'",
        f"{body['newAccount']['billToContact']!r} is not of type 'string'",
    ]
    # And after relaxing, openapi-core accepts it
    relax(raw_document)
    assert openapi_core_errors(raw_document, body) == []


def test_relaxed_schema_still_requires_undeclared_account_fields_to_be_strings(raw_document: dict[str, Any]) -> None:
    # Given the relaxed document and an undeclared boolean on newAccount
    relax(raw_document)
    body = new_account_order()
    body["newAccount"]["soldToSameAsBillTo"] = True
    # When / Then
    assert openapi_core_errors(raw_document, body) == ["True is not of type 'string'"]


# --- document location ----------------------------------------------------------------------------


def test_missing_document_names_the_fetch_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given ZUORA_OPENAPI_PATH pointing at nothing
    monkeypatch.setenv(openapi.ENV_VAR, str(tmp_path / "absent.json"))
    # When / Then
    with pytest.raises(OpenAPIDocumentMissingError, match="scripts/fetch-zuora-openapi"):
        validate_request_body("POST", ORDERS, new_account_order())


def test_document_is_loaded_once_per_process() -> None:
    # When the document is requested twice
    first, second = openapi.load_document(), openapi.load_document()
    # Then it is the same object
    assert first is second
