"""Idempotency keys, as the simulator keeps them:

- ``Idempotency-Key`` on POST: the status, headers and body of a processed request are stored for
  24 h per key + path and replayed for the same key and body; a different body answers 422, a
  request whose key is still in flight 409. Core faults that skip ``handle`` are not stored; the
  ``*_after_commit`` faults are, since the work was done, and so are ``refuse`` faults (Zuora saves
  an answer "regardless of whether it succeeded or failed").
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from werkzeug.wrappers import Request, Response

from sandbox.core import json_response
from sandbox.zuora.errors import zuora_failure
from sandbox.zuora.state import ZuoraState

IDEMPOTENCY_TTL = 24 * 3600
Handler = Callable[[Request], Response]


@dataclass
class _Stored:
    fingerprint: str
    expires: float
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class IdempotentRequests(ZuoraState):
    """Stored answers per Idempotency-Key and path (`idempotency`), kept `idempotency_ttl` seconds."""

    idempotency_ttl: float
    processing_delay: float
    idempotency: dict[tuple[str, str], _Stored]

    def _idempotent(self, request: Request, handler: Handler) -> Response:
        key = request.headers.get("Idempotency-Key")
        if not key:
            return self._process(request, handler)
        slot = (key, request.path)
        fingerprint = hashlib.sha256(request.get_data()).hexdigest()
        with self.lock:
            stored = self.idempotency.get(slot)
            if stored is not None and stored.expires <= time.time():
                stored = None
            if stored is not None and stored.fingerprint != fingerprint:
                message = "The request body does not match the original request with this idempotency key."
                return json_response(zuora_failure(90, message), 422)
            if stored is not None and stored.status is None:
                message = "A request with this idempotency key is still being processed."
                return json_response(zuora_failure(50, message), 409)
            if stored is not None:
                return Response(stored.body, status=stored.status, headers=stored.headers)
            entry = _Stored(fingerprint, time.time() + self.idempotency_ttl)
            self.idempotency[slot] = entry
        try:
            response = self._process(request, handler)
        except BaseException:
            with self.lock:
                self.idempotency.pop(slot, None)
            raise
        if "Zuora-Request-Id" not in response.headers:
            response.headers["Zuora-Request-Id"] = request.environ["zuora.request_id"]
        with self.lock:
            entry.status, entry.headers, entry.body = (
                response.status_code,
                list(response.headers.items()),
                response.get_data(),
            )
        return response

    def _process(self, request: Request, handler: Handler) -> Response:
        if self.processing_delay:
            time.sleep(self.processing_delay)
        return handler(request)
