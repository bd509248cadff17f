"""The simulator's token endpoint (`sandbox.salesforce.oauth`): client credentials and JWT bearer grants, expired and
missing tokens."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.salesforce import SalesforceSim
from tests.sandbox.salesforce.conftest import CLIENT_ID, CLIENT_SECRET, USERNAME, bearer_header, data_url, post_token
from tests.sandbox.salesforce.sf_client import Salesforce, SalesforceExpiredSession

AUDIENCE = "https://login.salesforce.com"


def _assertion(key: rsa.RSAPrivateKey, **overrides: Any) -> str:
    claims = {"iss": CLIENT_ID, "sub": USERNAME, "aud": AUDIENCE, "exp": int(time.time()) + 120} | overrides
    return jwt.encode(claims, key, algorithm="RS256")


def _jwt_token(http: requests.Session, sim: SalesforceSim, assertion: str) -> requests.Response:
    return post_token(http, sim, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=assertion)


# --- OAuth -------------------------------------------------------------------------------------------------------


def test_client_credentials_grant_returns_salesforce_token_shape(sim: SalesforceSim, http: requests.Session) -> None:
    # When
    reply = post_token(http, sim, grant_type="client_credentials", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    # Then
    body = reply.json()
    assert reply.status_code == 200
    assert set(body) == {"access_token", "instance_url", "id", "token_type", "issued_at", "signature", "scope"}
    assert body["instance_url"] == sim.url
    assert body["id"] == f"{sim.url}/id/{sim.org_id}/{sim.user_id}"
    assert body["token_type"] == "Bearer"


def test_client_credentials_accepted_through_http_basic(sim: SalesforceSim, http: requests.Session) -> None:
    reply = http.post(
        f"{sim.url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=10,
    )
    assert reply.status_code == 200


def test_wrong_client_secret_is_invalid_client(sim: SalesforceSim, http: requests.Session) -> None:
    reply = post_token(http, sim, grant_type="client_credentials", client_id=CLIENT_ID, client_secret="nope")
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_client")


def test_unknown_grant_type_is_unsupported(sim: SalesforceSim, http: requests.Session) -> None:
    reply = post_token(http, sim, grant_type="password", username="u", password="p")
    assert (reply.status_code, reply.json()["error"]) == (400, "unsupported_grant_type")


def test_jwt_bearer_grant_with_registered_key_returns_token(
    sim: SalesforceSim, http: requests.Session, private_key: rsa.RSAPrivateKey
) -> None:
    # When
    reply = _jwt_token(http, sim, _assertion(private_key))
    # Then
    body = reply.json()
    assert reply.status_code == 200
    assert body["instance_url"] == sim.url
    assert "refresh_token" not in body
    assert http.get(
        data_url(sim, "query"),
        params={"q": "SELECT Id FROM User"},
        headers=bearer_header(body["access_token"]),
        timeout=10,
    ).ok


def test_jwt_signed_by_another_key_is_invalid_grant(sim: SalesforceSim, http: requests.Session) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    reply = _jwt_token(http, sim, _assertion(stranger))
    assert reply.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


def test_jwt_for_another_audience_is_rejected(
    sim: SalesforceSim, http: requests.Session, private_key: rsa.RSAPrivateKey
) -> None:
    reply = _jwt_token(http, sim, _assertion(private_key, aud="https://test.salesforce.com"))
    assert reply.json() == {"error": "invalid_grant", "error_description": "audience is invalid"}


def test_expired_jwt_is_invalid_grant(
    sim: SalesforceSim, http: requests.Session, private_key: rsa.RSAPrivateKey
) -> None:
    reply = _jwt_token(http, sim, _assertion(private_key, exp=int(time.time()) - 10))
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_grant")


def test_jwt_expiring_more_than_three_minutes_ahead_is_rejected(
    sim: SalesforceSim, http: requests.Session, private_key: rsa.RSAPrivateKey
) -> None:
    reply = _jwt_token(http, sim, _assertion(private_key, exp=int(time.time()) + 600))
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_grant")


def test_jwt_for_another_user_is_invalid_grant(
    sim: SalesforceSim, http: requests.Session, private_key: rsa.RSAPrivateKey
) -> None:
    reply = _jwt_token(http, sim, _assertion(private_key, sub="someone@else.com"))
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_grant")


def test_jwt_issued_by_another_client_is_rejected(
    sim: SalesforceSim, http: requests.Session, private_key: rsa.RSAPrivateKey
) -> None:
    reply = _jwt_token(http, sim, _assertion(private_key, iss="other-client"))
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_client_id")


def test_token_calls_are_counted_in_the_call_log(sim: SalesforceSim, http: requests.Session) -> None:
    for _ in range(2):
        post_token(http, sim, grant_type="client_credentials", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert sim.call_count("/services/oauth2/token", "POST") == 2


def test_expired_tokens_get_401_invalid_session_id(sim: SalesforceSim, http: requests.Session, token: str) -> None:
    # Given
    sim.expire_tokens()
    # When
    reply = http.get(
        data_url(sim, "query"), params={"q": "SELECT Id FROM Account"}, headers=bearer_header(token), timeout=10
    )
    # Then
    assert reply.status_code == 401
    assert reply.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_simple_salesforce_sees_expired_session_after_expire_tokens(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.expire_tokens()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account")


def test_request_without_bearer_token_is_401(sim: SalesforceSim, http: requests.Session) -> None:
    reply = http.get(data_url(sim, "sobjects/Account/001000000000001"), timeout=10)
    assert reply.status_code == 401


def test_reset_keeps_issued_tokens_but_drops_records(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Account", {"Name": "Acme"})
    sim.reset()
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 0
