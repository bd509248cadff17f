"""Sealed session and sign-in cookies, the signed OAuth state, CSRF tokens, PKCE, and reading the Cookie header."""

from __future__ import annotations

import time

import pytest

from sfzsync.send_to_zuora.cookies import (
    OAUTH_COOKIE,
    SESSION_COOKIE,
    CookieSealer,
    new_pkce_pair,
    read_cookies,
    set_cookie,
)
from tests.unit.send_to_zuora.fakes import KEY, session


def test_sealed_session_opens_only_with_the_same_key_and_unchanged() -> None:
    sealer = CookieSealer(KEY)
    token = sealer.seal_session(session())

    assert sealer.open_session(token) == session(expires_at=sealer.open_session(token).expires_at)  # type: ignore[union-attr]
    assert CookieSealer("x" * 40).open_session(token) is None
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert sealer.open_session(tampered) is None
    assert "token" not in token


def test_expired_session_does_not_open() -> None:
    sealer = CookieSealer(KEY)
    assert sealer.open_session(sealer.seal_session(session(expires_at=time.time() - 1))) is None


def test_a_login_cookie_cannot_be_replayed_as_a_session_cookie() -> None:
    sealer = CookieSealer(KEY)
    token = sealer.seal("sfz_oauth", {"expires_at": time.time() + 60})
    assert sealer.open_session(token) is None


def test_state_is_bound_to_the_deployment_key() -> None:
    sealer = CookieSealer(KEY)
    state = sealer.sign_state("nonce-1")
    assert sealer.state_nonce(state) == "nonce-1"
    assert CookieSealer("y" * 40).state_nonce(state) is None
    assert sealer.state_nonce("nonce-1.forged") is None


def test_csrf_token_is_bound_to_session_and_record() -> None:
    sealer = CookieSealer(KEY)
    token = sealer.csrf_token(session(), "801000000000001AAA")
    assert sealer.csrf_valid(session(), "801000000000001AAA", token)
    assert not sealer.csrf_valid(session(), "801000000000002AAA", token)
    assert not sealer.csrf_valid(session(session_id="sid-2"), "801000000000001AAA", token)
    assert not sealer.csrf_valid(session(), "801000000000001AAA", None)


def test_pkce_challenge_is_the_s256_of_the_verifier() -> None:
    import base64
    import hashlib

    verifier, challenge = new_pkce_pair()
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == expected and 43 <= len(verifier) <= 128


@pytest.mark.parametrize(
    "neighbours",
    [
        'theme="dark mode',  # an unterminated quote
        "broken",  # no "="
        "x=a,b; y=a b c",  # a comma and spaces in values
        "bad name=1",  # a space in a name
        "",
    ],
)
def test_the_session_cookie_is_found_among_malformed_neighbours(neighbours: str) -> None:
    header = f"{neighbours}; {SESSION_COOKIE}=sealed-value; last=1"
    assert read_cookies(header)[SESSION_COOKIE] == "sealed-value"


def test_the_first_cookie_of_a_name_wins_and_the_session_cookie_is_a_host_cookie() -> None:
    assert read_cookies(f"{SESSION_COOKIE}=first; {SESSION_COOKIE}=second")[SESSION_COOKIE] == "first"
    assert SESSION_COOKIE.startswith("__Host-") and OAUTH_COOKIE.startswith("__Host-")
    assert set_cookie(SESSION_COOKIE, "v", 900, "/").split("; ")[1:] == [
        "Path=/",
        "Max-Age=900",
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
    ]
