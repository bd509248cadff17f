"""The Salesforce simulator's browser sign-in (OAuth 2.0 web-server flow with PKCE behind a login page), identity
endpoints and per-user record visibility, driven over real HTTPS with requests."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox.salesforce import SalesforceSim, to_18
from sandbox.tls import SandboxCA

CLIENT_ID = "3MVG9web.client"
CLIENT_SECRET = "w3b-s3cr3t"
VERSION = "62.0"
CALLBACK = "https://127.0.0.1:3000/sfdccpq/callback"
OTHER_ORG = to_18("00D5g000004XyZa")
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> SandboxCA:
    return SandboxCA(Path(tmp_path_factory.mktemp("ca")))


@pytest.fixture(scope="module")
def server(ca: SandboxCA) -> Iterator[SalesforceSim]:
    sim = SalesforceSim(ca.server_context(), client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def sim(server: SalesforceSim) -> SalesforceSim:
    server.reset()
    return server


@pytest.fixture
def browser(ca: SandboxCA) -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca.bundle_path)
    yield session
    session.close()


@pytest.fixture
def jane(sim: SalesforceSim) -> str:
    return sim.add_user("jane@acme.example.com", PASSWORD, name="Jane Doe")


# --- helpers -------------------------------------------------------------------------------------------------------


class _FormParser(HTMLParser):
    """What a browser would submit: the form's action/method and the values of its inputs, unescaped."""

    def __init__(self) -> None:
        super().__init__()
        self.form: dict[str, str] = {}
        self.fields: dict[str, str] = {}
        self.ids: dict[str, dict[str, str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if "id" in attributes:
            self.ids[attributes["id"]] = {"tag": tag, **attributes}
        if tag == "form":
            self.form = attributes
        if tag == "input" and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value", "")


def _parse(html: str) -> _FormParser:
    parser = _FormParser()
    parser.feed(html)
    return parser


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _authorize_params(challenge: str, state: str = "st-123", **overrides: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": CALLBACK,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "scope": "api id",
    }
    return params | overrides


def _open_login(browser: requests.Session, sim: SalesforceSim, params: dict[str, str]) -> requests.Response:
    return browser.get(f"{sim.url}/services/oauth2/authorize", params=params, timeout=10, allow_redirects=False)


def _submit(
    browser: requests.Session, sim: SalesforceSim, page: str, username: str, password: str
) -> requests.Response:
    parsed = _parse(page)
    fields = parsed.fields | {"username": username, "password": password}
    action = f"{sim.url}{parsed.form['action']}"
    return browser.post(action, data=fields, timeout=10, allow_redirects=False)


def _callback(reply: requests.Response) -> dict[str, str]:
    assert reply.status_code == 302, reply.text
    location = urlsplit(reply.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    return {key: values[0] for key, values in parse_qs(location.query, keep_blank_values=True).items()}


def _code(browser: requests.Session, sim: SalesforceSim, username: str, challenge: str, **params: str) -> str:
    page = _open_login(browser, sim, _authorize_params(challenge, **params))
    return _callback(_submit(browser, sim, page.text, username, PASSWORD))["code"]


def _exchange(browser: requests.Session, sim: SalesforceSim, code: str, verifier: str, **overrides: str) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": CLIENT_ID,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
    }
    return browser.post(f"{sim.url}/services/oauth2/token", data=form | overrides, timeout=10)


def _sign_in(browser: requests.Session, sim: SalesforceSim, username: str, **params: str) -> dict[str, Any]:
    verifier, challenge = _pkce()
    reply = _exchange(browser, sim, _code(browser, sim, username, challenge, **params), verifier)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _record(sim: SalesforceSim, sobject: str, record_id: str) -> dict[str, Any]:
    record = sim.get(sobject, record_id)
    assert record is not None
    return record


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _query(browser: requests.Session, sim: SalesforceSim, token: str, soql: str) -> list[dict[str, Any]]:
    reply = browser.get(
        f"{sim.url}/services/data/v{VERSION}/query", params={"q": soql}, headers=_bearer(token), timeout=10
    )
    assert reply.status_code == 200, reply.text
    return list(reply.json()["records"])


def _get(browser: requests.Session, sim: SalesforceSim, token: str, path: str) -> requests.Response:
    return browser.get(f"{sim.url}/services/data/v{VERSION}/{path}", headers=_bearer(token), timeout=10)


# --- login page ------------------------------------------------------------------------------------------------------


def test_authorize_serves_a_login_form_posting_back_to_authorize(sim: SalesforceSim, browser: requests.Session) -> None:
    # Given
    _, challenge = _pkce()
    # When
    reply = _open_login(browser, sim, _authorize_params(challenge))
    # Then
    page = _parse(reply.text)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    assert (page.form["method"], page.form["action"]) == ("post", "/services/oauth2/authorize")
    assert page.ids["username"]["name"] == "username"
    assert (page.ids["password"]["name"], page.ids["password"]["type"]) == ("password", "password")
    assert (page.ids["login"]["tag"], page.ids["login"]["type"]) == ("button", "submit")


def test_login_form_carries_the_authorize_request_in_hidden_fields(
    sim: SalesforceSim, browser: requests.Session
) -> None:
    _, challenge = _pkce()
    params = _authorize_params(challenge)
    reply = _open_login(browser, sim, params)
    assert {k: v for k, v in _parse(reply.text).fields.items() if k not in ("username", "password")} == params


def test_login_page_is_neither_cached_nor_framed(sim: SalesforceSim, browser: requests.Session) -> None:
    _, challenge = _pkce()
    reply = _open_login(browser, sim, _authorize_params(challenge))
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["X-Frame-Options"] == "DENY"


def test_right_credentials_redirect_to_the_callback_with_code_and_state(
    sim: SalesforceSim, browser: requests.Session, jane: str
) -> None:
    # Given
    _, challenge = _pkce()
    page = _open_login(browser, sim, _authorize_params(challenge, state="abc.123"))
    # When
    reply = _submit(browser, sim, page.text, "jane@acme.example.com", PASSWORD)
    # Then
    query = _callback(reply)
    assert query["state"] == "abc.123"
    assert len(query["code"]) > 40


def test_state_with_reserved_characters_comes_back_unchanged(
    sim: SalesforceSim, browser: requests.Session, jane: str
) -> None:
    # Given
    state = "a b&c=d+e/f?g%h#i\"'<é>"
    _, challenge = _pkce()
    page = _open_login(browser, sim, _authorize_params(challenge, state=state))
    # When
    reply = _submit(browser, sim, page.text, "jane@acme.example.com", PASSWORD)
    # Then
    assert _callback(reply)["state"] == state


def test_callback_query_encodes_spaces_as_percent_20(sim: SalesforceSim, browser: requests.Session, jane: str) -> None:
    _, challenge = _pkce()
    page = _open_login(browser, sim, _authorize_params(challenge, state="a b+c"))
    reply = _submit(browser, sim, page.text, "jane@acme.example.com", PASSWORD)
    assert reply.headers["Location"].endswith("&state=a%20b%2Bc")


def test_username_is_case_insensitive(sim: SalesforceSim, browser: requests.Session, jane: str) -> None:
    _, challenge = _pkce()
    page = _open_login(browser, sim, _authorize_params(challenge))
    assert "code" in _callback(_submit(browser, sim, page.text, "JANE@Acme.example.com", PASSWORD))


@pytest.mark.parametrize(("username", "password"), [("jane@acme.example.com", "wrong"), ("nobody@acme.com", PASSWORD)])
def test_wrong_credentials_show_the_login_page_again_with_an_error(
    sim: SalesforceSim, browser: requests.Session, jane: str, username: str, password: str
) -> None:
    # Given
    _, challenge = _pkce()
    page = _open_login(browser, sim, _authorize_params(challenge))
    # When
    reply = _submit(browser, sim, page.text, username, password)
    # Then
    again = _parse(reply.text)
    assert reply.status_code == 200
    assert "Location" not in reply.headers
    assert "check your username and password" in reply.text
    assert again.fields["username"] == username
    assert again.fields["state"] == "st-123"


def test_the_integration_user_has_no_password_to_log_in_with(sim: SalesforceSim, browser: requests.Session) -> None:
    _, challenge = _pkce()
    page = _open_login(browser, sim, _authorize_params(challenge))
    reply = _submit(browser, sim, page.text, sim.jwt_username, "")
    assert (reply.status_code, "Location" in reply.headers) == (200, False)


def test_evil_state_is_escaped_on_the_login_page(sim: SalesforceSim, browser: requests.Session) -> None:
    # Given
    evil = '"><script>alert(1)</script><input name="x" value="'
    _, challenge = _pkce()
    # When
    reply = _open_login(browser, sim, _authorize_params(challenge, state=evil))
    # Then
    assert "<script>" not in reply.text
    assert "&lt;script&gt;" in reply.text
    assert _parse(reply.text).fields["state"] == evil
    assert "x" not in _parse(reply.text).fields


def test_evil_username_is_escaped_when_the_login_page_comes_back(sim: SalesforceSim, browser: requests.Session) -> None:
    # Given
    evil = '"><img src=x onerror=alert(1)>'
    _, challenge = _pkce()
    page = _open_login(browser, sim, _authorize_params(challenge))
    # When
    reply = _submit(browser, sim, page.text, evil, "nope")
    # Then
    assert "<img" not in reply.text
    assert _parse(reply.text).fields["username"] == evil


# --- authorize errors ------------------------------------------------------------------------------------------------


def test_redirect_uri_mismatch_is_shown_on_an_error_page_not_redirected(
    sim: SalesforceSim, browser: requests.Session
) -> None:
    # Given
    _, challenge = _pkce()
    # When
    reply = _open_login(browser, sim, _authorize_params(challenge, redirect_uri="https://evil.example.com/cb"))
    # Then
    assert reply.status_code == 400
    assert "Location" not in reply.headers
    assert reply.headers["Content-Type"].startswith("text/html")
    assert _parse(reply.text).ids["error"]
    assert "redirect_uri_mismatch" in reply.text
    assert "evil.example.com" not in reply.text


def test_registered_callback_urls_must_match_exactly(
    sim: SalesforceSim, browser: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given
    monkeypatch.setattr(sim, "allowed_redirect_uris", [CALLBACK])
    _, challenge = _pkce()
    # When
    allowed = _open_login(browser, sim, _authorize_params(challenge))
    other = _open_login(browser, sim, _authorize_params(challenge, redirect_uri=CALLBACK + "/other"))
    # Then
    assert (allowed.status_code, other.status_code) == (200, 400)


@pytest.mark.parametrize(
    "uri",
    ["http://localhost:8080/cb", "https://localhost/cb", "http://127.0.0.1:3000/cb", "https://[::1]:8443/cb"],
)
def test_loopback_callbacks_are_accepted_when_none_are_registered(
    sim: SalesforceSim, browser: requests.Session, uri: str
) -> None:
    _, challenge = _pkce()
    assert _open_login(browser, sim, _authorize_params(challenge, redirect_uri=uri)).status_code == 200


def test_unknown_client_id_is_shown_on_an_error_page(sim: SalesforceSim, browser: requests.Session) -> None:
    _, challenge = _pkce()
    reply = _open_login(browser, sim, _authorize_params(challenge, client_id="someone-else"))
    assert (reply.status_code, "Location" in reply.headers) == (400, False)
    assert "invalid_client_id" in reply.text


def test_response_type_other_than_code_redirects_with_unsupported_response_type(
    sim: SalesforceSim, browser: requests.Session
) -> None:
    _, challenge = _pkce()
    reply = _open_login(browser, sim, _authorize_params(challenge, response_type="token"))
    assert _callback(reply) | {"error_description": ""} == {
        "error": "unsupported_response_type",
        "error_description": "",
        "state": "st-123",
    }


def test_missing_code_challenge_redirects_with_invalid_request(sim: SalesforceSim, browser: requests.Session) -> None:
    params = _authorize_params("")
    del params["code_challenge"]
    assert _callback(_open_login(browser, sim, params))["error"] == "invalid_request"


def test_plain_code_challenge_method_is_refused(sim: SalesforceSim, browser: requests.Session) -> None:
    _, challenge = _pkce()
    reply = _open_login(browser, sim, _authorize_params(challenge, code_challenge_method="plain"))
    assert _callback(reply)["error"] == "invalid_request"


def test_prompt_none_redirects_with_login_required(sim: SalesforceSim, browser: requests.Session) -> None:
    _, challenge = _pkce()
    assert (
        _callback(_open_login(browser, sim, _authorize_params(challenge, prompt="none")))["error"] == "login_required"
    )


# --- token exchange --------------------------------------------------------------------------------------------------


def test_code_exchange_returns_a_token_for_the_user(sim: SalesforceSim, browser: requests.Session, jane: str) -> None:
    # Given
    verifier, challenge = _pkce()
    code = _code(browser, sim, "jane@acme.example.com", challenge)
    # When
    reply = _exchange(browser, sim, code, verifier)
    # Then
    body = reply.json()
    assert reply.status_code == 200
    assert reply.headers["Cache-Control"] == "no-store"
    assert set(body) == {"access_token", "instance_url", "id", "token_type", "issued_at", "signature", "scope"}
    assert body["id"] == f"{sim.url}/id/{sim.org_id}/{jane}"
    assert (body["instance_url"], body["token_type"], body["scope"]) == (sim.url, "Bearer", "api id")


def test_refresh_token_scope_adds_a_refresh_token_that_mints_new_access_tokens(
    sim: SalesforceSim, browser: requests.Session, jane: str
) -> None:
    # Given
    body = _sign_in(browser, sim, "jane@acme.example.com", scope="api id refresh_token")
    sim.expire_tokens()
    # When
    reply = browser.post(
        f"{sim.url}/services/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": CLIENT_ID},
        timeout=10,
    )
    # Then
    assert reply.status_code == 200
    assert "refresh_token" not in reply.json()
    assert _get(browser, sim, reply.json()["access_token"], "query?q=SELECT+Id+FROM+Account").status_code == 200


def test_wrong_verifier_is_invalid_grant(sim: SalesforceSim, browser: requests.Session, jane: str) -> None:
    # Given
    _, challenge = _pkce()
    code = _code(browser, sim, "jane@acme.example.com", challenge)
    # When
    reply = _exchange(browser, sim, code, _pkce()[0])
    # Then
    assert reply.status_code == 400
    assert reply.json() == {"error": "invalid_grant", "error_description": "invalid code verifier"}


def test_missing_verifier_is_invalid_grant(sim: SalesforceSim, browser: requests.Session, jane: str) -> None:
    _, challenge = _pkce()
    code = _code(browser, sim, "jane@acme.example.com", challenge)
    reply = _exchange(browser, sim, code, "")
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_grant")


def test_reused_code_is_invalid_grant(sim: SalesforceSim, browser: requests.Session, jane: str) -> None:
    # Given
    verifier, challenge = _pkce()
    code = _code(browser, sim, "jane@acme.example.com", challenge)
    assert _exchange(browser, sim, code, verifier).status_code == 200
    # When
    reply = _exchange(browser, sim, code, verifier)
    # Then
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_grant"


def test_reusing_a_code_revokes_the_token_it_issued(sim: SalesforceSim, browser: requests.Session, jane: str) -> None:
    # Given
    verifier, challenge = _pkce()
    code = _code(browser, sim, "jane@acme.example.com", challenge)
    token = _exchange(browser, sim, code, verifier).json()["access_token"]
    # When
    _exchange(browser, sim, code, verifier)
    # Then
    assert _get(browser, sim, token, "query?q=SELECT+Id+FROM+Account").status_code == 401


def test_code_is_single_use_even_after_a_failed_exchange(
    sim: SalesforceSim, browser: requests.Session, jane: str
) -> None:
    verifier, challenge = _pkce()
    code = _code(browser, sim, "jane@acme.example.com", challenge)
    _exchange(browser, sim, code, _pkce()[0])
    assert _exchange(browser, sim, code, verifier).json()["error"] == "invalid_grant"


def test_expired_code_is_invalid_grant(
    sim: SalesforceSim, browser: requests.Session, jane: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given
    monkeypatch.setattr(sim, "code_lifetime", 0.0)
    verifier, challenge = _pkce()
    code = _code(browser, sim, "jane@acme.example.com", challenge)
    # When
    reply = _exchange(browser, sim, code, verifier)
    # Then
    assert reply.json() == {"error": "invalid_grant", "error_description": "expired authorization code"}


def test_code_exchanged_with_another_redirect_uri_is_invalid_grant(
    sim: SalesforceSim, browser: requests.Session, jane: str
) -> None:
    verifier, challenge = _pkce()
    code = _code(browser, sim, "jane@acme.example.com", challenge)
    reply = _exchange(browser, sim, code, verifier, redirect_uri="https://127.0.0.1:3000/elsewhere")
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_grant")


def test_code_exchanged_by_another_client_is_invalid_client_id(
    sim: SalesforceSim, browser: requests.Session, jane: str
) -> None:
    verifier, challenge = _pkce()
    code = _code(browser, sim, "jane@acme.example.com", challenge)
    reply = _exchange(browser, sim, code, verifier, client_id="other-client")
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_client_id")


def test_wrong_client_secret_in_code_exchange_is_invalid_client(
    sim: SalesforceSim, browser: requests.Session, jane: str
) -> None:
    verifier, challenge = _pkce()
    code = _code(browser, sim, "jane@acme.example.com", challenge)
    reply = _exchange(browser, sim, code, verifier, client_secret="nope")
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_client")


def test_right_client_secret_in_code_exchange_is_accepted(
    sim: SalesforceSim, browser: requests.Session, jane: str
) -> None:
    verifier, challenge = _pkce()
    code = _code(browser, sim, "jane@acme.example.com", challenge)
    assert _exchange(browser, sim, code, verifier, client_secret=CLIENT_SECRET).status_code == 200


# --- identity ----------------------------------------------------------------------------------------------------


def test_identity_url_describes_the_signed_in_user(sim: SalesforceSim, browser: requests.Session, jane: str) -> None:
    # Given
    body = _sign_in(browser, sim, "jane@acme.example.com")
    # When
    reply = browser.get(body["id"], headers=_bearer(body["access_token"]), timeout=10)
    # Then
    identity = reply.json()
    assert reply.status_code == 200
    assert (identity["user_id"], identity["organization_id"]) == (jane, sim.org_id)
    assert (identity["username"], identity["display_name"]) == ("jane@acme.example.com", "Jane Doe")
    assert (identity["email"], identity["active"]) == ("jane@acme.example.com", True)
    assert identity["urls"]["rest"] == f"{sim.url}/services/data/v{{version}}/"


def test_userinfo_describes_the_signed_in_user(sim: SalesforceSim, browser: requests.Session, jane: str) -> None:
    # Given
    body = _sign_in(browser, sim, "jane@acme.example.com")
    # When
    reply = browser.get(f"{sim.url}/services/oauth2/userinfo", headers=_bearer(body["access_token"]), timeout=10)
    # Then
    info = reply.json()
    assert reply.status_code == 200
    assert info["sub"] == body["id"]
    assert (info["user_id"], info["organization_id"]) == (jane, sim.org_id)
    assert (info["preferred_username"], info["name"]) == ("jane@acme.example.com", "Jane Doe")
    assert (info["given_name"], info["family_name"], info["email"]) == ("Jane", "Doe", "jane@acme.example.com")


def test_identity_url_of_another_user_is_bad_id(sim: SalesforceSim, browser: requests.Session, jane: str) -> None:
    body = _sign_in(browser, sim, "jane@acme.example.com")
    reply = browser.get(sim.identity_url, headers=_bearer(body["access_token"]), timeout=10)
    assert (reply.status_code, reply.text) == (403, "Bad_Id")


def test_identity_url_without_a_valid_token_is_bad_oauth_token(
    sim: SalesforceSim, browser: requests.Session, jane: str
) -> None:
    reply = browser.get(sim.identity_url_of(jane), headers=_bearer("nope"), timeout=10)
    assert (reply.status_code, reply.text) == (403, "Bad_OAuth_Token")


def test_identity_url_accepts_the_oauth_token_parameter(
    sim: SalesforceSim, browser: requests.Session, jane: str
) -> None:
    body = _sign_in(browser, sim, "jane@acme.example.com")
    reply = browser.get(body["id"], params={"oauth_token": body["access_token"], "version": "latest"}, timeout=10)
    assert reply.json()["urls"]["rest"] == f"{sim.url}/services/data/v{VERSION}/"


def test_user_of_another_org_signs_in_with_that_orgs_identity(sim: SalesforceSim, browser: requests.Session) -> None:
    # Given
    stranger = sim.add_user("eve@other.example.com", PASSWORD, org_id=OTHER_ORG)
    # When
    body = _sign_in(browser, sim, "eve@other.example.com")
    info = browser.get(f"{sim.url}/services/oauth2/userinfo", headers=_bearer(body["access_token"]), timeout=10)
    # Then
    assert body["id"] == f"{sim.url}/id/{OTHER_ORG}/{stranger}"
    assert info.json()["organization_id"] == OTHER_ORG


def test_revoked_token_is_refused(sim: SalesforceSim, browser: requests.Session, jane: str) -> None:
    body = _sign_in(browser, sim, "jane@acme.example.com")
    revoked = browser.post(f"{sim.url}/services/oauth2/revoke", data={"token": body["access_token"]}, timeout=10)
    reply = browser.get(f"{sim.url}/services/oauth2/userinfo", headers=_bearer(body["access_token"]), timeout=10)
    assert (revoked.status_code, reply.status_code) == (200, 403)


# --- visibility ------------------------------------------------------------------------------------------------------


@pytest.fixture
def people(sim: SalesforceSim) -> dict[str, str]:
    """Tokens of: the owner, another user, a View All user, a user of another org, the integration user."""
    owner = sim.add_user("owner@acme.example.com", PASSWORD)
    other = sim.add_user("other@acme.example.com", PASSWORD)
    auditor = sim.add_user("auditor@acme.example.com", PASSWORD, view_all=True)
    stranger = sim.add_user("stranger@other.example.com", PASSWORD, org_id=OTHER_ORG, view_all=True)
    return {
        "owner_id": owner,
        "other_id": other,
        "owner": sim.issue_token(owner),
        "other": sim.issue_token(other),
        "auditor": sim.issue_token(auditor),
        "stranger": sim.issue_token(stranger),
        "integration": sim.issue_token(),
    }


@pytest.fixture
def order(sim: SalesforceSim, people: dict[str, str]) -> dict[str, str]:
    account = sim.insert("Account", {"Name": "Owned Co"}, owner_id=people["owner_id"])
    order = sim.insert("Order", {"AccountId": account, "EffectiveDate": "2026-01-01"}, owner_id=people["owner_id"])
    product = sim.insert("Product2", {"Name": "Gold", "Zuora_Product_Rate_Plan_Id__c": "8a12"})
    item = sim.insert("OrderItem", {"OrderId": order, "Product2Id": product, "Quantity": 2, "UnitPrice": 5})
    sim.insert("Account", {"Name": "Integration Co"})
    return {"account": account, "order": order, "item": item}


def test_signed_in_user_queries_with_their_own_visibility(
    sim: SalesforceSim, browser: requests.Session, jane: str
) -> None:
    # Given
    sim.insert("Account", {"Name": "Jane's"}, owner_id=jane)
    sim.insert("Account", {"Name": "Not Jane's"})
    body = _sign_in(browser, sim, "jane@acme.example.com")
    # When
    rows = _query(browser, sim, body["access_token"], "SELECT Name FROM Account")
    # Then
    assert [r["Name"] for r in rows] == ["Jane's"]


@pytest.mark.parametrize(
    ("who", "names"),
    [
        ("owner", ["Owned Co"]),
        ("other", []),
        ("auditor", ["Owned Co", "Integration Co"]),
        ("stranger", []),
        ("integration", ["Owned Co", "Integration Co"]),
    ],
)
def test_query_returns_only_visible_rows(
    sim: SalesforceSim,
    browser: requests.Session,
    people: dict[str, str],
    order: dict[str, str],
    who: str,
    names: list[str],
) -> None:
    rows = _query(browser, sim, people[who], "SELECT Name FROM Account ORDER BY CreatedDate, Id")
    assert [r["Name"] for r in rows] == names


@pytest.mark.parametrize(("who", "status"), [("owner", 200), ("other", 404), ("auditor", 200), ("stranger", 404)])
def test_get_of_an_invisible_record_is_404_not_found(
    sim: SalesforceSim,
    browser: requests.Session,
    people: dict[str, str],
    order: dict[str, str],
    who: str,
    status: int,
) -> None:
    reply = _get(browser, sim, people[who], f"sobjects/Order/{order['order']}")
    assert reply.status_code == status
    if status == 404:
        assert reply.json() == [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


@pytest.mark.parametrize(("who", "count"), [("owner", 1), ("other", 0), ("auditor", 1), ("stranger", 0)])
def test_order_items_follow_their_orders_visibility(
    sim: SalesforceSim,
    browser: requests.Session,
    people: dict[str, str],
    order: dict[str, str],
    who: str,
    count: int,
) -> None:
    # When
    rows = _query(browser, sim, people[who], "SELECT Id, Product2.Name FROM OrderItem")
    item = _get(browser, sim, people[who], f"sobjects/OrderItem/{order['item']}")
    # Then
    assert len(rows) == count
    assert item.status_code == (200 if count else 404)


def test_shared_record_becomes_visible_to_that_user(
    sim: SalesforceSim, browser: requests.Session, people: dict[str, str], order: dict[str, str]
) -> None:
    # Given
    sim.share(order["order"], people["other_id"])
    # When
    rows = _query(browser, sim, people["other"], "SELECT Id FROM OrderItem")
    # Then
    assert _get(browser, sim, people["other"], f"sobjects/Order/{order['order']}").status_code == 200
    assert [r["Id"] for r in rows] == [order["item"]]


def test_read_share_does_not_allow_edits(
    sim: SalesforceSim, browser: requests.Session, people: dict[str, str], order: dict[str, str]
) -> None:
    # Given
    sim.share(order["order"], people["other_id"], access="Read")
    # When
    reply = browser.patch(
        f"{sim.url}/services/data/v{VERSION}/sobjects/Order/{order['order']}",
        json={"Description": "changed"},
        headers=_bearer(people["other"]),
        timeout=10,
    )
    # Then
    assert reply.status_code == 400
    assert reply.json()[0]["errorCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"


def test_edit_share_allows_edits(
    sim: SalesforceSim, browser: requests.Session, people: dict[str, str], order: dict[str, str]
) -> None:
    sim.share(order["order"], people["other_id"], access="Edit")
    reply = browser.patch(
        f"{sim.url}/services/data/v{VERSION}/sobjects/Order/{order['order']}",
        json={"Description": "changed"},
        headers=_bearer(people["other"]),
        timeout=10,
    )
    assert reply.status_code == 204
    assert _record(sim, "Order", order["order"])["Description"] == "changed"


def test_patch_of_an_invisible_record_is_404(
    sim: SalesforceSim, browser: requests.Session, people: dict[str, str], order: dict[str, str]
) -> None:
    reply = browser.patch(
        f"{sim.url}/services/data/v{VERSION}/sobjects/Account/{order['account']}",
        json={"Name": "hijacked"},
        headers=_bearer(people["other"]),
        timeout=10,
    )
    assert reply.status_code == 404
    assert _record(sim, "Account", order["account"])["Name"] == "Owned Co"


def test_composite_subrequests_see_what_the_user_sees(
    sim: SalesforceSim, browser: requests.Session, people: dict[str, str], order: dict[str, str]
) -> None:
    # Given
    prefix = f"/services/data/v{VERSION}"
    body = {
        "allOrNone": False,
        "compositeRequest": [
            {"method": "GET", "url": f"{prefix}/sobjects/Order/{order['order']}", "referenceId": "order"},
            {"method": "GET", "url": f"{prefix}/query?q=SELECT+Id+FROM+OrderItem", "referenceId": "items"},
        ],
    }
    # When
    reply = browser.post(f"{sim.url}{prefix}/composite", json=body, headers=_bearer(people["other"]), timeout=10)
    # Then
    results = reply.json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in results] == [404, 200]
    assert results[1]["body"]["totalSize"] == 0


def test_parent_fields_of_an_invisible_parent_read_as_null(
    sim: SalesforceSim, browser: requests.Session, people: dict[str, str]
) -> None:
    # Given an Order the user owns, on an Account owned by the integration user
    account = sim.insert("Account", {"Name": "Not yours"})
    sim.insert("Order", {"AccountId": account, "EffectiveDate": "2026-01-01"}, owner_id=people["owner_id"])
    # When
    rows = _query(browser, sim, people["owner"], "SELECT AccountId, Account.Name FROM Order")
    # Then
    assert (rows[0]["AccountId"], rows[0]["Account"]) == (account, None)


def test_contacts_are_controlled_by_their_account(
    sim: SalesforceSim, browser: requests.Session, people: dict[str, str], order: dict[str, str]
) -> None:
    # Given a contact owned by the integration user on the owner's account
    sim.insert("Contact", {"AccountId": order["account"], "LastName": "Primary"})
    # When
    mine = _query(browser, sim, people["owner"], "SELECT LastName FROM Contact")
    theirs = _query(browser, sim, people["other"], "SELECT LastName FROM Contact")
    # Then
    assert ([r["LastName"] for r in mine], theirs) == (["Primary"], [])


def test_records_created_by_a_user_are_owned_by_them(
    sim: SalesforceSim, browser: requests.Session, people: dict[str, str]
) -> None:
    reply = browser.post(
        f"{sim.url}/services/data/v{VERSION}/sobjects/Account",
        json={"Name": "Mine"},
        headers=_bearer(people["other"]),
        timeout=10,
    )
    assert _record(sim, "Account", reply.json()["id"])["OwnerId"] == people["other_id"]


def test_order_item_under_an_order_the_user_cannot_edit_is_refused(
    sim: SalesforceSim, browser: requests.Session, people: dict[str, str], order: dict[str, str]
) -> None:
    # Given
    sim.share(order["order"], people["other_id"], access="Read")
    # When
    reply = browser.post(
        f"{sim.url}/services/data/v{VERSION}/sobjects/OrderItem",
        json={"OrderId": order["order"], "Quantity": 1},
        headers=_bearer(people["other"]),
        timeout=10,
    )
    # Then
    assert reply.status_code == 400
    assert reply.json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


def test_products_are_readable_by_every_user_of_the_org(
    sim: SalesforceSim, browser: requests.Session, people: dict[str, str], order: dict[str, str]
) -> None:
    assert len(_query(browser, sim, people["other"], "SELECT Id FROM Product2")) == 1
    assert _query(browser, sim, people["stranger"], "SELECT Id FROM Product2") == []


def test_python_query_can_run_as_a_user(sim: SalesforceSim, people: dict[str, str], order: dict[str, str]) -> None:
    assert sim.query("SELECT Id FROM Order", as_user=people["other_id"])["totalSize"] == 0
    assert sim.query("SELECT Id FROM Order", as_user=people["owner_id"])["totalSize"] == 1


def test_reset_forgets_added_users_and_their_tokens(
    sim: SalesforceSim, browser: requests.Session, people: dict[str, str]
) -> None:
    # When
    sim.reset()
    # Then
    assert list(sim.users) == [sim.user_id]
    assert _get(browser, sim, people["owner"], "query?q=SELECT+Id+FROM+Account").status_code == 401
    assert _get(browser, sim, people["integration"], "query?q=SELECT+Id+FROM+Account").status_code == 200


def test_add_user_refuses_a_duplicate_username(sim: SalesforceSim, jane: str) -> None:
    with pytest.raises(ValueError, match="unique"):
        sim.add_user("JANE@acme.example.com", "x")


def test_added_users_of_this_org_are_user_records(sim: SalesforceSim, jane: str) -> None:
    record = sim.get("User", jane)
    assert record is not None
    assert (record["Username"], record["Name"], jane[:3]) == ("jane@acme.example.com", "Jane Doe", "005")


def test_authorize_url_helper_names_the_endpoint(sim: SalesforceSim) -> None:
    assert sim.authorize_url == f"{sim.url}/services/oauth2/authorize"
