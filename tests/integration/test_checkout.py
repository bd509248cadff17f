"""Checkout end to end: API Gateway events through the real handler, real clients, simulators on loopback."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from sandbox.core import Fault
from sandbox.stack import Sandbox
from sandbox.zuora import SPARE_PAYMENT_METHODS, zuora_failure
from tests.integration.conftest import CheckoutCall, body_of, checkout_body, header_of

ORDERS = r"^/v1/orders$"


def _sent_orders(sandbox: Sandbox) -> list[dict[str, object]]:
    return [json.loads(call.body) for call in sandbox.zuora.calls if call.path == "/v1/orders" and call.body]


def _seed_account(sandbox: Sandbox, name: str, website: str | None = None, created: str = "2021-01-01") -> str:
    fields = {"Name": name} | ({"Website": website} if website else {})
    return sandbox.salesforce.insert(
        "Account", fields, created_date=dt.datetime.fromisoformat(created + "T00:00:00+00:00")
    )


def _seed_contact(sandbox: Sandbox, account_id: str, email: str) -> str:
    return sandbox.salesforce.insert("Contact", {"AccountId": account_id, "LastName": "Seeded", "Email": email})


# --- 1. new customer ----------------------------------------------------------------------------------


def test_new_customer_gets_account_and_contact_in_one_request_and_a_zuora_order_carrying_its_id(
    sandbox: Sandbox, post_checkout: CheckoutCall
) -> None:
    # Given an empty Salesforce org
    # When a new customer checks out
    response = post_checkout(checkout_body("Jane.Doe@Acme.com"))

    # Then one Account and one Contact exist, created by a single all-or-none request
    assert response["statusCode"] == 201, response["body"]
    result = body_of(response)
    accounts, contacts = sandbox.salesforce.records("Account"), sandbox.salesforce.records("Contact")
    assert [a["Name"] for a in accounts] == ["Acme Inc"]
    assert [(c["Email"], c["AccountId"]) for c in contacts] == [("Jane.Doe@acme.com", accounts[0]["Id"])]
    creates = [
        c
        for c in sandbox.salesforce.calls
        if c.method == "POST" and "/composite" in c.path and json.loads(c.body).get("allOrNone") is True
    ]
    assert len(creates) == 1
    # And the Zuora order's newAccount.crmId is that Account's 18-character Id
    (order,) = _sent_orders(sandbox)
    assert order["newAccount"]["crmId"] == accounts[0]["Id"] == result["salesforceAccountId"]  # type: ignore[index]
    assert len(result["salesforceAccountId"]) == 18
    # And the 201 body is the README's
    assert result["matchedBy"] == "created"
    assert result["zuoraAccountNumber"].startswith("A")
    assert result["zuoraOrderNumber"].startswith("O-")
    assert len(result["subscriptionNumbers"]) == 1
    assert result["orderStatus"] == "Completed"
    assert set(result) == {
        "salesforceAccountId",
        "matchedBy",
        "zuoraAccountNumber",
        "zuoraOrderNumber",
        "subscriptionNumbers",
        "orderStatus",
    }


# --- 2. matching --------------------------------------------------------------------------------------


def test_existing_contact_is_found_by_email_in_another_letter_case(
    sandbox: Sandbox, post_checkout: CheckoutCall
) -> None:
    account_id = _seed_account(sandbox, "Globex", "globex.com")
    _seed_contact(sandbox, account_id, "maria.garcia@globex.com")

    result = body_of(post_checkout(checkout_body("MARIA.GARCIA@Globex.com")))

    assert (result["matchedBy"], result["salesforceAccountId"]) == ("contact_email", account_id)
    assert len(sandbox.salesforce.records("Account")) == 1


def test_company_domain_matches_an_account_by_its_website(sandbox: Sandbox, post_checkout: CheckoutCall) -> None:
    account_id = _seed_account(sandbox, "Initech", "https://www.initech.com")

    result = body_of(post_checkout(checkout_body("peter@initech.com")))

    assert (result["matchedBy"], result["salesforceAccountId"]) == ("account_domain", account_id)


def test_subdomain_mail_matches_the_registrable_domain_of_the_website(
    sandbox: Sandbox, post_checkout: CheckoutCall
) -> None:
    account_id = _seed_account(sandbox, "Acme UK", "https://www.acme.co.uk/about")

    result = body_of(post_checkout(checkout_body("bob@mail.acme.co.uk")))

    assert (result["matchedBy"], result["salesforceAccountId"]) == ("account_domain", account_id)


@pytest.mark.parametrize("email", ["sam.smith@gmail.com", "sam@outlook.com", "sam@yahoo.co.uk"])
def test_free_mail_customers_are_never_matched_by_domain(
    sandbox: Sandbox, post_checkout: CheckoutCall, email: str
) -> None:
    domain = email.split("@")[1]
    _seed_account(sandbox, f"Fans of {domain}", f"https://www.{domain}")

    result = body_of(post_checkout(checkout_body(email, company=None)))

    assert result["matchedBy"] == "created"
    assert sorted(a["Name"] for a in sandbox.salesforce.records("Account")) == sorted([f"Fans of {domain}", "Jane Doe"])


def test_a_lookalike_domain_never_matches(sandbox: Sandbox, post_checkout: CheckoutCall) -> None:
    _seed_account(sandbox, "Not Acme", "https://notacme.com")

    result = body_of(post_checkout(checkout_body("jane@acme.com")))

    assert result["matchedBy"] == "created"


def test_several_candidates_give_the_oldest_account_every_time(sandbox: Sandbox, post_checkout: CheckoutCall) -> None:
    _seed_account(sandbox, "Acme West", "acme.com", created="2023-05-01")
    oldest = _seed_account(sandbox, "Acme HQ", "https://acme.com/", created="2019-02-03")
    _seed_account(sandbox, "Acme East", "www.acme.com", created="2021-07-09")

    results = [
        body_of(post_checkout(checkout_body("jane@acme.com", paymentMethodId=card), key=f"tie-{n}"))
        for n, card in enumerate(SPARE_PAYMENT_METHODS[:3])
    ]

    assert {r["salesforceAccountId"] for r in results} == {oldest}
    assert {r["matchedBy"] for r in results} == {"account_domain"}


def test_all_lookup_rules_cost_one_salesforce_round_trip(sandbox: Sandbox, post_checkout: CheckoutCall) -> None:
    _seed_account(sandbox, "Acme", "acme.com")

    post_checkout(checkout_body("jane@acme.com"))

    data_calls = [c for c in sandbox.salesforce.calls if c.path.startswith("/services/data/")]
    assert len(data_calls) == 1


# --- 4. idempotency -----------------------------------------------------------------------------------


def test_replay_returns_the_stored_response_without_calling_salesforce_or_zuora(
    sandbox: Sandbox, post_checkout: CheckoutCall
) -> None:
    first = post_checkout(checkout_body(), key="replay-1")
    sandbox.salesforce.clear_calls()
    sandbox.zuora.clear_calls()

    again = post_checkout(checkout_body(), key="replay-1")

    assert again["statusCode"] == first["statusCode"] == 201
    assert body_of(again) == body_of(first)
    assert header_of(again, "Idempotent-Replayed") == "true"
    assert header_of(first, "Idempotent-Replayed") is None
    assert sandbox.salesforce.calls == [] and sandbox.zuora.calls == []


def test_same_key_with_another_body_is_rejected_with_422(sandbox: Sandbox, post_checkout: CheckoutCall) -> None:
    post_checkout(checkout_body(), key="reuse-1")

    response = post_checkout(checkout_body("someone.else@acme.com"), key="reuse-1")

    assert response["statusCode"] == 422
    assert body_of(response)["error"]["code"] == "idempotency_key_reused"
    assert len(_sent_orders(sandbox)) == 1


# --- 5. failure after the Salesforce create --------------------------------------------------------------


def test_zuora_failure_after_account_creation_names_the_stage_and_a_retry_finishes_once(
    sandbox: Sandbox, post_checkout: CheckoutCall
) -> None:
    # Given Zuora fails the first order
    sandbox.zuora.add_fault(Fault(path=ORDERS, status=500, body={"message": "Internal Server Error"}))

    failed = post_checkout(checkout_body(), key="retry-1")

    assert failed["statusCode"] == 502
    error = body_of(failed)["error"]
    assert (error["stage"], error["retryable"]) == ("zuora_order", True)
    assert "upstreamRequestId" in error
    assert len(sandbox.salesforce.records("Account")) == 1
    # When the caller retries with the same key
    retried = post_checkout(checkout_body(), key="retry-1")

    # Then it succeeds, reporting the Account it created, and nothing is duplicated
    assert retried["statusCode"] == 201, retried["body"]
    assert body_of(retried)["matchedBy"] == "created"
    assert len(sandbox.salesforce.records("Account")) == 1
    assert len(sandbox.zuora.subscriptions) == 1


def test_zuora_refusal_stored_under_its_idempotency_key_is_retried_with_a_fresh_key(
    sandbox: Sandbox, post_checkout: CheckoutCall
) -> None:
    sandbox.zuora.add_fault(Fault(path=ORDERS, status=200, body=zuora_failure(50, "lock contention")))

    failed = post_checkout(checkout_body(), key="retry-2")
    retried = post_checkout(checkout_body(), key="retry-2")

    assert body_of(failed)["error"]["retryable"] is True
    assert retried["statusCode"] == 201, retried["body"]
    keys = [c.headers.get("Idempotency-Key") for c in sandbox.zuora.calls if c.path == "/v1/orders"]
    assert len(set(keys)) == 2
    assert len(sandbox.zuora.subscriptions) == 1


def test_zuora_validation_refusal_is_not_retryable(sandbox: Sandbox, post_checkout: CheckoutCall) -> None:
    sandbox.zuora.add_fault(Fault(path=ORDERS, status=200, body=zuora_failure(20, "invalid rate plan")))

    response = post_checkout(checkout_body(), key="refused-1")

    assert response["statusCode"] == 502
    assert body_of(response)["error"]["retryable"] is False


def test_zuora_timeout_answers_504(sandbox: Sandbox, post_checkout: CheckoutCall) -> None:
    sandbox.zuora.add_fault(Fault(path=ORDERS, action="timeout", delay=3.0))

    response = post_checkout(checkout_body(), key="slow-1")

    assert response["statusCode"] == 504
    assert body_of(response)["error"]["stage"] == "zuora_order"


# --- 6. escaping --------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["o'brien@acme.com", "d'arcy+{team}@globex.com"])
def test_quotes_and_braces_in_emails_work_end_to_end(sandbox: Sandbox, post_checkout: CheckoutCall, email: str) -> None:
    first = post_checkout(checkout_body(email), key=f"esc-{email}")
    second = post_checkout(checkout_body(email, paymentMethodId=SPARE_PAYMENT_METHODS[0]), key=f"esc-again-{email}")

    assert first["statusCode"] == 201, first["body"]
    assert body_of(second)["matchedBy"] == "contact_email"
    assert body_of(second)["salesforceAccountId"] == body_of(first)["salesforceAccountId"]
    assert [c["Email"] for c in sandbox.salesforce.records("Contact")] == [email]


# --- 8. signature -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "age"),
    [(None, 0), ("not-the-signing-secret-0123456789", 0), ("sandbox-signing-secret-0123456789abcdef", 301)],
)
def test_missing_wrong_or_stale_signature_is_401_and_nothing_reaches_salesforce(
    sandbox: Sandbox, post_checkout: CheckoutCall, secret: str | None, age: int
) -> None:
    response = post_checkout(checkout_body(), secret=secret, timestamp=int(time.time()) - age)

    assert response["statusCode"] == 401
    assert body_of(response)["error"]["code"] == "invalid_signature"
    assert sandbox.salesforce.calls == [] and sandbox.zuora.calls == []


def test_unsigned_invalid_body_is_401_not_a_schema_report(post_checkout: CheckoutCall) -> None:
    response = post_checkout({"customer": {}}, secret=None)

    assert response["statusCode"] == 401


# --- input errors -------------------------------------------------------------------------------------


def test_missing_idempotency_key_is_400(sandbox: Sandbox, post_checkout: CheckoutCall) -> None:
    response = post_checkout(checkout_body(), key=None)

    assert response["statusCode"] == 400
    assert sandbox.salesforce.calls == []


def test_schema_errors_name_every_bad_field(sandbox: Sandbox, post_checkout: CheckoutCall) -> None:
    body = checkout_body()
    body["customer"]["address"]["country"] = "United States"
    body["order"]["currency"] = "usd"
    body["order"]["surprise"] = True

    response = post_checkout(body)

    assert response["statusCode"] == 422
    fields = {f["field"] for f in body_of(response)["error"]["fields"]}
    assert {"customer.address.country", "order.currency", "order.surprise"} <= fields
    assert sandbox.salesforce.calls == []


@pytest.mark.parametrize("email", ["jane@localhost", "a\\b@x-corp.com", ".jane@acme.com", "jane doe@acme.com"])
def test_an_email_salesforce_cannot_store_is_422_naming_the_field(
    sandbox: Sandbox, post_checkout: CheckoutCall, email: str
) -> None:
    response = post_checkout(checkout_body(email))

    assert response["statusCode"] == 422
    assert body_of(response)["error"]["fields"][0]["field"] == "customer.email"
    assert sandbox.salesforce.records("Account") == []


def test_a_retry_after_midnight_sends_zuora_the_first_tries_order_date(
    sandbox: Sandbox, post_checkout: CheckoutCall, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a checkout without orderDate whose Zuora order failed late on 23 November (UTC)
    from sfzsync.checkout import flow

    body = checkout_body()
    sandbox.zuora.add_fault(Fault(path=ORDERS, status=500, body={"message": "Internal Server Error"}))
    monkeypatch.setattr(flow, "utc_today", lambda: dt.date(2026, 11, 23))
    assert post_checkout(body, key="midnight-1")["statusCode"] == 502

    # When the caller retries with the same key after midnight
    monkeypatch.setattr(flow, "utc_today", lambda: dt.date(2026, 11, 24))
    retried = post_checkout(body, key="midnight-1")

    # Then Zuora got the same body (so its Idempotency-Key would replay a committed order), and one subscription
    assert retried["statusCode"] == 201, retried["body"]
    assert {order["orderDate"] for order in _sent_orders(sandbox)} == {"2026-11-23"}
    assert body_of(retried)["orderStatus"] == "Completed"
    assert len(sandbox.zuora.subscriptions) == 1
