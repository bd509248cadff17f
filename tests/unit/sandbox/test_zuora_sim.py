"""The Zuora simulator over real HTTP: OAuth, orders, idempotency, accounts, Object Query."""

from __future__ import annotations

import copy
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox import zuora_openapi
from sandbox.core import Fault
from sandbox.zuora import IDEMPOTENCY_TTL, ZuoraSim, uses_subscriptions_field, zuora_failure

REPO = Path(__file__).resolve().parents[3]
CLIENT_ID, CLIENT_SECRET = "7a3e7d7c-1b9a-4a8e-9b1c-0f1e2d3c4b5a", "sandbox-secret"
CRM_ID = "001000000000001AAA"
TIMEOUT = 5


@pytest.fixture(scope="session", autouse=True)
def zuora_document() -> Path:
    path = zuora_openapi.document_path()
    if not path.is_file():
        subprocess.run([str(REPO / "scripts" / "fetch-zuora-openapi")], check=True, timeout=300)
    return path


@pytest.fixture(scope="module")
def server() -> Iterator[ZuoraSim]:
    running = ZuoraSim(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def sim(server: ZuoraSim) -> ZuoraSim:
    server.reset()
    server.processing_delay, server.idempotency_ttl = 0.0, IDEMPOTENCY_TTL
    return server


@pytest.fixture
def token(sim: ZuoraSim) -> str:
    return issue_token(sim)


def issue_token(sim: ZuoraSim, secret: str = CLIENT_SECRET) -> str:
    response = request_token(sim, secret)
    response.raise_for_status()
    return str(response.json()["access_token"])


def request_token(sim: ZuoraSim, secret: str = CLIENT_SECRET) -> requests.Response:
    form = {"client_id": CLIENT_ID, "client_secret": secret, "grant_type": "client_credentials"}
    return requests.post(f"{sim.url}/oauth/token", data=form, timeout=TIMEOUT)


def call(sim: ZuoraSim, token: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return requests.request(method, f"{sim.url}{path}", headers=headers, timeout=TIMEOUT, **kwargs)


def post_order(sim: ZuoraSim, token: str, body: dict[str, Any], **headers: str) -> requests.Response:
    return call(sim, token, "POST", "/v1/orders", json=body, headers=headers)


def order_body(*, existing: str | None = None, evergreen: bool = False, subscriptions: int = 1) -> dict[str, Any]:
    terms: dict[str, Any] = {
        "initialTerm": {"termType": "TERMED", "period": 12, "periodType": "Month", "startDate": "2026-11-23"},
        "renewalSetting": "RENEW_WITH_SPECIFIC_TERM",
        "renewalTerms": [{"period": 12, "periodType": "Month"}],
        "autoRenew": True,
    }
    action = {
        "type": "CreateSubscription",
        "triggerDates": [
            {"name": name, "triggerDate": "2026-11-23"}
            for name in ("ContractEffective", "ServiceActivation", "CustomerAcceptance")
        ],
        "createSubscription": {
            "subscribeToRatePlans": [
                {
                    "productRatePlanId": "8ad0plan",
                    "chargeOverrides": [
                        {"productRatePlanChargeId": "8ad1charge", "pricing": {"recurringPerUnit": {"quantity": 3}}}
                    ],
                }
            ],
            "terms": {"initialTerm": {"termType": "EVERGREEN"}} if evergreen else terms,
        },
    }
    body: dict[str, Any] = {
        "orderDate": "2026-11-23",
        "subscriptions": [{"orderActions": [copy.deepcopy(action)]} for _ in range(subscriptions)],
        "processingOptions": {"runBilling": True, "collectPayment": True},
    }
    if existing:
        body["existingAccountNumber"] = existing
    else:
        body["newAccount"] = {
            "name": "Acme Inc",
            "currency": "USD",
            "billCycleDay": 0,
            "autoPay": True,
            "crmId": CRM_ID,
            "billToContact": {
                "firstName": "Jane",
                "lastName": "Doe",
                "workEmail": "jane@acme.com",
                "address1": "1 Main St",
                "city": "San Francisco",
                "state": "CA",
                "postalCode": "94105",
                "country": "US",
            },
            "hpmCreditCardPaymentMethodId": "8ad0pm",
        }
    return body


def account_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Globex",
        "currency": "EUR",
        "billCycleDay": 1,
        "crmId": "001000000000002AAA",
        "billToContact": {"firstName": "Hank", "lastName": "Scorpio", "zipCode": "12345", "country": "DE"},
    }
    return {**body, **overrides}


def reason_codes(response: requests.Response) -> list[int]:
    return [reason["code"] for reason in response.json()["reasons"]]


# --- OAuth ----------------------------------------------------------------------------------------


def test_client_credentials_get_a_bearer_token(sim: ZuoraSim) -> None:
    # When the client asks for a token with its credentials
    response = request_token(sim)
    # Then Zuora's token shape comes back
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "jti"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 3599)


