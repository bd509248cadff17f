"""The checkout API's request signature: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`."""

from __future__ import annotations

import hashlib
import hmac
import time

from .errors import SignatureError


def sign(secret: str, body: str, timestamp: int | None = None) -> str:
    """The header value a caller sends (used by the sandbox, the tests and the README's example)."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode("utf-8"), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify(secret: str, body: str, header: str | None, tolerance_seconds: int, now: float | None = None) -> None:
    """Raise SignatureError unless one v1 value matches and t is within the tolerance (either side of now)."""
    if not header:
        raise SignatureError("X-Signature header is missing")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    timestamps, signatures = parts.get("t", []), parts.get("v1", [])
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not signatures:
        raise SignatureError("X-Signature must look like t=<unix seconds>,v1=<hex digest>")
    timestamp = int(timestamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        raise SignatureError("X-Signature timestamp is outside the allowed window")
    expected = sign(secret, body, timestamp).partition(",v1=")[2]
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise SignatureError("X-Signature does not match the body")
