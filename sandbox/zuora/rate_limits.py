"""Zuora's tenant rate and concurrent request limits (developer.zuora.com, "Rate and concurrent request limits",
/rest-api/general-concepts/rate-concurrency-limits/), a part of `ZuoraSim`.

Requests are counted per type in one-minute windows: AUTH (OAuth token requests) and API (the rest; Zuora's quota is
50,000 a minute). Every API answer carries the quota closest to exhaustion in the IETF draft headers
`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds to the window's end); token answers carry
none. A request over the quota is answered 429 with `Retry-After`. `throttle(every=n)` makes every n-th API request
such a 429, for tests of a client under a limit; `throttled` counts them.

Concurrent requests: `limit_concurrency(k)` admits at most k API requests in flight at once (off by default). Zuora
counts a request from its arrival to its answer and answers one beyond the limit at once, without processing it:
HTTP 429, `Retry-After: 120` (the page's "Errors when reaching concurrent request limits": REST error code 50000070,
"The total number of concurrent requests has exceeded the limit allowed by the system. Please resubmit your request
later."), in the v1 error body (`success: false`, `reasons`), with the `RateLimit-*` headers of the minute (the rate
quota is not what ran out). Login (OAuth token) requests have no concurrent limit. Zuora keeps several pools (Total,
40 by default; Create order in the Custom pool, 200); the simulator keeps one, what the tenant leaves this service.
`concurrency` reports what was admitted and refused and the time admitted requests spent in the simulator (latency
included): its service time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

from sandbox.core import json_response
from sandbox.zuora.errors import zuora_failure

API_REQUESTS_PER_MINUTE = 50_000
CONCURRENCY_RETRY_AFTER = 120
CONCURRENCY_MESSAGE = (
    "The total number of concurrent requests has exceeded the limit allowed by the system. "
    "Please resubmit your request later."
)


@dataclass(frozen=True)
class ConcurrencyStats:
    """What the concurrent request limit saw since the last reset."""

    limit: int | None
    in_flight: int
    max_in_flight: int
    admitted: int
    refused: int
    busy_seconds: float  # the sum over admitted requests of the time from arrival to answer

    @property
    def mean_service_seconds(self) -> float:
        return self.busy_seconds / self.admitted if self.admitted else 0.0


class RateLimits:
    """Mixin of `ZuoraSim` (which provides `lock`)."""

    lock: threading.RLock
    throttled: int
    api_requests_per_minute: int
    _window: int
    _window_count: int
    _throttle_every: int | None
    _throttle_retry_after: int
    _since_throttle: int
    _concurrency_limit: int | None
    _concurrency_retry_after: int
    _in_flight: int
    _max_in_flight: int
    _admitted: int
    _refused: int
    _busy_seconds: float
    _generation: int

    def _reset_rate_limits(self) -> None:
        self.throttled = 0
        self.api_requests_per_minute = API_REQUESTS_PER_MINUTE
        self._window, self._window_count = int(time.time() // 60), 0
        self._throttle_every, self._throttle_retry_after, self._since_throttle = None, 1, 0
        self._concurrency_limit, self._concurrency_retry_after = None, CONCURRENCY_RETRY_AFTER
        self._in_flight = self._max_in_flight = self._admitted = self._refused = 0
        self._busy_seconds = 0.0
        # Requests admitted before a reset release nothing after it (their generation is over).
        self._generation = getattr(self, "_generation", 0) + 1

    def limit_concurrency(self, limit: int | None, retry_after: int = CONCURRENCY_RETRY_AFTER) -> None:
        """Admit at most `limit` API requests in flight; beyond, 429 with `Retry-After: retry_after`. None: no limit.
        The counts of `concurrency` start again."""
        if limit is not None and limit < 1:
            raise ValueError("the concurrency limit is at least 1")
        with self.lock:
            self._concurrency_limit, self._concurrency_retry_after = limit, retry_after
            self._max_in_flight, self._admitted, self._refused = self._in_flight, 0, 0
            self._busy_seconds = 0.0

    @property
    def concurrency(self) -> ConcurrencyStats:
        with self.lock:
            return ConcurrencyStats(
                self._concurrency_limit,
                self._in_flight,
                self._max_in_flight,
                self._admitted,
                self._refused,
                self._busy_seconds,
            )

    def _admit(self) -> tuple[int, float] | None:
        """Take a slot for one API request: its ticket (for `_release`), or None when the limit is reached."""
        with self.lock:
            if self._concurrency_limit is not None and self._in_flight >= self._concurrency_limit:
                self._refused += 1
                return None
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            self._admitted += 1
            return self._generation, time.perf_counter()

    def _release(self, ticket: tuple[int, float]) -> None:
        generation, started = ticket
        with self.lock:
            if generation == self._generation:
                self._in_flight -= 1
                self._busy_seconds += time.perf_counter() - started

    def _concurrency_refusal(self) -> Response:
        with self.lock:
            retry_after = self._concurrency_retry_after
        response = json_response(zuora_failure(70, CONCURRENCY_MESSAGE), 429)
        response.headers["Retry-After"] = str(retry_after)
        response.headers.update(self._rate_limit_headers())
        return response

    def throttle(self, every: int | None, retry_after: int = 1) -> None:
        """Answer 429 (with `Retry-After: retry_after`) to every `every`-th API request from now; None stops it."""
        with self.lock:
            self._throttle_every, self._throttle_retry_after, self._since_throttle = every, retry_after, 0

    def _count_api_request(self) -> Response | None:
        """Count one API request; a 429 answer when it is over the quota (or throttled), else None."""
        now = time.time()
        with self.lock:
            window = int(now // 60)
            if window != self._window:
                self._window, self._window_count = window, 0
            self._window_count += 1
            over_quota = self._window_count > self.api_requests_per_minute
            throttled = False
            if self._throttle_every:
                self._since_throttle += 1
                throttled = self._since_throttle % self._throttle_every == 0
            if not (over_quota or throttled):
                return None
            self.throttled += 1
            retry_after = self._throttle_retry_after if throttled else max(1, int((window + 1) * 60 - now))
        body: dict[str, Any] = {"message": "You have exceeded the API rate limit of your tenant. Retry later."}
        response = json_response(body, 429)
        response.headers["Retry-After"] = str(retry_after)
        response.headers.update({**self._rate_limit_headers(), "RateLimit-Remaining": "0"})
        return response

    def _rate_limit_headers(self) -> dict[str, str]:
        now = time.time()
        with self.lock:
            window = int(now // 60)
            used = self._window_count if window == self._window else 0
            limit = self.api_requests_per_minute
        return {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(max(0, limit - used)),
            "RateLimit-Reset": str(max(1, int((window + 1) * 60 - now))),
        }
