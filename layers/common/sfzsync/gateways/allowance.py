"""Salesforce's daily API allowance, as the service sees it: a circuit breaker that stops calling before it is spent.

Every Salesforce REST answer carries `Sforce-Limit-Info: api-usage=<used>/<allowance>` (REST API Developer Guide,
"Limit Info Header"); the usage becomes metrics. Below `floor_percent` remaining, or when Salesforce answers
`REQUEST_LIMIT_EXCEEDED` for `TotalRequests`, the breaker opens for `cooldown_seconds`: calls are refused before
they are made (the checkout answers 503 with Retry-After), and the breaker is written to DynamoDB so the other
containers open theirs too (each re-reads it at most every `SHARED_REFRESH_SECONDS`). The first call after the
cooldown reads the usage again: recovered, calls flow; still low, the breaker opens again.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from sfzsync.errors import AllowanceExhaustedError
from sfzsync.observability import logger, metrics

SHARED_REFRESH_SECONDS = 30.0


class SharedBreaker(Protocol):
    """Where containers share the breaker (the DynamoDB table): when it is open until, in epoch seconds."""

    def read_open_until(self) -> float: ...

    def write_open_until(self, epoch_seconds: float) -> None: ...


class ApiAllowance:
    def __init__(self, floor_percent: float, cooldown_seconds: float, shared: SharedBreaker | None = None) -> None:
        self.floor_percent = floor_percent
        self.cooldown_seconds = cooldown_seconds
        self._shared = shared
        self._lock = threading.Lock()
        self._open_until = 0.0
        self._shared_read_at = 0.0

    def check(self, stage: str) -> None:
        """Raise AllowanceExhaustedError, before any call, while the breaker is open."""
        now = time.time()
        with self._lock:
            refresh = self._shared is not None and now - self._shared_read_at >= SHARED_REFRESH_SECONDS
            if refresh:
                self._shared_read_at = now
        if refresh and self._shared is not None:
            try:
                shared_until = self._shared.read_open_until()
            except Exception as exc:  # the shared view is an optimisation; the local one stands
                logger.warning("shared allowance breaker not read", extra={"reason": type(exc).__name__})
                shared_until = 0.0
            with self._lock:
                self._open_until = max(self._open_until, shared_until)
        with self._lock:
            open_until = self._open_until
        if open_until > now:
            raise AllowanceExhaustedError(stage, retry_after_seconds=open_until - now)

    def observe(self, used: int, allowance: int) -> None:
        """An answer's `Sforce-Limit-Info`: metrics, and the breaker opened when too little is left."""
        if allowance <= 0:
            return
        remaining_percent = 100.0 * (allowance - used) / allowance
        metrics.add_metric(name="SalesforceApiRemainingPercent", unit="Percent", value=round(remaining_percent, 2))
        if remaining_percent < self.floor_percent:
            self.exhausted(f"{allowance - used} of {allowance} daily API calls left")

    def exhausted(self, reason: str) -> None:
        """Open the breaker for the cooldown, here and (best effort) for every container."""
        until = time.time() + self.cooldown_seconds
        with self._lock:
            already_open = self._open_until > time.time()
            self._open_until = max(self._open_until, until)
        if already_open:
            return
        logger.warning("salesforce api allowance low: calls paused", extra={"reason": reason})
        metrics.add_metric(name="SalesforceAllowanceBreakerOpened", unit="Count", value=1)
        if self._shared is not None:
            try:
                self._shared.write_open_until(until)
            except Exception as exc:  # this container's breaker is open either way
                logger.warning("shared allowance breaker not written", extra={"reason": type(exc).__name__})
