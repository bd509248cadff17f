"""Zuora's tenant rate limits (developer.zuora.com, "Rate limits"), a part of `ZuoraSim`.

Requests are counted per type in one-minute windows: AUTH (OAuth token requests) and API (the rest; Zuora's quota is
50,000 a minute). Every API answer carries the quota closest to exhaustion in the IETF draft headers
`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds to the window's end); token answers carry
none. A request over the quota is answered 429 with `Retry-After`. `throttle(every=n)` makes every n-th API request
such a 429, for tests of a client under a limit; `throttled` counts them.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from werkzeug.wrappers import Response

from sandbox.core import json_response

API_REQUESTS_PER_MINUTE = 50_000


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

    def _reset_rate_limits(self) -> None:
        self.throttled = 0
        self.api_requests_per_minute = API_REQUESTS_PER_MINUTE
        self._window, self._window_count = int(time.time() // 60), 0
        self._throttle_every, self._throttle_retry_after, self._since_throttle = None, 1, 0

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