def test_wrong_client_secret_is_refused_with_401(sim: ZuoraSim) -> None:
    # When / Then
    response = request_token(sim, secret="wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_v1_call_without_token_is_401_authentication_error(sim: ZuoraSim) -> None:
    # When
    response = requests.post(f"{sim.url}/v1/orders", json=order_body(), timeout=TIMEOUT)
    # Then
    assert response.status_code == 401
    assert response.json() == {"message": "Authentication error"}


def test_object_query_with_unknown_token_is_401(sim: ZuoraSim) -> None:
    # When / Then
    assert call(sim, "not-a-token", "GET", "/object-query/accounts").status_code == 401


def test_expired_tokens_are_refused(sim: ZuoraSim, token: str) -> None:
    # Given a token that worked
    assert call(sim, token, "GET", "/object-query/accounts").status_code == 200
    # When the simulator expires issued tokens
    sim.expire_tokens()
    # Then the same token is refused and a new one works
    assert call(sim, token, "GET", "/object-query/accounts").status_code == 401
    assert call(sim, issue_token(sim), "GET", "/object-query/accounts").status_code == 200


def test_token_stops_working_after_its_ttl() -> None:
    # Given a simulator issuing tokens that live 0 seconds
    server = ZuoraSim(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, token_ttl=0)
    server.start()
    try:
        token = issue_token(server)
        # When / Then
        assert call(server, token, "GET", "/object-query/accounts").status_code == 401
    finally:
        server.stop()


# --- headers --------------------------------------------------------------------------------------


def test_every_response_carries_a_request_id_and_echoes_the_track_id(sim: ZuoraSim, token: str) -> None:
    # Given a success, an auth failure and an injected fault
    sim.add_fault(Fault(path="^/v1/accounts$", status=503, body={"message": "down"}))
    responses = [
        call(sim, token, "GET", "/object-query/accounts", headers={"Zuora-Track-Id": "trk-1"}),
        call(sim, "bad", "GET", "/object-query/accounts", headers={"Zuora-Track-Id": "trk-2"}),
        call(sim, token, "POST", "/v1/accounts", json=account_body(), headers={"Zuora-Track-Id": "trk-3"}),
    ]
    # Then each has its own uuid request id and the caller's track id
    request_ids = [r.headers["Zuora-Request-Id"] for r in responses]
    assert len(set(request_ids)) == 3 and all(len(rid) == 36 for rid in request_ids)
    assert [r.headers["Zuora-Track-Id"] for r in responses] == ["trk-1", "trk-2", "trk-3"]


def test_track_id_and_version_are_logged_per_call(sim: ZuoraSim, token: str) -> None:
    # When an order is sent with tracing and version headers
    post_order(sim, token, order_body(), **{"Zuora-Track-Id": "apigw-123", "Zuora-Version": "2025-08-12"})
    # Then the call log has them
    assert sim.header_values("Zuora-Track-Id", "^/v1/orders$") == ["apigw-123"]
    assert sim.header_values("zuora-version", "^/v1/orders$") == ["2025-08-12"]


# --- Create Order ---------------------------------------------------------------------------------


def test_order_with_new_account_creates_account_subscription_and_order(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body())
    # Then
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "orderNumber": "O-00000001",
        "accountNumber": "A00000001",
        "invoiceNumbers": ["INV00000001"],
        "paymentNumber": "P-00000001",
        "status": "Completed",
        "subscriptionNumbers": ["A-S00000001"],
    }
    account = sim.accounts["A00000001"]
    assert (account["crmId"], account["currency"], account["status"]) == (CRM_ID, "USD", "Active")
    assert len(account["id"]) == 32 and account["billToContact"]["workEmail"] == "jane@acme.com"
    subscription = sim.subscriptions["A-S00000001"]
    assert subscription["accountNumber"] == "A00000001"
    assert subscription["ratePlans"][0]["productRatePlanId"] == "8ad0plan"
    assert subscription["ratePlans"][0]["quantity"] == 3
    assert subscription["terms"]["initialTerm"]["period"] == 12
    assert sim.orders["O-00000001"]["subscriptionNumbers"] == ["A-S00000001"]


