"""HTTP plumbing shared by the gateways: a timeout on every call, bounded by the invocation's deadline."""

from __future__ import annotations

import contextlib
import contextvars
import os
import random
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from sfzsync.errors import UpstreamError

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)
_track_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("track_id", default=None)

# Time kept back from the invocation's remaining time for answering the caller.
RESPONSE_MARGIN_SECONDS = 1.5


@contextlib.contextmanager
def invocation_scope(seconds: float | None, track_id: str | None = None) -> Iterator[None]:
    """Bound every outbound call made inside the block by `seconds` from now and tag it with `track_id`."""
    deadline_token = _deadline.set(None if seconds is None else time.monotonic() + seconds)
    track_token = _track_id.set(track_id)
    try:
        yield
    finally:
        _deadline.reset(deadline_token)
        _track_id.reset(track_token)


def current_track_id() -> str | None:
    return _track_id.get()


def remaining_seconds() -> float | None:
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


class DeadlineExceeded(requests.Timeout):
    """No time is left in the invocation for another outbound call."""


class TimeoutSession(requests.Session):
    """A requests session that never waits forever: (connect, read) timeouts, capped by the deadline."""

    def __init__(self, connect_timeout: float, read_timeout: float, pool_size: int = 4) -> None:
        super().__init__()
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        if not {scheme: url for scheme, url in urllib.request.getproxies().items() if scheme != "no"}:
            # No proxy configured (Lambda's usual case): the environment is read once here, not on every call, where
            # requests would look up proxies, NO_PROXY and ~/.netrc again each time (a few ms per call, profiled).
            self.trust_env = False
            self.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        connect, read = self.connect_timeout, self.read_timeout
        left = remaining_seconds()
        if left is not None:
            if left <= 0.05:
                raise DeadlineExceeded(f"no time left for {method!r} {url!r}")
            connect, read = min(connect, left), min(read, left)
        kwargs["timeout"] = kwargs.get("timeout") or (connect, read)
        return super().request(method, url, *args, **kwargs)


def transport_error(system: str, stage: str, exc: requests.RequestException) -> UpstreamError:
    """A call that got no answer, as the APIs report it: a timeout (504: the outcome is unknown) or a failed
    connection (502); both retryable. `system` is "Salesforce" or "Zuora"."""
    code = system.upper()
    if isinstance(exc, requests.Timeout):
        return UpstreamError(stage, f"{code}_TIMEOUT", f"{system} did not answer in time", retryable=True, timeout=True)
    return UpstreamError(
        stage, f"{code}_UNREACHABLE", f"connection to {system} failed: {type(exc).__name__}", retryable=True
    )


def backoff_delay(attempt: int, base: float = 0.2, cap: float = 4.0, retry_after: float | None = None) -> float:
    """Full-jitter exponential backoff; a server's Retry-After wins when it gives one."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), cap)
    return random.uniform(0, min(cap, base * (2**attempt)))  # noqa: S311 (jitter, not cryptography)


def time_allows(delay: float) -> bool:
    left = remaining_seconds()
    return left is None or left - delay > 1.0


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None
