"""Zuora simulator: OAuth, Create Order, accounts, Object Query accounts, idempotency, Zuora error bodies.

Wire behaviour follows Zuora's v1 API documentation:

- ``POST /oauth/token`` (form-encoded client credentials) issues bearer tokens valid ``token_ttl``
  seconds; ``/v1/*`` and ``/object-query/*`` need one, else 401 ``{"message": "Authentication error"}``.
  A wrong client id/secret answers 401 ``{"error": "invalid_client", ...}`` (RFC 6749 5.2; Zuora
  documents no body for it).
- Every response carries a fresh ``Zuora-Request-Id`` (uuid) and echoes ``Zuora-Track-Id``. The
  received ``Zuora-Track-Id`` / ``Zuora-Version`` headers are in the core call log (``sim.calls``).
- Business errors are HTTP 200 ``{"success": false, "processId", "reasons": [{"code", "message"}]}``
  with an 8-digit code: 6-digit resource code + 2-digit category (20 invalid value, 21 unknown field,
  22 missing required field, 40 not found, 45 unsupported, 90 malformed request).
- Request bodies of ``POST /v1/orders``, ``POST /v1/accounts`` and ``PUT /v1/accounts/{account-key}``
  are validated against Zuora's OpenAPI document (see ``sandbox.zuora_openapi``); violations are
  answered as above and appended to ``schema_violations`` for tests to assert on.
- ``Idempotency-Key`` on POST: the status, headers and body of a processed request are stored for
  24 h per key + path and replayed for the same key and body; a different body answers 422, a
  request whose key is still in flight 409. Core faults that skip ``handle`` are not stored; the
  ``*_after_commit`` faults are, since the work was done, and so are ``refuse`` faults (Zuora saves
  an answer "regardless of whether it succeeded or failed").
- ``Zuora-Version`` >= 223.0 (or a date-style version such as ``2025-08-12``) switches the Create
  Order response from ``subscriptionNumbers`` to ``subscriptions: [{subscriptionNumber, status}]``.

Issued tokens survive ``reset()``; ``expire_tokens()`` invalidates them.
"""

from __future__ import annotations

import hashlib
import json
import re
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.core import Fault, SimServer, json_response
from sandbox.zuora_openapi import Violation, find_violations

IDEMPOTENCY_TTL = 24 * 3600
ORDERS = "/v1/orders"
ACCOUNTS = "/v1/accounts"
ACCOUNT_KEY = "/v1/accounts/{account-key}"
OBJECT_QUERY_ACCOUNTS = "/object-query/accounts"
RESOURCE_ORDER = "500000"
RESOURCE_ACCOUNT = "500000"
_CATEGORY_OF_KIND = {"invalid": 20, "unknown": 21, "required": 22}
_FILTER_FIELDS = {"id": "id", "accountnumber": "accountNumber", "crmid": "crmId", "currency": "currency"}
_FILTER = re.compile(r"^(?P<field>[A-Za-z_]+)\.(?P<op>EQ|NE|IN|SW):(?P<value>.*)$", re.DOTALL)
_DATE_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ACCOUNT_RESERVED = {"billToContact", "soldToContact", "creditCard", "paymentMethod", "hpmCreditCardPaymentMethodId"}

Handler = Callable[[Request], Response]


def zuora_failure(category: int, message: str, object_code: str = "500000") -> dict[str, Any]:
    """A Zuora ``success: false`` body; the code is the 6-digit resource code + 2-digit category."""
    return _failure([(category, message)], object_code)


def _failure(reasons: list[tuple[int, str]], object_code: str) -> dict[str, Any]:
    return {
        "success": False,
        "processId": uuid.uuid4().hex[:16].upper(),
        "reasons": [{"code": int(f"{object_code}{category:02d}"), "message": message} for category, message in reasons],
    }


def uses_subscriptions_field(version: str | None) -> bool:
    """True when the Create Order response lists ``subscriptions`` (Zuora-Version 223.0 or later)."""
    if not version:
        return False
    version = version.strip()
    if _DATE_VERSION.match(version):
        return True
    try:
        return float(version) >= 223.0
    except ValueError:
        return False


@dataclass
class _Stored:
    fingerprint: str
    expires: float
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class _RejectedError(Exception):
    def __init__(self, category: int, message: str, object_code: str = RESOURCE_ORDER) -> None:
        super().__init__(message)
        self.body = zuora_failure(category, message, object_code)

    @classmethod
    def for_violations(cls, violations: list[Violation], object_code: str) -> _RejectedError:
        rejected = cls(20, str(violations[0]), object_code)
        rejected.body = _failure([(_CATEGORY_OF_KIND.get(v.kind, 20), str(v)) for v in violations], object_code)
        return rejected


