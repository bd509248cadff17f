"""The Zuora simulator's OAuth, request and track id headers, and reset (`sandbox.zuora.sim`)."""

from __future__ import annotations

from pathlib import Path

import requests

from sandbox.core import Fault
from sandbox.zuora import CHECKOUT_PAYMENT_METHOD_ID, PRO_RATE_PLAN_ID, SPARE_PAYMENT_METHODS, ZuoraSim
from tests.sandbox.zuora.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    TIMEOUT,
    account_body,
    call,
    issue_token,
    order_body,
    post_order,
    rate_plans_query,
    request_token,
)

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


# --- lifecycle --------------------------------------------------------------------------------------


def test_reset_restores_the_default_catalog_and_orphan_cards(sim: ZuoraSim, token: str) -> None:
    # Given a seeded rate plan and an order that took the sample checkout card
    plan = sim.seed_rate_plan(
        "Widgets",
        name="Basic",
        charges=[{"name": "Fee", "chargeModel": "FlatFee", "chargeType": "Recurring", "prices": {"USD": 1}}],
    )
    post_order(sim, token, order_body())
    # When
    sim.reset()
    # Then the seeded plan is gone, the default catalog is back and the card is an orphan again
    assert rate_plans_query(sim, token, f"/{plan}").status_code == 404
    assert rate_plans_query(sim, token, f"/{PRO_RATE_PLAN_ID}").status_code == 200
    assert {m["id"] for m in sim.payment_methods.values() if m["accountId"] is None} == {
        CHECKOUT_PAYMENT_METHOD_ID,
        *SPARE_PAYMENT_METHODS,
    }


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