def test_order_against_existing_account_adds_a_subscription_only(sim: ZuoraSim, token: str) -> None:
    # Given a seeded account
    number = sim.seed_account("Umbrella", "USD", CRM_ID)
    # When
    response = post_order(sim, token, order_body(existing=number, evergreen=True))
    # Then
    assert response.json()["accountNumber"] == number
    assert list(sim.accounts) == [number]
    assert sim.subscriptions["A-S00000001"]["terms"] == {"initialTerm": {"termType": "EVERGREEN"}}


def test_order_against_unknown_account_is_a_category_40_failure(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body(existing="A09999999"))
    # Then
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False and len(body["processId"]) == 16
    assert body["reasons"][0]["code"] % 100 == 40 and len(str(body["reasons"][0]["code"])) == 8
    assert body["reasons"][0]["message"].startswith("Cannot find entity")
    assert sim.orders == {} and sim.subscriptions == {}


def test_each_subscription_of_an_order_gets_its_own_number(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body(subscriptions=2))
    # Then
    assert response.json()["subscriptionNumbers"] == ["A-S00000001", "A-S00000002"]


@pytest.mark.parametrize(
    ("version", "expected"),
    [(None, False), ("222.4", False), ("223.0", True), ("341.0", True), ("2025-08-12", True)],
)
def test_response_field_depends_on_zuora_version(version: str | None, expected: bool) -> None:
    # When / Then
    assert uses_subscriptions_field(version) is expected


def test_new_versions_answer_subscriptions_with_status(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body(), **{"Zuora-Version": "2025-08-12"})
    # Then
    body = response.json()
    assert "subscriptionNumbers" not in body
    assert body["subscriptions"] == [{"subscriptionNumber": "A-S00000001", "status": "Active"}]


def test_rejected_order_leaves_nothing_behind(sim: ZuoraSim, token: str) -> None:
    # Given two subscriptions asking for the same subscription number
    body = order_body(subscriptions=2)
    for item in body["subscriptions"]:
        item["orderActions"][0]["createSubscription"]["subscriptionNumber"] = "A-S-DUP"
    # When
    response = post_order(sim, token, body)
    # Then the new account is rolled back with the order
    assert response.json()["success"] is False
    assert sim.accounts == {} and sim.subscriptions == {} and sim.orders == {}


# --- schema validation ------------------------------------------------------------------------------


