"""`ZuoraSim`: the simulated tenant's Python API, OAuth and request routing.

- ``POST /oauth/token`` (form-encoded client credentials) issues bearer tokens valid ``token_ttl``
  seconds; ``/v1/*``, ``/object-query/*`` and ``/query/jobs`` need one, else 401 ``{"message": "Authentication
  error"}``; Data Query's result files (``data_query``) are pre-signed URLs instead. API answers carry
  ``RateLimit-*`` headers; ``throttle`` refuses some with 429, and ``limit_concurrency`` those beyond k in
  flight (``rate_limits``).
  A wrong client id/secret answers 401 ``{"error": "invalid_client", ...}`` (RFC 6749 5.2; Zuora
  documents no body for it).
- Every response carries a fresh ``Zuora-Request-Id`` (uuid) and echoes ``Zuora-Track-Id``. The
  received ``Zuora-Track-Id`` / ``Zuora-Version`` headers are in the core call log (``sim.calls``).

Issued tokens survive ``reset()``; ``expire_tokens()`` invalidates them.
"""

from __future__ import annotations

import re
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.core import Fault, json_response
from sandbox.zuora import payment_methods as methods
from sandbox.zuora.accounts import ACCOUNTS, PAYMENT_METHODS
from sandbox.zuora.catalog import Catalog, ChargeSpec, RatePlanSpec
from sandbox.zuora.catalog_api import (
    OBJECT_QUERY_ACCOUNTS,
    OBJECT_QUERY_RATE_PLANS,
    RATE_PLANS_BY_EXTERNAL_ID,
    CatalogApi,
)
from sandbox.zuora.data_query import DATA_QUERY_FILES, QUERY_JOBS, DataQueryApi
from sandbox.zuora.errors import RejectedError, zuora_failure
from sandbox.zuora.idempotency import IDEMPOTENCY_TTL, IdempotentRequests
from sandbox.zuora.orders import ORDERS
from sandbox.zuora.rate_limits import RateLimits
from sandbox.zuora.state import not_allowed
from sandbox.zuora.subscriptions import SUBSCRIPTIONS, SubscriptionsApi
from sandbox.zuora.tenant import SANDBOX_TENANT

# What Zuora's concurrent request limits count: API requests, not logins (OAuth tokens) or Data Query's result files
# (pre-signed S3 URLs here).
_LIMITED_PATHS = ("/v1/", "/object-query/", QUERY_JOBS)


class ZuoraSim(SubscriptionsApi, CatalogApi, IdempotentRequests, DataQueryApi, RateLimits):
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
        self.idempotency_ttl = IDEMPOTENCY_TTL
        self.tokens: dict[str, float] = {}
        self.issued_credentials: list[str] = []  # every access token ever issued (survives expiry): log audits
        self.reset_state()

    # --- Python API --------------------------------------------------------------------------
    def reset_state(self) -> None:
        """Forget all data, then load the sandbox tenant's catalog and orphan payment methods (SANDBOX_TENANT)."""
        with self.lock:
            self.accounts = {}
            self.subscriptions = {}
            self.orders = {}
            self.payment_methods = {}
            self.invoices = {}
            self.payments = {}
            self.catalog = Catalog()
            self.schema_violations = []
            self.idempotency = {}
            self._counters = {}
            self.data_query_jobs, self.data_query_files, self.data_query_polls = {}, {}, 2
            self._reset_rate_limits()
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
            except RejectedError as rejected:
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
        `product_id`). Rate plans and charges are ``RatePlanSpec`` / ``ChargeSpec`` dicts (``sandbox.zuora.catalog``),
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

        if not str(environ.get("PATH_INFO", "")).startswith(_LIMITED_PATHS):
            return super().wsgi_app(environ, start)
        ticket = self._admit()
        if ticket is None:  # answered at once, without processing: nothing is stored under an Idempotency-Key
            request = Request(environ)
            body = request.get_data(cache=True)
            refusal = self._concurrency_refusal()
            self._record(request, body, refusal.status_code)
            return refusal(environ, start)
        try:
            return super().wsgi_app(environ, start)
        finally:
            self._release(ticket)

    def handle(self, request: Request) -> Response:
        try:
            response = self._route(request)
        except Exception as exc:
            response = json_response(zuora_failure(60, f"sandbox internal error: {exc!r}"), 500)
        if "Zuora-Request-Id" not in response.headers:
            response.headers["Zuora-Request-Id"] = request.environ["zuora.request_id"]
        if request.path != "/oauth/token" and not request.path.startswith(DATA_QUERY_FILES + "/"):
            for name, value in self._rate_limit_headers().items():
                response.headers.setdefault(name, value)
        return response

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == "/oauth/token":
            return self._token(request) if method == "POST" else not_allowed()
        if path.startswith(DATA_QUERY_FILES + "/"):  # a pre-signed S3 URL: no bearer token
            return self._data_query_file(request, path.rsplit("/", 1)[1]) if method == "GET" else not_allowed()
        if not path.startswith(("/v1/", "/object-query/", QUERY_JOBS)):
            return _no_route()
        if not self._authorized(request):
            return json_response({"message": "Authentication error"}, 401)
        throttled = self._count_api_request()
        if throttled is not None:
            return throttled
        if path == QUERY_JOBS or path.startswith(QUERY_JOBS + "/"):
            return self._data_query(request)
        if path == ORDERS:
            return self._idempotent(request, self._create_order) if method == "POST" else not_allowed()
        if path == ACCOUNTS:
            return self._idempotent(request, self._create_account) if method == "POST" else not_allowed()
        if path.startswith(ACCOUNTS + "/") and path.count("/") == 3:
            return self._account_by_key(request, path.rsplit("/", 1)[1])
        if path.startswith(PAYMENT_METHODS + "/") and path.count("/") == 3:
            return self._payment_method(path.rsplit("/", 1)[1]) if method == "GET" else not_allowed()
        if path.startswith(RATE_PLANS_BY_EXTERNAL_ID + "/") and path.count("/") == 4:
            return self._rate_plans_by_external_id(path.rsplit("/", 1)[1]) if method == "GET" else not_allowed()
        if path.startswith(SUBSCRIPTIONS + "/"):
            return self._subscriptions_route(path) if method == "GET" else not_allowed()
        if path in (OBJECT_QUERY_ACCOUNTS, OBJECT_QUERY_RATE_PLANS) or (
            path.startswith(OBJECT_QUERY_RATE_PLANS + "/") and path.count("/") == 3
        ):
            return self._object_query(request) if method == "GET" else not_allowed()
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


def _no_route() -> Response:
    return json_response({"message": "no Route matched with those values"}, 404)
