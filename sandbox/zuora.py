"""Zuora simulator: OAuth, Create Order, accounts, payment methods, product catalog, Object Query, idempotency.

Wire behaviour follows Zuora's v1 API documentation:

- ``POST /oauth/token`` (form-encoded client credentials) issues bearer tokens valid ``token_ttl``
  seconds; ``/v1/*`` and ``/object-query/*`` need one, else 401 ``{"message": "Authentication error"}``.
  A wrong client id/secret answers 401 ``{"error": "invalid_client", ...}`` (RFC 6749 5.2; Zuora
  documents no body for it).
- Every response carries a fresh ``Zuora-Request-Id`` (uuid) and echoes ``Zuora-Track-Id``. The
  received ``Zuora-Track-Id`` / ``Zuora-Version`` headers are in the core call log (``sim.calls``).
- Business errors are HTTP 200 ``{"success": false, "processId", "reasons": [{"code", "message"}]}``
  with an 8-digit code: 6-digit resource code + 2-digit category (20 invalid value, 21 unknown field,
  22 missing required field, 30 rule restriction, 40 not found, 45 unsupported, 90 malformed request;
  developer.zuora.com guide "Error codes"). The resource code is always ``500000``, which Zuora documents
  for "an unknown object and an unknown field".
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

Product catalog (``sandbox.zuora_catalog``; reset to ``SANDBOX_TENANT``):

- ``GET /object-query/product-rate-plans`` (``filter[]`` on ``id``, ``productId``, ``name``,
  ``productRatePlanNumber``; ``pageSize``/``cursor``) and ``GET /object-query/product-rate-plans/{key}`` (id or
  ``PRP-`` number), with ``expand[]`` ``product``, ``productrateplancharges``,
  ``productrateplancharges.productrateplanchargetiers`` and ``externalproductrateplans``; without the expand no
  charges. Filter, paging and expand rules: ``sandbox.zuora_object_query``; shapes: ``sandbox.zuora_catalog``.
  An unknown key answers 404 (see ``_rate_plan_by_key``). Object Query has no filter on the externally managed
  plan id; ``GET /v1/product-rate-plans/external-id/{externalId}`` lists the plans carrying it.

Payment methods:

- A payment method without an account is an orphan, what Zuora's hosted payment page creates. ``GET
  /v1/payment-methods/{payment-method-id}`` answers it (``accountKey`` is the owning account's id, null for an
  orphan), else category 40.
- ``newAccount.hpmCreditCardPaymentMethodId`` (Create Order) / ``hpmCreditCardPaymentMethodId`` (Create Account)
  becomes the new account's default payment method ("The payment method specified for this field will be set as
  the default payment method of the account"); ``creditCard`` / ``paymentMethod`` create one. With ``autoPay:
  true`` one of them is required, and ``hpmCreditCardPaymentMethodId`` and ``creditCard`` not both (published
  schema, ``hpmCreditCardPaymentMethodId``); Create Account also refuses them with ``autoPay: false`` (its
  ``autoPay`` description). ``processingOptions.electronicPaymentOptions.paymentMethodId`` may be the account's
  own payment method or an orphan, which the order then associates with the account (published schema) without
  making it the default (Knowledge Center "Using Z-Payments Page with Zuora": for an existing account the payment
  method "will be used for this payment" but "will not be set as the default").
- An unknown payment method id is a category 40 refusal; one that belongs to another account a category 30 one.

Create Order also refuses (nothing is kept of a refused order):

- ``collectPayment: true`` without ``runBilling: true`` ("This value can not be 'true' when 'runBilling' flag is
  'false'", published schema); category 20.
- a ``productRatePlanId`` not in the catalog (40); a ``chargeOverrides[].productRatePlanChargeId`` that is no
  charge of that rate plan (20); a pricing override of another charge model or type, e.g. ``recurringPerUnit`` on a
  flat fee or on a one-time charge (20); a rate plan with a charge priced in no tier of the account's currency (30).
- ``collectPayment`` with an amount due and no payment method to charge: neither
  ``electronicPaymentOptions.paymentMethodId`` nor a default payment method on the account. Zuora answers "To
  collect payment, the customer account must have a default payment method." (quoted from a Create Order failure
  in gitlab-org/customers-gitlab-com issue 4712); category 30.

What an order did: each subscription records its rate plans and each charge's quantity (the override's, else the
catalog's ``defaultQuantity``, else 1 for per-unit, tiered and volume charges; none for flat fees and usage).
``runBilling`` records an invoice in ``invoices`` (amounts: ``Charge.amount``), ``collectPayment`` a payment in
``payments`` with the payment method charged (the electronic payment option, else the account's default).

Issued tokens survive ``reset()``; ``expire_tokens()`` invalidates them.
"""