def test_schema_violation_is_recorded_and_refused_like_zuora(sim: ZuoraSim, token: str) -> None:
    # Given an order with a string bill cycle day
    body = order_body()
    body["newAccount"]["billCycleDay"] = "1"
    # When
    response = post_order(sim, token, body)
    # Then
    assert response.status_code == 200
    assert response.json()["success"] is False
    assert [code % 100 for code in reason_codes(response)] == [20]
    assert sim.schema_violations == [
        ("POST /v1/orders", ['$.newAccount.billCycleDay: expected integer, got string "1"'])
    ]
    assert sim.accounts == {}


def test_unknown_field_is_a_category_21_refusal(sim: ZuoraSim, token: str) -> None:
    # Given the Create Account spelling of the postal code inside Create Order
    body = order_body()
    body["newAccount"]["billToContact"]["zipCode"] = body["newAccount"]["billToContact"].pop("postalCode")
    # When
    response = post_order(sim, token, body)
    # Then
    assert [code % 100 for code in reason_codes(response)] == [21]
    assert "zipCode" in sim.schema_violations[0][1][0]


def test_malformed_json_is_a_category_90_refusal(sim: ZuoraSim, token: str) -> None:
    # When
    response = call(sim, token, "POST", "/v1/orders", data=b"{not json", headers={"Content-Type": "application/json"})
    # Then
    assert [code % 100 for code in reason_codes(response)] == [90]


def test_zuora_failure_builds_an_eight_digit_code() -> None:
    # When
    body = zuora_failure(50, "lock contention", object_code="531003")
    # Then
    assert body["success"] is False
    assert body["reasons"] == [{"code": 53100350, "message": "lock contention"}]


# --- idempotency ------------------------------------------------------------------------------------


def test_same_key_and_body_replays_the_stored_response(sim: ZuoraSim, token: str) -> None:
    # Given a processed order
    first = post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When it is sent again with the same key
    second = post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # Then the stored status, body and headers come back and nothing new is created
    assert (second.status_code, second.content) == (first.status_code, first.content)
    assert second.headers["Zuora-Request-Id"] == first.headers["Zuora-Request-Id"]
    assert len(sim.orders) == 1 and len(sim.subscriptions) == 1


def test_same_key_with_another_body_is_422(sim: ZuoraSim, token: str) -> None:
    # Given a processed order
    post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When the key is reused for another body
    response = post_order(sim, token, order_body(evergreen=True), **{"Idempotency-Key": "k1"})
    # Then
    assert response.status_code == 422
    assert len(sim.orders) == 1


def test_same_key_on_another_path_is_independent(sim: ZuoraSim, token: str) -> None:
    # Given an order processed under a key
    post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When the key is used to create an account
    response = call(sim, token, "POST", "/v1/accounts", json=account_body(), headers={"Idempotency-Key": "k1"})
    # Then it is processed
    assert response.json()["success"] is True
    assert len(sim.accounts) == 2


def test_key_still_in_flight_is_409(sim: ZuoraSim, token: str) -> None:
    # Given an order that takes a while to process
    sim.processing_delay = 0.5
    results: list[requests.Response] = []
    worker = threading.Thread(
        target=lambda: results.append(post_order(sim, token, order_body(), **{"Idempotency-Key": "slow"}))
    )
    worker.start()
    time.sleep(0.2)
    # When the same request arrives meanwhile
    concurrent = post_order(sim, token, order_body(), **{"Idempotency-Key": "slow"})
    worker.join()
    # Then it is refused with 409 and the first completes
    assert concurrent.status_code == 409
    assert results[0].json()["success"] is True
    assert len(sim.subscriptions) == 1


def test_refusal_is_stored_and_replayed(sim: ZuoraSim, token: str) -> None:
    # Given an order refused for an unknown account
    first = post_order(sim, token, order_body(existing="A09999999"), **{"Idempotency-Key": "k1"})
    sim.seed_account("Late", "USD", CRM_ID, account_number="A09999999")
    # When it is retried with the same key after the account exists
    second = post_order(sim, token, order_body(existing="A09999999"), **{"Idempotency-Key": "k1"})
    # Then the stored refusal is replayed
    assert second.content == first.content and second.json()["success"] is False
    assert sim.orders == {}


