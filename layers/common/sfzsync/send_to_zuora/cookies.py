"""Browser-facing security for the Send to Zuora button: sealed cookies, signed state, PKCE and CSRF tokens.

Cookies are sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the secret's
`sendToZuora.sessionKey`: the browser can neither read the Salesforce token inside nor forge one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# The `__Host-` prefix: a browser takes such a cookie only when it is Secure, has no Domain and Path=/, so no other
# host under the same domain (and no plain-HTTP page) can set or shadow it (RFC 6265bis, "The __Host- Prefix").
SESSION_COOKIE = "__Host-sfz_session"
OAUTH_COOKIE = "__Host-sfz_oauth"
SESSION_SECONDS = 15 * 60
OAUTH_SECONDS = 10 * 60


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class UserSession:
    """Who clicked: their Salesforce user and org, and their own access token for reading records."""

    session_id: str
    user_id: str
    org_id: str
    domain: str
    access_token: str
    instance_url: str
    user_name: str
    expires_at: float


@dataclass(frozen=True)
class PendingLogin:
    """What the OAuth round trip must come back with: the state nonce, the PKCE verifier, the button URL."""

    nonce: str
    code_verifier: str
    domain: str
    record_param: str
    record_id: str
    expires_at: float


class CookieSealer:
    """Seals and opens the project's cookies; anything tampered with, expired or for another purpose opens to None."""

    def __init__(self, session_key: str) -> None:
        material = HKDF(
            algorithm=hashes.SHA256(), length=64, salt=b"sfzsync-send-to-zuora", info=b"cookies+csrf"
        ).derive(session_key.encode("utf-8"))
        self._aead = AESGCM(material[:32])
        self._mac_key = material[32:]

    def seal(self, purpose: str, payload: dict[str, Any]) -> str:
        nonce = secrets.token_bytes(12)
        data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        return _b64(nonce + self._aead.encrypt(nonce, data, purpose.encode("ascii")))

    def open(self, purpose: str, token: str | None) -> dict[str, Any] | None:
        if not token or len(token) > 4096:
            return None
        try:
            raw = _unb64(token)
            data = self._aead.decrypt(raw[:12], raw[12:], purpose.encode("ascii"))
            payload = json.loads(data)
        except (ValueError, InvalidTag):
            return None
        if not isinstance(payload, dict) or float(payload.get("expires_at", 0)) < time.time():
            return None
        return payload

    def seal_session(self, session: UserSession) -> str:
        return self.seal(SESSION_COOKIE, asdict(session))

    def open_session(self, token: str | None) -> UserSession | None:
        payload = self.open(SESSION_COOKIE, token)
        try:
            return UserSession(**payload) if payload else None
        except TypeError:
            return None

    def seal_login(self, login: PendingLogin) -> str:
        return self.seal(OAUTH_COOKIE, asdict(login))

    def open_login(self, token: str | None) -> PendingLogin | None:
        payload = self.open(OAUTH_COOKIE, token)
        try:
            return PendingLogin(**payload) if payload else None
        except TypeError:
            return None

    def sign_state(self, nonce: str) -> str:
        """OAuth `state`: the nonce, bound by MAC to this deployment's key (checked again against the cookie)."""
        return f"{nonce}.{self._mac('state', nonce)}"

    def state_nonce(self, state: str | None) -> str | None:
        nonce, _, mac = (state or "").partition(".")
        return nonce if nonce and hmac.compare_digest(mac, self._mac("state", nonce)) else None

    def csrf_token(self, session: UserSession, record_id: str) -> str:
        """Bound to this session and this record: a token for one Order cannot push another."""
        return self._mac("csrf", f"{session.session_id}|{session.org_id}|{record_id}")

    def csrf_valid(self, session: UserSession, record_id: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session, record_id), token or "")

    def _mac(self, purpose: str, text: str) -> str:
        return _b64(hmac.new(self._mac_key, f"{purpose}|{text}".encode(), hashlib.sha256).digest())


def new_pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636."""
    verifier = _b64(secrets.token_bytes(48))
    return verifier, _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def new_id() -> str:
    return _b64(secrets.token_bytes(18))


def read_cookies(header: str | None) -> dict[str, str]:
    """Name → value of each cookie in a Cookie header, the first one of a name winning.

    Pair by pair, as browsers send them (`name=value; name2=value2`): one malformed neighbour (a value with a space,
    a quote or a comma, a pair without `=`, set by another app on the same site) must not hide the session cookie,
    as it does from `http.cookies.SimpleCookie`, which stops at the first pair it cannot parse.
    """
    cookies: dict[str, str] = {}
    for pair in (header or "").split(";"):
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or any(ch in name for ch in ' \t",\\'):
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        cookies.setdefault(name, value)
    return cookies


def set_cookie(name: str, value: str, max_age: int, path: str) -> str:
    return f"{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax"


def clear_cookie(name: str, path: str) -> str:
    return f"{name}=; Path={path}; Max-Age=0; HttpOnly; Secure; SameSite=Lax"
