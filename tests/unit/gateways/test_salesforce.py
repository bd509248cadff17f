"""How the Salesforce gateway reads Salesforce's answers: duplicate-rule hits and error codes."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceError

from sfzsync.gateways.salesforce import duplicate_match, salesforce_error


def duplicate_item(key: str, entity: str, record_id: str) -> dict[str, Any]:
    """A Composite subrequest refused by a duplicate rule, as Salesforce answers it."""
    result = {
        "duplicateRuleEntityType": entity,
        "matchResults": [{"entityType": entity, "matchRecords": [{"record": {"Id": record_id}}]}],
    }
    return {
        "httpStatusCode": 400,
        "referenceId": "newAccount",
        "body": [{"errorCode": "DUPLICATES_DETECTED", "message": "Use one of these records?", key: result}],
    }


@pytest.mark.parametrize("key", ["duplicateResut", "duplicateResult"])
def test_a_duplicate_rule_hit_names_the_existing_record_in_either_spelling_of_the_key(key: str) -> None:
    # Salesforce's REST API spells the key "duplicateResut"; the documented spelling is read too
    assert duplicate_match(duplicate_item(key, "Account", "001000000000001")) == ("Account", "001000000000001AAA")


def test_a_duplicate_rule_on_contacts_names_the_contact() -> None:
    assert duplicate_match(duplicate_item("duplicateResut", "Contact", "003000000000001")) == (
        "Contact",
        "003000000000001AAA",
    )


def test_another_refusal_is_not_a_duplicate() -> None:
    item = {"httpStatusCode": 400, "body": [{"errorCode": "REQUIRED_FIELD_MISSING", "message": "Name"}]}
    assert duplicate_match(item) is None


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (400, "UNABLE_TO_LOCK_ROW", True),
        (403, "REQUEST_LIMIT_EXCEEDED", True),
        (503, "SERVER_UNAVAILABLE", True),
        (400, "INVALID_FIELD", False),
        (500, "UNKNOWN_EXCEPTION", True),
    ],
)
def test_a_salesforce_error_is_retryable_when_salesforce_says_it_is_temporary(
    status: int, code: str, retryable: bool
) -> None:
    content: Any = [{"errorCode": code}]  # simple-salesforce passes the parsed JSON body, whatever its stub says
    error = salesforce_error("salesforce_lookup", SalesforceError("url", status, "Account", content))

    assert (error.stage, error.code, error.retryable) == ("salesforce_lookup", code, retryable)