def test_front_door_fault_is_not_stored(sim: ZuoraSim, token: str) -> None:
    # Given a 503 injected in front of the first order
    sim.add_fault(Fault(path="^/v1/orders$", status=503, body={"message": "Service Unavailable"}))
    assert post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"}).status_code == 503
    # When the client retries with the same key
    response = post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # Then the order is processed
    assert response.json()["success"] is True
    assert len(sim.orders) == 1


def test_reset_after_commit_is_stored_and_replayed(sim: ZuoraSim, token: str) -> None:
    # Given an order processed but whose answer is lost to a connection reset
    sim.add_fault(Fault(path="^/v1/orders$", action="reset_after_commit"))
    with pytest.raises(requests.ConnectionError):
        post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When the client retries with the same key
    response = post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # Then it gets the stored answer and there is one subscription
    assert response.json()["subscriptionNumbers"] == ["A-S00000001"]
    assert len(sim.subscriptions) == 1


def test_stored_response_expires(sim: ZuoraSim, token: str) -> None:
    # Given keys that live no time at all
    sim.idempotency_ttl = 0
    post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When the key is reused
    post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # Then the order is processed again
    assert len(sim.orders) == 2


# --- accounts --------------------------------------------------------------------------------------


def test_create_account_answers_ids_and_number(sim: ZuoraSim, token: str) -> None:
    # When
    response = call(sim, token, "POST", "/v1/accounts", json=account_body())
    # Then
    body = response.json()
    assert body["success"] is True and body["accountNumber"] == "A00000001"
    assert body["accountId"] == sim.accounts["A00000001"]["id"]
    assert {"billToContactId", "soldToContactId"} <= set(body)
    assert sim.accounts["A00000001"]["crmId"] == "001000000000002AAA"


def test_create_account_body_is_validated(sim: ZuoraSim, token: str) -> None:
    # When
    response = call(sim, token, "POST", "/v1/accounts", json=account_body(billCycleDay="first"))
    # Then
    assert response.json()["success"] is False
    assert sim.schema_violations[0][0] == "POST /v1/accounts"


@pytest.mark.parametrize("key_field", ["accountNumber", "id"])
def test_update_account_by_number_or_id(sim: ZuoraSim, token: str, key_field: str) -> None:
    # Given an account
    number = sim.seed_account("Initech", "USD", CRM_ID)
    key = sim.accounts[number][key_field]
    # When it is updated through its key
    response = call(sim, token, "PUT", f"/v1/accounts/{key}", json={"name": "Initech Corp", "crmId": "001B"})
    # Then
    assert response.json() == {"success": True}
    assert (sim.accounts[number]["name"], sim.accounts[number]["crmId"]) == ("Initech Corp", "001B")


def test_update_account_refuses_a_currency_change(sim: ZuoraSim, token: str) -> None:
    # Given an account
    number = sim.seed_account("Initech", "USD", CRM_ID)
    # When
    response = call(sim, token, "PUT", f"/v1/accounts/{number}", json={"currency": "EUR"})
    # Then
    assert response.json()["success"] is False
    assert sim.accounts[number]["currency"] == "USD"
    assert sim.schema_violations[0][0] == "PUT /v1/accounts/{account-key}"


def test_get_account_returns_basic_info_with_crm_id(sim: ZuoraSim, token: str) -> None:
    # Given an account created through an order
    post_order(sim, token, order_body())
    # When
    body = call(sim, token, "GET", "/v1/accounts/A00000001").json()
    # Then
    assert body["success"] is True
    assert (body["basicInfo"]["accountNumber"], body["basicInfo"]["crmId"]) == ("A00000001", CRM_ID)
    assert body["billingAndPayment"]["currency"] == "USD"
    assert body["billToContact"]["zipCode"] == "94105"


