"""Rate limits slow the run down instead of failing accounts.

The gateways already retry a refused call a few times within seconds (`sfzsync.gateways.transport.backoff_delay`,
Retry-After capped at 4 s: a checkout cannot wait longer). A backfill can: `Patience` retries what is still
retryable (Zuora's 429, Salesforce's REQUEST_LIMIT_EXCEEDED, 5xx, timeouts) after the server's full Retry-After, else
an exponential backoff up to a minute, while the invocation has time left. `RateLimitWatch` reads the `RateLimit-*`
headers of every Zuora answer that went through (developer.zuora.com, "Rate limits": the window closest to
exhaustion, with the requests left in it and the seconds until it resets) and holds every thread back when the window
is nearly spent, before Zuora has to refuse anything.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests

from sfzsync.errors import UpstreamError
from sfzsync.gateways.transport import time_allows
from sfzsync.observability import logger

T = TypeVar("T")
_LEADING_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)")


class RateLimitWatch:
    """Holds calls back until a nearly spent rate-limit window resets (`RateLimit-Remaining` at or below `floor`)."""

    def __init__(self, floor: int = 10, sleep: Callable[[float], None] = time.sleep) -> None:
        self.floor = floor
        self._sleep = sleep
        self._lock = threading.Lock()
        self._resume_at = 0.0
        self.held_seconds = 0.0

    def observe(self, response: requests.Response, *_: Any, **__: Any) -> None:
        """A `requests` response hook: note a window about to run out, from an answer that went through. A refusal
        (429) says when to retry in its Retry-After, which `Patience` waits out for the call it refused."""
        if response.status_code >= 300:
            return
        remaining = _number(response.headers.get("RateLimit-Remaining"))
        reset = _number(response.headers.get("RateLimit-Reset"))
        if remaining is None or reset is None or remaining > self.floor:
            return
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + reset)
        logger.info("rate limit window nearly spent: holding calls", extra={"remaining": remaining, "reset": reset})

    def wait(self) -> None:
        """Before a call: sleep until the window has reset, if one is nearly spent."""
        with self._lock:
            delay = self._resume_at - time.monotonic()
        if delay > 0:
            with self._lock:
                self.held_seconds += delay
            self._sleep(delay)


class Patience:
    """Runs a call again after what the server asked for (or a backoff) while it fails in a retryable way."""

    def __init__(
        self,
        attempts: int = 6,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        watch: RateLimitWatch | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.watch = watch
        self._sleep = sleep
        self._lock = threading.Lock()
        self.waits = 0
        self.waited_seconds = 0.0

    def run(self, call: Callable[[], T]) -> T:
        attempt = 0
        while True:
            if self.watch is not None:
                self.watch.wait()
            try:
                return call()
            except UpstreamError as error:
                attempt += 1
                delay = self.delay(attempt, error)
                if not error.retryable or attempt >= self.attempts or not time_allows(delay):
                    raise
                logger.warning(
                    "upstream refused or failed: waiting before trying again",
                    extra={"stage": error.stage, "code": error.code, "attempt": attempt, "delay": round(delay, 2)},
                )
                with self._lock:
                    self.waits += 1
                    self.waited_seconds += delay
                self._sleep(delay)

    def delay(self, attempt: int, error: UpstreamError) -> float:
        """The server's Retry-After in full (up to `max_delay`), else `base_delay` doubled per attempt."""
        if error.retry_after_seconds is not None:
            return min(max(float(error.retry_after_seconds), 0.0), self.max_delay)
        return min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)


def _number(value: str | None) -> float | None:
    """The leading number of a header (`RateLimit-Limit` may carry a policy after it, `100, 100;w=60`)."""
    match = _LEADING_NUMBER.match(value or "")
    return float(match.group(1)) if match else None