class ZuoraSim(SimServer):
    """Loopback Zuora. State is plain dicts keyed by number; guard reads with ``sim.lock``."""

    name = "zuora"

    def __init__(
        self,
        ssl_context: ssl.SSLContext | None = None,
        *,
        client_id: str,
        client_secret: str,
        token_ttl: int = 3599,
        latency: float = 0.0,
        strict_fields: bool = True,
    ) -> None:
        super().__init__(ssl_context, latency)
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.strict_fields = strict_fields
        self.processing_delay = 0.0
        self.idempotency_ttl: float = IDEMPOTENCY_TTL
        self.tokens: dict[str, float] = {}
        self.issued_credentials: list[str] = []  # every access token ever issued (survives expiry): log audits
        self.reset_state()

    # --- Python API --------------------------------------------------------------------------
    def reset_state(self) -> None:
        with self.lock:
            self.accounts: dict[str, dict[str, Any]] = {}
            self.subscriptions: dict[str, dict[str, Any]] = {}
            self.orders: dict[str, dict[str, Any]] = {}
            self.schema_violations: list[tuple[str, list[str]]] = []
            self.idempotency: dict[tuple[str, str], _Stored] = {}
            self._counters: dict[str, int] = {}

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def seed_account(
        self,
        name: str,
        currency: str = "USD",
        crm_id: str | None = None,
        *,
        account_number: str | None = None,
        bill_to_contact: dict[str, Any] | None = None,
        created_date: str | None = None,
        **fields: Any,
    ) -> str:
        """Create an account directly (no HTTP); returns its account number."""
        body: dict[str, Any] = {"name": name, "currency": currency, **fields}
        if crm_id is not None:
            body["crmId"] = crm_id
        if account_number is not None:
            body["accountNumber"] = account_number
        body["billToContact"] = bill_to_contact or {"firstName": "Seed", "lastName": name}
        with self.lock:
            try:
                account = self._new_account(body)
            except _RejectedError as rejected:
                raise ValueError(str(rejected)) from None
            if created_date is not None:
                account["createdDate"] = account["updatedDate"] = created_date
        return str(account["accountNumber"])

    def find_account(self, key: str) -> dict[str, Any] | None:
        """The account whose number or id is `key`."""
        with self.lock:
            if key in self.accounts:
                return self.accounts[key]
            return next((a for a in self.accounts.values() if a["id"] == key), None)

    def header_values(self, header: str, path: str | None = None) -> list[str | None]:
        """The value of `header` on each logged call (optionally only calls whose path matches `path`)."""
        with self.lock:
            calls = [c for c in self.calls if path is None or re.search(path, c.path)]
        wanted = header.lower()
        return [next((v for k, v in c.headers.items() if k.lower() == wanted), None) for c in calls]

    # --- plumbing ------------------------------------------------------------------------------
    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        environ["zuora.request_id"] = request_id
        track_id = environ.get("HTTP_ZUORA_TRACK_ID")

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            names = {name.lower() for name, _ in headers}
            if "zuora-request-id" not in names:
                headers.append(("Zuora-Request-Id", request_id))
            if track_id and "zuora-track-id" not in names:
                headers.append(("Zuora-Track-Id", track_id))
            return start_response(status, headers, exc_info)

        return super().wsgi_app(environ, start)

    def handle(self, request: Request) -> Response:
        try:
            response = self._route(request)
        except Exception as exc:
            response = json_response(zuora_failure(60, f"sandbox internal error: {exc!r}"), 500)
        if "Zuora-Request-Id" not in response.headers:
            response.headers["Zuora-Request-Id"] = request.environ["zuora.request_id"]
        return response

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == "/oauth/token":
            return self._token(request) if method == "POST" else _not_allowed()
        if not (path.startswith("/v1/") or path.startswith("/object-query/")):
            return _no_route()
        if not self._authorized(request):
            return json_response({"message": "Authentication error"}, 401)
        if path == ORDERS:
            return self._idempotent(request, self._create_order) if method == "POST" else _not_allowed()
        if path == ACCOUNTS:
            return self._idempotent(request, self._create_account) if method == "POST" else _not_allowed()
        if path.startswith(ACCOUNTS + "/") and path.count("/") == 3:
            return self._account_by_key(request, path.rsplit("/", 1)[1])
        if path == OBJECT_QUERY_ACCOUNTS:
            return self._query_accounts(request) if method == "GET" else _not_allowed()
        return _no_route()

    def refuse(self, request: Request, fault: Fault) -> Response:
        """A refusal Zuora processed: like any processed answer, kept under the POST's Idempotency-Key."""

        def answer(_: Request) -> Response:
            return json_response(fault.body, fault.status, dict(fault.headers))

        if request.method == "POST" and request.path in (ORDERS, ACCOUNTS):
            return self._idempotent(request, answer)
        return answer(request)

    # --- OAuth -------------------------------------------------------------------------------
    def _token(self, request: Request) -> Response:
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return json_response(
                {"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}, 400
            )
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return json_response({"error": "invalid_client", "error_description": "Bad client credentials"}, 401)
        token = uuid.uuid4().hex
        self.issued_credentials.append(token)
        with self.lock:
            self.tokens[token] = time.monotonic() + self.token_ttl
        scope = f"user.{uuid.uuid4().hex} entity.{uuid.uuid4()} service.echo.read tenant.9999"
        body = {"access_token": token, "token_type": "bearer", "expires_in": self.token_ttl, "scope": scope}
        return json_response({**body, "jti": uuid.uuid4().hex})

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        with self.lock:
            expires = self.tokens.get(token.strip())
        return expires is not None and expires > time.monotonic()

    # --- idempotency ---------------------------------------------------------------------------
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

    # --- validation ----------------------------------------------------------------------------
    def _validated_body(self, request: Request, method: str, template: str, object_code: str) -> dict[str, Any]:
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError as exc:
            raise _RejectedError(90, f"Malformed JSON request body: {exc}", object_code) from exc
        violations = find_violations(method, template, body, strict=self.strict_fields)
        if violations:
            with self.lock:
                self.schema_violations.append((f"{method} {template}", [str(v) for v in violations]))
            raise _RejectedError.for_violations(violations, object_code)
        return dict(body)

    # --- Create Order --------------------------------------------------------------------------
    def _create_order(self, request: Request) -> Response:
        try:
            body = self._validated_body(request, "POST", ORDERS, RESOURCE_ORDER)
            with self.lock, self._all_or_nothing():
                result = self._apply_order(body)
        except _RejectedError as rejected:
            return json_response(rejected.body)
        if uses_subscriptions_field(request.headers.get("Zuora-Version")):
            numbers = result.pop("subscriptionNumbers")
            result["subscriptions"] = [{"subscriptionNumber": n, "status": "Active"} for n in numbers]
        return json_response(result)

    def _apply_order(self, body: dict[str, Any]) -> dict[str, Any]:
        has_new, existing = "newAccount" in body, body.get("existingAccountNumber")
        if has_new == bool(existing):
            raise _RejectedError(20, "Specify exactly one of 'newAccount' and 'existingAccountNumber'.")
        plans = [_create_subscription_actions(item) for item in body["subscriptions"]]
        order_number = body.get("orderNumber") or self._next("order", "O-{:08d}", self.orders)
        if order_number in self.orders:
            raise _RejectedError(20, f"The order number {order_number} already exists.")
        if existing:
            account = self.accounts.get(existing)
            if account is None:
                raise _RejectedError(40, f"Cannot find entity by key: '{existing}'.")
        else:
            account = self._new_account(body["newAccount"])
        numbers = [self._new_subscription(account, order_number, item, action) for item, action in plans]
        self.orders[order_number] = {
            "orderNumber": order_number,
            "accountNumber": account["accountNumber"],
            "orderDate": body["orderDate"],
            "status": "Completed",
            "subscriptionNumbers": numbers,
            "processingOptions": body.get("processingOptions", {}),
            "createdDate": _now(),
            "request": body,
        }
        result: dict[str, Any] = {
            "success": True,
            "orderNumber": order_number,
            "accountNumber": account["accountNumber"],
        }
        result.update(self._billing_outputs(body.get("processingOptions", {})))
        result.update({"status": "Completed", "subscriptionNumbers": numbers})
        return result

    def _billing_outputs(self, options: dict[str, Any]) -> dict[str, Any]:
        outputs: dict[str, Any] = {}
        if options.get("runBilling"):
            outputs["invoiceNumbers"] = [self._next("invoice", "INV{:08d}", {})]
            if options.get("collectPayment"):
                outputs["paymentNumber"] = self._next("payment", "P-{:08d}", {})
        return outputs

    def _new_subscription(
        self, account: dict[str, Any], order_number: str, item: dict[str, Any], action: dict[str, Any]
    ) -> str:
        create = action["createSubscription"]
        number = create.get("subscriptionNumber") or item.get("subscriptionNumber")
        number = number or self._next("subscription", "A-S{:08d}", self.subscriptions)
        if number in self.subscriptions:
            raise _RejectedError(20, f"The subscription number {number} already exists.")
        self.subscriptions[number] = {
            "id": uuid.uuid4().hex,
            "subscriptionNumber": number,
            "accountNumber": account["accountNumber"],
            "accountId": account["id"],
            "orderNumber": order_number,
            "status": "Active",
            "triggerDates": {t.get("name"): t.get("triggerDate") for t in action.get("triggerDates", [])},
            "terms": create.get("terms", {}),
            "ratePlans": [_rate_plan(plan) for plan in create.get("subscribeToRatePlans", [])],
            "customFields": item.get("customFields", {}),
            "createdDate": _now(),
        }
        return str(number)

    # --- accounts ------------------------------------------------------------------------------
    def _new_account(self, body: dict[str, Any]) -> dict[str, Any]:
        number = body.get("accountNumber") or self._next("account", "A{:08d}", self.accounts)
        if number in self.accounts:
            raise _RejectedError(20, f"The account number {number} is invalid or already exists.", RESOURCE_ACCOUNT)
        bill_to = dict(body.get("billToContact") or {})
        sold_to = dict(body.get("soldToContact") or bill_to)
        now = _now()
        account = {key: value for key, value in body.items() if key not in _ACCOUNT_RESERVED}
        account.update(
            {
                "id": uuid.uuid4().hex,
                "accountNumber": number,
                "status": "Active",
                "billCycleDay": body.get("billCycleDay", 0),
                "autoPay": body.get("autoPay", False),
                "batch": body.get("batch", "Batch1"),
                "crmId": body.get("crmId"),
                "billToContact": {"id": uuid.uuid4().hex, **bill_to},
                "soldToContact": {"id": uuid.uuid4().hex, **sold_to},
                "paymentMethodId": body.get("hpmCreditCardPaymentMethodId"),
                "createdDate": now,
                "updatedDate": now,
            }
        )
        self.accounts[number] = account
        return account

    def _create_account(self, request: Request) -> Response:
        try:
            body = self._validated_body(request, "POST", ACCOUNTS, RESOURCE_ACCOUNT)
            if "subscription" in body:
                raise _RejectedError(45, "The sandbox does not create subscriptions through Create Account.")
            with self.lock:
                account = self._new_account(body)
        except _RejectedError as rejected:
            return json_response(rejected.body)
        result = {
            "success": True,
            "accountId": account["id"],
            "accountNumber": account["accountNumber"],
            "billToContactId": account["billToContact"]["id"],
            "soldToContactId": account["soldToContact"]["id"],
        }
        if account["paymentMethodId"]:
            result["paymentMethodId"] = account["paymentMethodId"]
        return json_response(result)

    def _account_by_key(self, request: Request, key: str) -> Response:
        if request.method not in ("GET", "PUT"):
            return _not_allowed()
        account = self.find_account(key)
        if account is None:
            return json_response(zuora_failure(40, f"Cannot find entity by key: '{key}'.", RESOURCE_ACCOUNT))
        if request.method == "GET":
            with self.lock:
                return json_response(_account_detail(account))
        try:
            body = self._validated_body(request, "PUT", ACCOUNT_KEY, RESOURCE_ACCOUNT)
        except _RejectedError as rejected:
            return json_response(rejected.body)
        with self.lock:
            _update_account(account, body)
        return json_response({"success": True})

    # --- Object Query ----------------------------------------------------------------------------
    def _query_accounts(self, request: Request) -> Response:
        try:
            predicates = [_parse_filter(text) for text in request.args.getlist("filter[]")]
            page_size = _page_size(request.args.get("pageSize"))
            start = int(request.args.get("cursor") or 0)
        except ValueError as exc:
            return json_response(zuora_failure(20, str(exc)), 400)
        with self.lock:
            rows = [_query_row(a) for a in self.accounts.values() if all(p(a) for p in predicates)]
        body: dict[str, Any] = {"data": rows[start : start + page_size]}
        if start + page_size < len(rows):
            body["nextPage"] = str(start + page_size)
        return json_response(body)

    # --- helpers -------------------------------------------------------------------------------
    @contextmanager
    def _all_or_nothing(self) -> Iterator[None]:
        saved = (dict(self.accounts), dict(self.subscriptions), dict(self.orders), dict(self._counters))
        try:
            yield
        except _RejectedError:
            self.accounts, self.subscriptions, self.orders, self._counters = saved
            raise

    def _next(self, kind: str, pattern: str, taken: dict[str, Any]) -> str:
        while True:
            self._counters[kind] = self._counters.get(kind, 0) + 1
            candidate = pattern.format(self._counters[kind])
            if candidate not in taken:
                return candidate


def _create_subscription_actions(item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    actions = item.get("orderActions", [])
    if len(actions) != 1 or actions[0].get("type") != "CreateSubscription" or "createSubscription" not in actions[0]:
        raise _RejectedError(45, "The sandbox supports exactly one CreateSubscription order action per subscription.")
    return item, actions[0]


def _rate_plan(plan: dict[str, Any]) -> dict[str, Any]:
    overrides = plan.get("chargeOverrides", [])
    quantities = [
        pricing["quantity"]
        for override in overrides
        for pricing in override.get("pricing", {}).values()
        if isinstance(pricing, dict) and "quantity" in pricing
    ]
    return {
        "productRatePlanId": plan["productRatePlanId"],
        "quantity": quantities[0] if quantities else None,
        "chargeOverrides": overrides,
    }


def _update_account(account: dict[str, Any], body: dict[str, Any]) -> None:
    for key in ("billToContact", "soldToContact"):
        if key in body:
            account[key] = {**account[key], **body[key]}
    account.update({key: value for key, value in body.items() if key not in ("billToContact", "soldToContact")})
    account["updatedDate"] = _now()


def _contact_out(contact: dict[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in contact.items() if key != "postalCode"}
    out["zipCode"] = contact.get("zipCode", contact.get("postalCode"))
    return out


def _account_detail(account: dict[str, Any]) -> dict[str, Any]:
    basic_keys = ("id", "accountNumber", "name", "crmId", "status", "batch", "notes", "salesRep", "parentId")
    basic = {key: account.get(key) for key in basic_keys}
    basic.update({key: value for key, value in account.items() if key.endswith("__c")})
    return {
        "basicInfo": basic,
        "billingAndPayment": {
            "billCycleDay": account["billCycleDay"],
            "currency": account["currency"],
            "paymentTerm": account.get("paymentTerm", "Due Upon Receipt"),
            "invoiceDeliveryPrefsEmail": account.get("invoiceDeliveryPrefsEmail", False),
            "invoiceDeliveryPrefsPrint": account.get("invoiceDeliveryPrefsPrint", False),
        },
        "billToContact": _contact_out(account["billToContact"]),
        "soldToContact": _contact_out(account["soldToContact"]),
        "metrics": {"balance": 0, "contractedMrr": 0, "creditBalance": 0, "totalInvoiceBalance": 0},
        "success": True,
    }


def _query_row(account: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": account["id"],
        "accountNumber": account["accountNumber"],
        "name": account["name"],
        "currency": account["currency"],
        "crmId": account.get("crmId"),
        "status": account["status"],
        "billCycleDay": account["billCycleDay"],
        "autoPay": account["autoPay"],
        "batch": account["batch"],
        "balance": 0.0,
        "billToId": account["billToContact"]["id"],
        "soldToId": account["soldToContact"]["id"],
        "defaultPaymentMethodId": account.get("paymentMethodId"),
        "createdDate": account["createdDate"],
        "updatedDate": account["updatedDate"],
    }


def _parse_filter(text: str) -> Callable[[dict[str, Any]], bool]:
    match = _FILTER.match(text)
    if not match:
        raise ValueError(f"Invalid filter[] clause '{text}': expected <field>.<EQ|NE|IN|SW>:<value>.")
    name = _FILTER_FIELDS.get(match["field"].lower())
    if name is None:
        raise ValueError(
            f"Field '{match['field']}' cannot be used in filter[] (sandbox supports {sorted(_FILTER_FIELDS)})."
        )
    op, value = match["op"], match["value"]
    options = [v.strip() for v in value.strip("[]").split(",")] if op == "IN" else []
    tests: dict[str, Callable[[Any], bool]] = {
        "EQ": lambda actual: actual == value,
        "NE": lambda actual: actual != value,
        "IN": lambda actual: actual in options,
        "SW": lambda actual: isinstance(actual, str) and actual.startswith(value),
    }
    test = tests[op]
    return lambda account: test(account.get(name))


def _page_size(text: str | None) -> int:
    size = int(text) if text else 10
    if not 1 <= size <= 99:
        raise ValueError("pageSize must be between 1 and 99.")
    return size


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _not_allowed() -> Response:
    return json_response({"message": "Method Not Allowed"}, 405)


def _no_route() -> Response:
    return json_response({"message": "no Route matched with those values"}, 404)
