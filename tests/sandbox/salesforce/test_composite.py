"""Composite and sObject Tree (`sandbox.salesforce.composite`)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sandbox.salesforce import SalesforceSim
from tests.sandbox.salesforce.conftest import (
    HALTED,
    VERSION,
    bearer_header,
    data_url,
    post_subrequest,
    record_of,
    run_composite,
    tree_body,
)
from tests.sandbox.salesforce.sf_client import Salesforce, SalesforceMalformedRequest


def _get(url: str, ref: str) -> dict[str, Any]:
    return {"method": "GET", "url": f"/services/data/v{VERSION}/{url}", "referenceId": ref}


# --- Composite ---------------------------------------------------------------------------------------------------


def test_composite_creates_linked_records_through_references(sim: SalesforceSim, sf: Salesforce) -> None:
    # When
    results = run_composite(
        sf,
        [
            post_subrequest("sobjects/Account", "newAccount", {"Name": "Acme"}),
            post_subrequest("sobjects/Contact", "newContact", {"LastName": "A", "AccountId": "@{newAccount.id}"}),
        ],
    )
    # Then
    assert [r["httpStatusCode"] for r in results] == [201, 201]
    contact = record_of(sim, "Contact", results[1]["body"]["id"])
    assert contact["AccountId"] == results[0]["body"]["id"]


def test_composite_query_result_feeds_a_later_subrequest(sim: SalesforceSim, sf: Salesforce) -> None:
    account = sim.insert("Account", {"Name": "Acme"})
    results = run_composite(
        sf,
        [
            _get("query?q=SELECT+Id+FROM+Account+WHERE+Name+=+'Acme'", "found"),
            _get("sobjects/Account/@{found.records[0].Id}", "account"),
        ],
    )
    assert results[1]["body"]["Id"] == account


def test_composite_all_or_none_rolls_back_on_failure(sim: SalesforceSim, sf: Salesforce) -> None:
    # When the second subrequest misses a required field
    results = run_composite(
        sf,
        [
            post_subrequest("sobjects/Account", "newAccount", {"Name": "Acme"}),
            post_subrequest("sobjects/Contact", "newContact", {"FirstName": "A", "AccountId": "@{newAccount.id}"}),
        ],
    )
    # Then nothing is saved, the failure keeps its error and the other one is halted
    assert sim.records("Account") == []
    assert results[1]["httpStatusCode"] == 400
    assert results[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert results[0]["httpStatusCode"] == 400
    assert results[0]["body"][0]["errorCode"] == HALTED


def test_composite_without_all_or_none_keeps_successes_and_halts_dependents(sim: SalesforceSim, sf: Salesforce) -> None:
    results = run_composite(
        sf,
        [
            post_subrequest("sobjects/Account", "good", {"Name": "Acme"}),
            post_subrequest("sobjects/Account", "bad", {"Website": "x.com"}),
            post_subrequest("sobjects/Contact", "dependent", {"LastName": "A", "AccountId": "@{bad.id}"}),
        ],
        all_or_none=False,
    )
    assert [r["httpStatusCode"] for r in results] == [201, 400, 400]
    assert results[2]["body"][0]["errorCode"] == HALTED
    assert len(sim.records("Account")) == 1


def test_composite_is_one_http_200_even_when_subrequests_fail(
    sim: SalesforceSim, http: requests.Session, token: str
) -> None:
    body = {"allOrNone": True, "compositeRequest": [post_subrequest("sobjects/Account", "bad", {})]}
    reply = http.post(data_url(sim, "composite"), json=body, headers=bearer_header(token), timeout=10)
    assert reply.status_code == 200


# --- sObject Tree ------------------------------------------------------------------------------------------------


def test_tree_creates_account_with_contacts(sim: SalesforceSim, sf: Salesforce) -> None:
    result = sf.restful("composite/tree/Account", method="POST", json=tree_body({"LastName": "A"}))
    ids = {r["referenceId"]: r["id"] for r in result["results"]}
    assert result["hasErrors"] is False
    assert record_of(sim, "Contact", ids["con"])["AccountId"] == ids["acc"]


def test_tree_failure_rolls_back_everything(sim: SalesforceSim, sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful("composite/tree/Account", method="POST", json=tree_body({"FirstName": "A"}))
    assert exc.value.content["hasErrors"] is True
    assert exc.value.content["results"][0]["referenceId"] == "con"
    assert exc.value.content["results"][0]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sim.records("Account") == []