def test_unknown_account_key_is_a_category_40_failure(sim: ZuoraSim, token: str) -> None:
    # When
    response = call(sim, token, "GET", "/v1/accounts/A404")
    # Then
    assert [code % 100 for code in reason_codes(response)] == [40]


# --- Object Query ----------------------------------------------------------------------------------


def test_object_query_finds_accounts_by_crm_id(sim: ZuoraSim, token: str) -> None:
    # Given two accounts, one with the CRM id
    number = sim.seed_account("Umbrella", "USD", CRM_ID)
    sim.seed_account("Other", "USD", "001000000000009AAA")
    # When
    response = call(sim, token, "GET", "/object-query/accounts", params={"filter[]": f"crmid.EQ:{CRM_ID}"})
    # Then
    data = response.json()["data"]
    assert [row["accountNumber"] for row in data] == [number]
    assert {"id", "accountNumber", "name", "currency", "crmId", "status", "createdDate"} <= set(data[0])
    assert data[0]["crmId"] == CRM_ID


def test_object_query_filters_are_anded(sim: ZuoraSim, token: str) -> None:
    # Given the same CRM id in two currencies
    sim.seed_account("Umbrella US", "USD", CRM_ID)
    eur = sim.seed_account("Umbrella EU", "EUR", CRM_ID)
    # When
    params = {"filter[]": [f"crmId.EQ:{CRM_ID}", "currency.EQ:EUR"]}
    data = call(sim, token, "GET", "/object-query/accounts", params=params).json()["data"]
    # Then
    assert [row["accountNumber"] for row in data] == [eur]


def test_object_query_pages_with_next_page(sim: ZuoraSim, token: str) -> None:
    # Given three matching accounts
    numbers = [sim.seed_account(f"Acme {i}", "USD", CRM_ID) for i in range(3)]
    # When the first page of two is read, then the next
    first = call(sim, token, "GET", "/object-query/accounts", params={"pageSize": 2}).json()
    cursor = first["nextPage"]
    second = call(sim, token, "GET", "/object-query/accounts", params={"pageSize": 2, "cursor": cursor}).json()
    # Then
    assert [row["accountNumber"] for row in first["data"] + second["data"]] == numbers
    assert "nextPage" not in second


def test_object_query_rejects_an_unsupported_filter(sim: ZuoraSim, token: str) -> None:
    # When
    response = call(sim, token, "GET", "/object-query/accounts", params={"filter[]": "balance.GT:0"})
    # Then
    assert response.status_code == 400


def test_seeded_account_keeps_its_created_date(sim: ZuoraSim, token: str) -> None:
    # Given an account seeded with a past creation date
    sim.seed_account("Old", "USD", CRM_ID, created_date="2019-02-03T00:00:00+00:00")
    # When
    data = call(sim, token, "GET", "/object-query/accounts", params={"filter[]": f"crmid.EQ:{CRM_ID}"}).json()["data"]
    # Then
    assert data[0]["createdDate"] == "2019-02-03T00:00:00+00:00"


# --- lifecycle --------------------------------------------------------------------------------------


def test_reset_forgets_data_but_keeps_tokens(sim: ZuoraSim, token: str) -> None:
    # Given data and a stored idempotent response
    post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When
    sim.reset()
    # Then numbering restarts, the key is forgotten and the token still works
    response = post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    assert response.json()["orderNumber"] == "O-00000001"
    assert sim.schema_violations == [] and len(sim.calls) == 1


def test_simulator_serves_https(tmp_path: Path) -> None:
    # Given a simulator behind a throw-away CA
    from sandbox.tls import SandboxCA

    ca = SandboxCA(tmp_path)
    server = ZuoraSim(ca.server_context(), client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    server.start()
    try:
        # When a client trusting that CA asks for a token
        form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "client_credentials"}
        response = requests.post(f"{server.url}/oauth/token", data=form, verify=str(ca.bundle_path), timeout=TIMEOUT)
        # Then
        assert server.url.startswith("https://") and response.status_code == 200
    finally:
        server.stop()