from __future__ import annotations

import hashlib
import json
import re
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox import zuora_payment_methods as methods
from sandbox.core import Fault, SimServer, json_response
from sandbox.zuora_catalog import SANDBOX_TENANT, Catalog, CatalogRefusalError, ChargeSpec, RatePlanSpec, money
from sandbox.zuora_object_query import QueryError, include_nulls, parse_expand, parse_list_query, shape
from sandbox.zuora_openapi import Violation, find_violations

IDEMPOTENCY_TTL = 24 * 3600
ORDERS = "/v1/orders"
ACCOUNTS = "/v1/accounts"
ACCOUNT_KEY = "/v1/accounts/{account-key}"
PAYMENT_METHODS = "/v1/payment-methods"
RATE_PLANS_BY_EXTERNAL_ID = "/v1/product-rate-plans/external-id"
OBJECT_QUERY_ACCOUNTS = "/object-query/accounts"
OBJECT_QUERY_RATE_PLANS = "/object-query/product-rate-plans"
RESOURCE_ORDER = "500000"
RESOURCE_ACCOUNT = "500000"
_CATEGORY_OF_KIND = {"invalid": 20, "unknown": 21, "required": 22}
_ACCOUNT_FILTERS = {
    "id": "id",
    "accountnumber": "accountNumber",
    "crmid": "crmId",
    "currency": "currency",
    "status": "status",
}
_RATE_PLAN_FILTERS = {
    "id": "id",
    "productid": "productId",
    "name": "name",
    "productrateplannumber": "productRatePlanNumber",
}
# The externally managed plan id is no field of the Object Query product rate plan (sandbox.zuora_catalog).
_EXTERNAL_ID_NOT_FILTERABLE = (
    "The product rate plan has no field '{}' in Object Query: the externally managed plan id is the related "
    "ExternalProductRatePlan (expand[]=externalproductrateplans); "
    "GET /v1/product-rate-plans/external-id/{{externalId}} lists the rate plans carrying one."
)
_RATE_PLAN_NOT_FILTERABLE = {
    name.lower(): _EXTERNAL_ID_NOT_FILTERABLE.format(name)
    for name in ("externallyManagedPlanId", "externallyManagedPlanIds", "externalProductRatePlanId")
}
_RATE_PLAN_EXPANSIONS = (
    "product",
    "productrateplancharges",
    "productrateplancharges.productrateplanchargetiers",
    "externalproductrateplans",
)
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
    """Loopback Zuora. State is plain dicts keyed by number or id (the catalog is ``catalog``); guard reads with
    ``sim.lock``."""

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
        """Forget all data, then load the sandbox tenant's catalog and orphan payment methods (SANDBOX_TENANT)."""
        with self.lock:
            self.accounts: dict[str, dict[str, Any]] = {}
            self.subscriptions: dict[str, dict[str, Any]] = {}
            self.orders: dict[str, dict[str, Any]] = {}
            self.payment_methods: dict[str, dict[str, Any]] = {}
            self.invoices: dict[str, dict[str, Any]] = {}
            self.payments: dict[str, dict[str, Any]] = {}
            self.catalog = Catalog()
            self.schema_violations: list[tuple[str, list[str]]] = []
            self.idempotency: dict[tuple[str, str], _Stored] = {}
            self._counters: dict[str, int] = {}
            for product in SANDBOX_TENANT.products:
                self.catalog.add_product(product)
            for payment_method_id in SANDBOX_TENANT.orphan_payment_methods:
                self._new_payment_method(payment_method_id)

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
        with_payment_method: bool = True,
        **fields: Any,
    ) -> str:
        """Create an account directly (no HTTP); returns its account number. Unless `with_payment_method` is
        False the account gets a fresh credit card as default payment method, like an account a past checkout
        created, so that orders against it can collect payment."""
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
            if with_payment_method:
                self._make_default(account, self._new_payment_method())
        return str(account["accountNumber"])

    def seed_product(
        self,
        name: str,
        sku: str | None = None,
        rate_plans: Sequence[RatePlanSpec] = (),
        *,
        product_id: str | None = None,
        description: str | None = None,
    ) -> str:
        """Add a product and its rate plans to the catalog (no HTTP); returns the product id (32-hex unless
        `product_id`). Rate plans and charges are ``RatePlanSpec`` / ``ChargeSpec`` dicts (``sandbox.zuora_catalog``),
        e.g. ``{"name": "Basic", "charges": [{"name": "Seats", "chargeModel": "PerUnit", "chargeType": "Recurring",
        "uom": "Seat", "defaultQuantity": 1, "prices": {"USD": 10}}]}``. Raises ValueError on an invalid spec."""
        spec: Any = {"name": name, "sku": sku, "description": description, "ratePlans": list(rate_plans)}
        if product_id is not None:
            spec["id"] = product_id
        with self.lock:
            return self.catalog.add_product(spec).id

    def seed_rate_plan(
        self,
        product_name: str,
        rate_plan_id: str | None = None,
        *,
        name: str,
        charges: Sequence[ChargeSpec],
        externally_managed_plan_id: str | None = None,
        external_id_source_system: str | None = None,
        description: str | None = None,
    ) -> str:
        """Add a rate plan to the product named (or identified by) `product_name`, creating the product if there is
        none; returns the rate plan id. `externally_managed_plan_id` is what Zuora's connector for Salesforce CPQ
        sets to the Product2 Id."""
        spec: RatePlanSpec = {
            "name": name,
            "charges": list(charges),
            "description": description,
            "externallyManagedPlanId": externally_managed_plan_id,
            "externalIdSourceSystem": external_id_source_system,
        }
        if rate_plan_id is not None:
            spec["id"] = rate_plan_id
        with self.lock:
            product = self.catalog.product(product_name) or self.catalog.add_product(
                {"name": product_name, "ratePlans": []}
            )
            return self.catalog.add_rate_plan(product, spec).id

    def seed_payment_method(
        self,
        payment_method_id: str | None = None,
        *,
        account_number: str | None = None,
        type: str = "CreditCard",
        card_type: str = "Visa",
        last4: str = "1111",
        make_default: bool = True,
    ) -> str:
        """Add a payment method (no HTTP); returns its id (a fresh 32-hex id unless given). Without
        `account_number` it is an orphan, like one the hosted payment page just created; with it, it belongs to
        that account and, if `make_default`, becomes the account's default payment method."""
        with self.lock:
            if payment_method_id in self.payment_methods:
                raise ValueError(f"payment method {payment_method_id} already exists")
            account = None
            if account_number is not None:
                account = self.accounts.get(account_number)
                if account is None:
                    raise ValueError(f"no account {account_number}")
            method = self._new_payment_method(payment_method_id, type=type, card_type=card_type, last4=last4)
            if account is not None:
                methods.associate(method, account)
                if make_default:
                    self._make_default(account, method)
            return str(method["id"])

    def new_orphan_payment_method(self) -> str:
        """A fresh orphan credit card: what the hosted payment page creates for each shopper. Give each new
        customer its own, since a payment method that belongs to one account is refused for another."""
        return self.seed_payment_method()

    def find_account(self, key: str) -> dict[str, Any] | None:
        """The account whose number or id is `key`."""
        with self.lock:
            if key in self.accounts:
                return self.accounts[key]
            return next((a for a in self.accounts.values() if a["id"] == key), None)

    def subscriptions_of(self, account_number: str) -> list[dict[str, Any]]:
        """The subscriptions of an account, oldest first. Each has ``ratePlans: [{productRatePlanId,
        chargeOverrides, charges: [{productRatePlanChargeId, name, chargeType, chargeModel, quantity}]}]``."""
        with self.lock:
            return [s for s in self.subscriptions.values() if s["accountNumber"] == account_number]

    def quantities_of(self, subscription_number: str) -> dict[str, int | float | None]:
        """Charge id → quantity over all rate plans of a subscription (None: the charge takes no quantity)."""
        with self.lock:
            subscription = self.subscriptions[subscription_number]
            return {
                charge["productRatePlanChargeId"]: charge["quantity"]
                for plan in subscription["ratePlans"]
                for charge in plan["charges"]
            }

    def invoices_of(self, account_number: str) -> list[dict[str, Any]]:
        """Invoices of an account: ``{invoiceNumber, accountNumber, orderNumber, currency, amount, balance,
        items: [{subscriptionNumber, productRatePlanChargeId, chargeName, quantity, amount}]}``."""
        with self.lock:
            return [i for i in self.invoices.values() if i["accountNumber"] == account_number]

    def payments_of(self, account_number: str) -> list[dict[str, Any]]:
        """Payments collected from an account: ``{paymentNumber, accountNumber, paymentMethodId, amount, currency,
        invoiceNumber, orderNumber, status}``."""
        with self.lock:
            return [p for p in self.payments.values() if p["accountNumber"] == account_number]

    def payment_methods_of(self, account_number: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.payment_methods.values() if m["accountNumber"] == account_number]

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
        if path.startswith(PAYMENT_METHODS + "/") and path.count("/") == 3:
            return self._payment_method(path.rsplit("/", 1)[1]) if method == "GET" else _not_allowed()
        if path.startswith(RATE_PLANS_BY_EXTERNAL_ID + "/") and path.count("/") == 4:
            return self._rate_plans_by_external_id(path.rsplit("/", 1)[1]) if method == "GET" else _not_allowed()
        if path in (OBJECT_QUERY_ACCOUNTS, OBJECT_QUERY_RATE_PLANS) or (
            path.startswith(OBJECT_QUERY_RATE_PLANS + "/") and path.count("/") == 3
        ):
            return self._object_query(request) if method == "GET" else _not_allowed()
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
        options: dict[str, Any] = body.get("processingOptions") or {}
        if options.get("collectPayment") and not options.get("runBilling"):
            raise _RejectedError(
                20, "'processingOptions.collectPayment' can not be 'true' when 'runBilling' flag is 'false'."
            )
        plans = [_create_subscription_actions(item) for item in body["subscriptions"]]
        order_number = body.get("orderNumber") or self._next("order", "O-{:08d}", self.orders)
        if order_number in self.orders:
            raise _RejectedError(20, f"The order number {order_number} already exists.")
        if existing:
            account = self.accounts.get(existing)
            if account is None:
                raise _RejectedError(40, f"Cannot find entity by key: '{existing}'.")
        else:
            account = self._open_account(body["newAccount"], "newAccount", create_account=False)
        numbers = [self._new_subscription(account, order_number, item, action) for item, action in plans]
        electronic = (options.get("electronicPaymentOptions") or {}).get("paymentMethodId")
        if electronic:
            field_name = "processingOptions.electronicPaymentOptions.paymentMethodId"
            methods.associate(self._usable_payment_method(electronic, account, field_name), account)
        self.orders[order_number] = {
            "orderNumber": order_number,
            "accountNumber": account["accountNumber"],
            "orderDate": body["orderDate"],
            "status": "Completed",
            "subscriptionNumbers": numbers,
            "processingOptions": options,
            "createdDate": _now(),
            "request": body,
        }
        result: dict[str, Any] = {
            "success": True,
            "orderNumber": order_number,
            "accountNumber": account["accountNumber"],
        }
        if options.get("runBilling"):
            result.update(self._bill(account, order_number, numbers, body["orderDate"], options, electronic))
        result.update({"status": "Completed", "subscriptionNumbers": numbers})
        return result

    def _new_subscription(
        self, account: dict[str, Any], order_number: str, item: dict[str, Any], action: dict[str, Any]
    ) -> str:
        create = action["createSubscription"]
        rate_plans = [self._subscribed_rate_plan(plan, account) for plan in create.get("subscribeToRatePlans", [])]
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
            "ratePlans": rate_plans,
            "customFields": item.get("customFields", {}),
            "createdDate": _now(),
        }
        return str(number)

    def _subscribed_rate_plan(self, item: dict[str, Any], account: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.catalog.subscribe(item, account["currency"], account["accountNumber"])
        except CatalogRefusalError as refusal:
            raise _RejectedError(refusal.category, str(refusal)) from None

    def _bill(
        self,
        account: dict[str, Any],
        order_number: str,
        subscription_numbers: list[str],
        order_date: str,
        options: dict[str, Any],
        electronic_payment_method: str | None,
    ) -> dict[str, Any]:
        """The invoice of the order's subscriptions and, with collectPayment, the payment of it."""
        currency = account["currency"]
        items = [
            item
            for number in subscription_numbers
            for item in self.catalog.invoice_items(self.subscriptions[number], currency)
        ]
        total = sum((Decimal(str(item["amount"])) for item in items), Decimal(0))
        invoice_number = self._next("invoice", "INV{:08d}", self.invoices)
        self.invoices[invoice_number] = {
            "invoiceNumber": invoice_number,
            "accountNumber": account["accountNumber"],
            "orderNumber": order_number,
            "invoiceDate": order_date,
            "currency": currency,
            "amount": money(total),
            "balance": money(total),
            "status": "Posted",
            "items": items,
        }
        outputs: dict[str, Any] = {"invoiceNumbers": [invoice_number]}
        if options.get("collectPayment") and total > 0:
            method_id = electronic_payment_method or account.get("defaultPaymentMethodId")
            if not method_id:
                raise _RejectedError(30, methods.COLLECT_NEEDS_PAYMENT_METHOD)
            outputs["paymentNumber"] = self._collect(account, invoice_number, str(method_id))
        return outputs

    def _collect(self, account: dict[str, Any], invoice_number: str, payment_method_id: str) -> str:
        invoice = self.invoices[invoice_number]
        number = self._next("payment", "P-{:08d}", self.payments)
        self.payments[number] = {
            "paymentNumber": number,
            "accountNumber": account["accountNumber"],
            "paymentMethodId": payment_method_id,
            "amount": invoice["amount"],
            "currency": invoice["currency"],
            "invoiceNumber": invoice_number,
            "orderNumber": invoice["orderNumber"],
            "status": "Processed",
            "createdDate": _now(),
        }
        invoice["balance"] = 0.0
        method = self.payment_methods[payment_method_id]
        method["totalNumberOfProcessedPayments"] += 1
        method["lastTransaction"] = "Approved"
        return number

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
                "defaultPaymentMethodId": None,
                "createdDate": now,
                "updatedDate": now,
            }
        )
        self.accounts[number] = account
        return account

    def _open_account(self, body: dict[str, Any], where: str, *, create_account: bool) -> dict[str, Any]:
        """A new account (Create Order's newAccount, Create Account's body) whose default payment method is the one
        its body names or describes (``sandbox.zuora_payment_methods.new_account_problem`` has the rules)."""
        problem = methods.new_account_problem(body, where, create_account=create_account)
        if problem:
            raise _RejectedError(20, problem)
        hpm = body.get("hpmCreditCardPaymentMethodId")
        field_name = f"{where}.hpmCreditCardPaymentMethodId" if where else "hpmCreditCardPaymentMethodId"
        orphan = self._usable_payment_method(hpm, None, field_name) if hpm else None
        account = self._new_account(body)
        described = methods.described(body)
        if orphan is None and described is not None:
            orphan = self._new_payment_method(**described)
        if orphan is not None:
            self._make_default(account, orphan)
        return account

    def _create_account(self, request: Request) -> Response:
        try:
            body = self._validated_body(request, "POST", ACCOUNTS, RESOURCE_ACCOUNT)
            if "subscription" in body:
                raise _RejectedError(45, "The sandbox does not create subscriptions through Create Account.")
            with self.lock, self._all_or_nothing():
                account = self._open_account(body, "", create_account=True)
        except _RejectedError as rejected:
            return json_response(rejected.body)
        result = {
            "success": True,
            "accountId": account["id"],
            "accountNumber": account["accountNumber"],
            "billToContactId": account["billToContact"]["id"],
            "soldToContactId": account["soldToContact"]["id"],
        }
        if account["defaultPaymentMethodId"]:
            result["paymentMethodId"] = account["defaultPaymentMethodId"]
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

    # --- payment methods -------------------------------------------------------------------------
    def _new_payment_method(
        self,
        payment_method_id: str | None = None,
        *,
        type: str = "CreditCard",
        card_type: str = "Visa",
        last4: str = "1111",
    ) -> dict[str, Any]:
        method = methods.new_payment_method(
            payment_method_id or uuid.uuid4().hex, type=type, card_type=card_type, last4=last4
        )
        self.payment_methods[method["id"]] = method
        return method

    def _usable_payment_method(
        self, payment_method_id: str, account: dict[str, Any] | None, field_name: str
    ) -> dict[str, Any]:
        """The payment method `field_name` names, if it is an orphan or already `account`'s."""
        method = self.payment_methods.get(payment_method_id)
        if method is None:
            raise _RejectedError(40, f"Cannot find payment method '{payment_method_id}' given in '{field_name}'.")
        if methods.owned_by_another(method, account):
            raise _RejectedError(
                30, f"The payment method {payment_method_id} given in '{field_name}' belongs to another account."
            )
        return method

    def _make_default(self, account: dict[str, Any], method: dict[str, Any]) -> None:
        methods.associate(method, account)
        account["defaultPaymentMethodId"] = method["id"]

    def _payment_method(self, payment_method_id: str) -> Response:
        with self.lock:
            method = self.payment_methods.get(payment_method_id)
            if method is None:
                return json_response(zuora_failure(40, f"Cannot find entity by key: '{payment_method_id}'."))
            owner = self.accounts.get(method["accountNumber"] or "")
            return json_response(methods.detail(method, owner))

    # --- product catalog -------------------------------------------------------------------------
    def _rate_plans_by_external_id(self, external_id: str) -> Response:
        """ "List product rate plans by external ID" (an id nobody carries: an empty list)."""
        with self.lock:
            plans = [self.catalog.external_id_row(p) for p in self.catalog.rate_plans_by_external_id(external_id)]
        return json_response({"success": True, "productRatePlans": plans})

    # --- Object Query ----------------------------------------------------------------------------
    def _object_query(self, request: Request) -> Response:
        try:
            if request.path == OBJECT_QUERY_ACCOUNTS:
                query = parse_list_query(request.args, _ACCOUNT_FILTERS)
                with self.lock:
                    rows = [_query_row(a) for a in self.accounts.values()]
                return json_response(query.page([row for row in rows if query.matches(row)]))
            if request.path == OBJECT_QUERY_RATE_PLANS:
                query = parse_list_query(
                    request.args, _RATE_PLAN_FILTERS, _RATE_PLAN_EXPANSIONS, _RATE_PLAN_NOT_FILTERABLE
                )
                with self.lock:
                    rows = [self.catalog.rate_plan_row(p, query.expand) for p in self.catalog.rate_plans.values()]
                return json_response(query.page([row for row in rows if query.matches(row)]))
            return self._rate_plan_by_key(request, request.path.rsplit("/", 1)[1])
        except QueryError as exc:
            return json_response(zuora_failure(20, str(exc)), 400)

    def _rate_plan_by_key(self, request: Request, key: str) -> Response:
        """Object Query "Retrieve a product rate plan". Zuora documents only 200/400/401/403 for it (SDK
        2025-08-12); an unknown key answers 404, the status of a missing resource, with the v1 error body and
        category 40 ("Not found", guide "Error codes"), the body the other simulated errors have."""
        expand = parse_expand(request.args.getlist("expand[]"), _RATE_PLAN_EXPANSIONS)
        with self.lock:
            plan = self.catalog.rate_plan(key)
            row = None if plan is None else self.catalog.rate_plan_row(plan, expand)
        if row is None:
            return json_response(zuora_failure(40, f"Cannot find entity by key: '{key}'."), 404)
        return json_response(shape(row, include_nulls(request.args)))

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
        except _RejectedError:
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


def _create_subscription_actions(item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    actions = item.get("orderActions", [])
    if len(actions) != 1 or actions[0].get("type") != "CreateSubscription" or "createSubscription" not in actions[0]:
        raise _RejectedError(45, "The sandbox supports exactly one CreateSubscription order action per subscription.")
    return item, actions[0]


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
            "autoPay": account["autoPay"],
            # in the 2025-08-12 model (AccountBillingAndPayment), not in the 2021 document
            "defaultPaymentMethodId": account.get("defaultPaymentMethodId"),
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
        "defaultPaymentMethodId": account.get("defaultPaymentMethodId"),
        "createdDate": account["createdDate"],
        "updatedDate": account["updatedDate"],
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _not_allowed() -> Response:
    return json_response({"message": "Method Not Allowed"}, 405)


def _no_route() -> Response:
    return json_response({"message": "no Route matched with those values"}, 404)
