"""What the simulated tenant holds, and the helpers the parts of `ZuoraSim` share: all-or-nothing writes,
numbering, and request bodies checked against the published schema:

- Request bodies of ``POST /v1/orders``, ``POST /v1/accounts`` and ``PUT /v1/accounts/{account-key}``
  are validated against Zuora's OpenAPI document (see ``sandbox.zuora.openapi``); violations are
  answered as business errors (``errors``) and appended to ``schema_violations`` for tests to assert on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.core import SimServer, json_response
from sandbox.zuora.catalog import Catalog
from sandbox.zuora.errors import RejectedError
from sandbox.zuora.openapi import find_violations


class ZuoraState(SimServer):
    """The tenant's records (plain dicts keyed by number or id) and catalog; `ZuoraSim` sets them in
    `reset_state`."""

    strict_fields: bool
    accounts: dict[str, dict[str, Any]]
    subscriptions: dict[str, dict[str, Any]]
    orders: dict[str, dict[str, Any]]
    payment_methods: dict[str, dict[str, Any]]
    invoices: dict[str, dict[str, Any]]
    payments: dict[str, dict[str, Any]]
    catalog: Catalog
    schema_violations: list[tuple[str, list[str]]]
    _counters: dict[str, int]

    # --- validation ----------------------------------------------------------------------------
    def _validated_body(self, request: Request, method: str, template: str, object_code: str) -> dict[str, Any]:
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError as exc:
            raise RejectedError(90, f"Malformed JSON request body: {exc}", object_code) from exc
        violations = find_violations(method, template, body, strict=self.strict_fields)
        if violations:
            with self.lock:
                self.schema_violations.append((f"{method} {template}", [str(v) for v in violations]))
            raise RejectedError.for_violations(violations, object_code)
        return dict(body)

    # --- helpers -------------------------------------------------------------------------------
    @contextmanager
    def _all_or_nothing(self) -> Iterator[None]:
        def copies(records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
            return {key: dict(value) for key, value in records.items()}

        saved = (
            copies(self.accounts),
            dict(self.subscriptions),
            dict(self.orders),
            copies(self.payment_methods),
            copies(self.invoices),
            dict(self.payments),
            dict(self._counters),
        )
        try:
            yield
        except RejectedError:
            (
                self.accounts,
                self.subscriptions,
                self.orders,
                self.payment_methods,
                self.invoices,
                self.payments,
                self._counters,
            ) = saved
            raise

    def _next(self, kind: str, pattern: str, taken: dict[str, Any]) -> str:
        while True:
            self._counters[kind] = self._counters.get(kind, 0) + 1
            candidate = pattern.format(self._counters[kind])
            if candidate not in taken:
                return candidate


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def not_allowed() -> Response:
    return json_response({"message": "Method Not Allowed"}, 405)
