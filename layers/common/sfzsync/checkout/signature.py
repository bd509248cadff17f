"""The checkout API's request signature.

`X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<Idempotency-Key>.<raw body>")>`: the key is
signed with the body, so a captured request cannot be replayed under a fresh key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Sequence

from sfzsync.errors import SignatureError

# Longer headers are refused before any parsing: the longest valid one (two v1 values) is under 200 characters.
MAX_HEADER_CHARACTERS = 512
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: str.isdigit() also accepts "²" and "٣"
_DIGEST = re.compile(r"[0-9a-f]{64}")


def signed_payload(timestamp: int, idempotency_key: str, body: str) -> bytes:
    return f"{timestamp}.{idempotency_key}.{body}".encode()


def sign(secret: str, idempotency_key: str, body: str, timestamp: int | None = None) -> str:
    """The header value a caller sends (used by the sandbox, the tests and the README's example)."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode("utf-8"), signed_payload(t, idempotency_key, body), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify(
    secrets: Sequence[str],
    idempotency_key: str,
    body: str,
    header: str | None,
    *,
    tolerance_seconds: int,
    now: float | None = None,
) -> None:
    """Raise SignatureError unless a v1 value matches one of `secrets` and t is within the tolerance of now."""
    if not header:
        raise SignatureError("X-Signature header is missing")
    if len(header) > MAX_HEADER_CHARACTERS:
        raise SignatureError("X-Signature header is too long")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    timestamps, signatures = parts.get("t", []), parts.get("v1", [])
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]) or not signatures:
        raise SignatureError("X-Signature must look like t=<unix seconds>,v1=<hex digest>")
    timestamp = int(timestamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        raise SignatureError("X-Signature timestamp is outside the allowed window")
    candidates = [value for value in signatures if _DIGEST.fullmatch(value)]
    payload = signed_payload(timestamp, idempotency_key, body)
    for secret in secrets:
        expected = hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, candidate) for candidate in candidates):
            return
    raise SignatureError("X-Signature does not match the Idempotency-Key and body")
