"""OAuth 2.0: the token endpoint (client credentials, JWT bearer, authorization code with PKCE, refresh token),
the authorization endpoint behind the login page, revocation, and the bearer tokens the API accepts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from werkzeug.wrappers import Request, Response

from sandbox.core import json_response
from sandbox.salesforce.pages import error_page, html_response, login_page
from sandbox.salesforce.state import AuthCode, OrgState, RefreshGrant, Session, SimUser

JWT_MAX_LIFETIME = 180.0
JWT_CLOCK_SKEW = 5.0
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUTH_CODE_LIFETIME = 600.0
OAUTH_SCOPES = frozenset(
    {
        *("api", "id", "refresh_token", "offline_access", "openid", "profile", "email", "address", "phone"),
        *("web", "full", "chatter_api", "visualforce", "custom_permissions"),
    }
)
DEFAULT_WEB_SCOPE = "api id refresh_token"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
LOGIN_FAILED_MESSAGE = (
    "Please check your username and password. If you still can't log in, contact your Salesforce administrator."
)

_PKCE_RE = re.compile(r"[A-Za-z0-9._~-]{43,128}")


class OAuthEndpoints(OrgState):
    """Token, authorize and revoke endpoints, and who a bearer token belongs to."""

    def _bearer_user(self, header: str) -> SimUser | None:
        scheme, _, token = header.partition(" ")
        return self._token_user(token.strip()) if scheme.lower() in ("bearer", "oauth") else None

    def _token_user(self, token: str) -> SimUser | None:
        session = self._tokens.get(token)
        if session is None:
            return None
        if self.session_timeout is not None and time.monotonic() - session.issued >= self.session_timeout:
            return None
        return self._users.get(session.user_id)

    # --- OAuth: token endpoint -----------------------------------------------------------------------------
    def _token_endpoint(self, request: Request) -> Response:
        if request.method != "POST":
            return _oauth_error("invalid_request", "must use HTTP POST", 405)
        form = request.form
        grant = form.get("grant_type", "")
        with self.lock:
            if grant == "authorization_code":
                return self._code_grant(request)
            if grant == "refresh_token":
                return self._refresh_grant(request)
            if grant == "client_credentials":
                failure = self._check_client_credentials(request)
            elif grant == JWT_GRANT:
                failure = self._check_jwt(form.get("assertion", ""))
            else:
                failure = ("unsupported_grant_type", "grant type not supported")
            if failure is not None:
                return _oauth_error(*failure)
            return _token_response(self._token_body(self._users[self.user_id], "api"))

    def _client_from(self, request: Request) -> tuple[str | None, str | None]:
        client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            client_id, secret = auth.username, auth.password
        return client_id, secret

    def _check_client_credentials(self, request: Request) -> tuple[str, str] | None:
        client_id, secret = self._client_from(request)
        if client_id != self.client_id:
            return "invalid_client_id", "client identifier invalid"
        if not secret or not hmac.compare_digest(secret, self.client_secret):
            return "invalid_client", "invalid client credentials"
        return None

    def _check_web_client(self, request: Request) -> tuple[str, str] | None:
        """Web-server and refresh grants: the secret is optional (PKCE public client) but checked when sent."""
        client_id, secret = self._client_from(request)
        if client_id != self.client_id:
            return "invalid_client_id", "client identifier invalid"
        if secret or self.require_secret_for_web_server_flow:
            return self._check_client_credentials(request)
        return None

    def _check_jwt(self, assertion: str) -> tuple[str, str] | None:
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return "invalid_grant", "invalid assertion"
        if unverified.get("iss") != self.client_id:
            return "invalid_client_id", "client identifier invalid"
        if self._jwt_key is None:
            return "invalid_grant", "invalid assertion"
        try:
            claims = jwt.decode(
                assertion,
                self._jwt_key,
                algorithms=["RS256"],
                audience=self.jwt_audience,
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            return "invalid_grant", "expired authorization code"
        except jwt.InvalidAudienceError:
            return "invalid_grant", "audience is invalid"
        except jwt.PyJWTError:
            return "invalid_grant", "invalid assertion"
        if float(claims["exp"]) > time.time() + JWT_MAX_LIFETIME + JWT_CLOCK_SKEW:
            return "invalid_grant", "invalid assertion"
        if claims["sub"] != self.jwt_username:
            return "invalid_grant", "user hasn't approved this consumer"
        return None

    def _code_grant(self, request: Request) -> Response:
        failure = self._check_web_client(request)
        if failure is not None:
            return _oauth_error(*failure)
        form = request.form
        code = form.get("code", "")
        grant = self._codes.pop(code, None)
        if grant is None:
            # A code presented twice: refuse, and revoke what the first exchange issued (RFC 6749 section 4.1.2).
            for token in self._spent_codes.get(code, []):
                self._revoke(token)
            return _oauth_error("invalid_grant", "invalid authorization code")
        self._spent_codes[code] = []
        user = self._users.get(grant.user_id)
        if user is None or grant.client_id != self.client_id:
            return _oauth_error("invalid_grant", "invalid authorization code")
        if time.monotonic() >= grant.expires:
            return _oauth_error("invalid_grant", "expired authorization code")
        if form.get("redirect_uri", "") != grant.redirect_uri:
            return _oauth_error("invalid_grant", "redirect_uri mismatch")
        if not _pkce_ok(grant.code_challenge, form.get("code_verifier")):
            return _oauth_error("invalid_grant", "invalid code verifier")
        wants_refresh = bool({"refresh_token", "offline_access"} & set(grant.scope.split()))
        refresh = self._new_refresh_token(user, grant.scope) if wants_refresh else None
        body = self._token_body(user, grant.scope, refresh)
        if refresh is not None:
            body = {"access_token": body["access_token"], "refresh_token": refresh} | body
        self._spent_codes[code] = [token for token in (body["access_token"], refresh) if token]
        return _token_response(body)

    def _refresh_grant(self, request: Request) -> Response:
        failure = self._check_web_client(request)
        if failure is not None:
            return _oauth_error(*failure)
        token = request.form.get("refresh_token", "")
        grant = self._refresh_tokens.get(token)
        user = None if grant is None else self._users.get(grant.user_id)
        if grant is None or user is None:
            return _oauth_error("invalid_grant", "expired access/refresh token")
        return _token_response(self._token_body(user, grant.scope, token))

    def _token_body(self, user: SimUser, scope: str, refresh_token: str | None = None) -> dict[str, str]:
        issued_at = str(int(time.time() * 1000))
        identity = f"{self.url}/id/{user.org_id}/{user.user_id}"
        digest = hmac.new(self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
        return {
            "access_token": self._new_access_token(user, refresh_token),
            "signature": base64.b64encode(digest).decode(),
            "scope": scope,
            "instance_url": self.url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }

    def _new_access_token(self, user: SimUser, refresh_token: str | None = None) -> str:
        token = f"{user.org_id[:15]}!{secrets.token_urlsafe(48)}"
        self.issued_credentials.append(token)
        self._tokens[token] = Session(user.user_id, time.monotonic(), refresh_token)
        return token

    def _new_refresh_token(self, user: SimUser, scope: str) -> str:
        token = f"5Aep{secrets.token_urlsafe(60)}"
        self.issued_credentials.append(token)
        self._refresh_tokens[token] = RefreshGrant(user.user_id, scope)
        return token

    def _revoke(self, token: str) -> bool:
        """Revoke an access token, or a refresh token and every access token it minted."""
        if self._refresh_tokens.pop(token, None) is not None:
            self._tokens = {t: s for t, s in self._tokens.items() if s.refresh_token != token}
            return True
        return self._tokens.pop(token, None) is not None

    def _revoke_endpoint(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return _oauth_error("invalid_request", "must use HTTP POST", 405)
        with self.lock:
            if not self._revoke(request.values.get("token", "")):
                return _oauth_error("unsupported_token_type", "this token type is not supported")
        return Response("", 200, headers={"Cache-Control": "no-store"})

    # --- OAuth: authorization endpoint and login page ------------------------------------------------------
    def _authorize_endpoint(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return html_response(error_page("invalid_request", "must use HTTP GET or POST"), 405)
        params = request.args if request.method == "GET" else request.form
        with self.lock:
            problem = self._check_authorize_request(params)
            if problem is not None:
                return problem
            if request.method == "GET" or "username" not in params:
                return html_response(login_page(params, params.get("login_hint", ""), None))
            username = params.get("username", "")
            user = self._login(username, params.get("password", ""))
            if user is None:
                return html_response(login_page(params, username, LOGIN_FAILED_MESSAGE))
            code = f"aPrx{secrets.token_urlsafe(60)}=="
            self.issued_credentials.append(code)
            self._codes[code] = AuthCode(
                user.user_id,
                self.client_id,
                params["redirect_uri"],
                params.get("code_challenge") or None,
                params.get("scope") or DEFAULT_WEB_SCOPE,
                time.monotonic() + self.code_lifetime,
            )
            return _redirect(params["redirect_uri"], {"code": code, "state": params.get("state")})

    def _check_authorize_request(self, params: Mapping[str, str]) -> Response | None:
        """Client and callback problems are shown on an error page (never sent to an unverified redirect_uri);
        the rest goes back to the callback as `error=...`, as Salesforce does."""
        if params.get("client_id") != self.client_id:
            return html_response(error_page("invalid_client_id", "client identifier invalid"), 400)
        redirect_uri = params.get("redirect_uri", "")
        if not self.redirect_uri_allowed(redirect_uri):
            return html_response(error_page("redirect_uri_mismatch", "redirect_uri must match configuration"), 400)
        error: tuple[str, str] | None = None
        challenge = params.get("code_challenge") or ""
        if params.get("response_type") != "code":
            error = ("unsupported_response_type", "response type not supported")
        elif params.get("code_challenge_method", "S256") != "S256":
            error = ("invalid_request", "code_challenge_method must be S256")
        elif not challenge and self.require_pkce:
            error = ("invalid_request", "missing required code challenge")
        elif challenge and not _PKCE_RE.fullmatch(challenge):
            error = ("invalid_request", "invalid code challenge")
        elif any(scope not in OAUTH_SCOPES for scope in params.get("scope", "").split()):
            error = ("invalid_scope", "the requested scope is not allowed")
        elif "none" in params.get("prompt", "").split():
            error = ("login_required", "user is not logged in")
        if error is None:
            return None
        return _redirect(redirect_uri, {"error": error[0], "error_description": error[1], "state": params.get("state")})

    def redirect_uri_allowed(self, uri: str) -> bool:
        """Exactly one of `allowed_redirect_uris`, or (list empty) any http(s) URL on a loopback host."""
        if self.allowed_redirect_uris:
            return uri in self.allowed_redirect_uris
        try:
            parts = urlsplit(uri)
            _ = parts.port
        except ValueError:
            return False
        return (
            parts.scheme in ("http", "https")
            and parts.hostname in LOOPBACK_HOSTS
            and not parts.fragment
            and parts.username is None
            and parts.password is None
        )

    def _login(self, username: str, password: str) -> SimUser | None:
        wanted = username.strip().lower()
        user = next((u for u in self._users.values() if u.username.lower() == wanted), None)
        if user is None or user.password is None:
            return None
        return user if hmac.compare_digest(user.password.encode(), password.encode()) else None


def load_public_key(pem: str) -> Any:
    data = pem.encode()
    if b"BEGIN CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status, {"Cache-Control": "no-store"})


def _token_response(body: dict[str, str]) -> Response:
    return json_response(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def _pkce_ok(challenge: str | None, verifier: str | None) -> bool:
    """RFC 7636 S256: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge (no verifier without a challenge)."""
    if challenge is None:
        return not verifier
    if not verifier or not _PKCE_RE.fullmatch(verifier):
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return hmac.compare_digest(base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"), challenge)


def _redirect(uri: str, params: dict[str, str | None]) -> Response:
    """302 to `uri` with `params` added to its query (percent-encoded, spaces as %20: state comes back unchanged)."""
    parts = urlsplit(uri)
    extra = urlencode({key: value for key, value in params.items() if value is not None}, quote_via=quote)
    location = urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))
    return Response("", status=302, headers={"Location": location, "Cache-Control": "no-store"})
