"""Zuora gateway: OAuth token cache, pinned Zuora-Version, Track-Id, success:false handling, safe retries."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import requests

from sfzsync.catalog import CatalogCharge, CatalogRatePlan
from sfzsync.errors import UpstreamError
from sfzsync.gateways.transport import (
    TimeoutSession,
    backoff_delay,
    current_track_id,
    parse_retry_after,
    time_allows,
    transport_error,
)
from sfzsync.gateways.zuora_subscriptions import ZuoraSubscription, parse_subscription
from sfzsync.observability import logger, metrics, tracer
from sfzsync.settings import ZuoraSettings

TOKEN_REFRESH_MARGIN_SECONDS = 60
MAX_ATTEMPTS = 3
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
# Last two digits of Zuora's 8-digit error codes: 50 lock contention, 61 temporary error, 70 limit exceeded.
RETRYABLE_CATEGORIES = frozenset({"50", "61", "70"})
# A 429 is answered before Zuora does anything (its concurrent request limit, code 50000070, or the minute's rate
# quota: developer.zuora.com, "Rate and concurrent request limits"), so repeating it is always safe, and a concurrency
# slot frees as soon as any request in flight is answered. Under a burst it is tried again within the invocation, up
# to THROTTLED_ATTEMPTS times and THROTTLED_WAIT_SECONDS of waiting in all, each time after Retry-After (at most
# backoff_delay's 4 s) plus up to a quarter more, so that the calls refused together do not all come back together.
THROTTLED_ATTEMPTS = 8
THROTTLED_WAIT_SECONDS = 8.0


@dataclass(frozen=True)
class ZuoraAccount:
    account_id: str
    account_number: str
    currency: str
    status: str
    crm_id: str | None = None
    default_payment_method_id: str | None = None


@dataclass(frozen=True)
class PaymentMethod:
    payment_method_id: str
    account_id: str | None  # None: an orphan, as Zuora's hosted payment page creates it
    status: str


@dataclass(frozen=True)
class OrderResult:
    order_number: str
    account_number: str
    status: str
    subscription_numbers: list[str]


class ZuoraGateway(Protocol):
    def find_accounts_by_crm_id(self, crm_id: str) -> list[ZuoraAccount]: ...

    def get_account(self, account_key: str) -> ZuoraAccount | None:
        """The billing account by number or id; None if Zuora has no such account."""
        ...

    def get_rate_plan(self, rate_plan_id: str) -> CatalogRatePlan | None:
        """A product rate plan with its charges and their currencies; None if the catalog has no such plan."""
        ...

    def get_payment_method(self, payment_method_id: str) -> PaymentMethod | None:
        """A payment method and the account it belongs to; None if Zuora has no such payment method."""
        ...

    def create_order(self, body: dict[str, Any], idempotency_key: str) -> OrderResult: ...

    def create_account(self, body: dict[str, Any], idempotency_key: str) -> ZuoraAccount: ...

    def update_account(self, account_key: str, body: dict[str, Any], stage: str = "zuora_account") -> None: ...


class ZuoraButtonGateway(Protocol):
    """What the Send to Zuora button needs of Zuora: accounts, the catalog, orders, and subscriptions."""

    def find_accounts_by_crm_id(self, crm_id: str) -> list[ZuoraAccount]: ...

    def get_rate_plan(self, rate_plan_id: str) -> CatalogRatePlan | None: ...

    def create_order(self, body: dict[str, Any], idempotency_key: str) -> OrderResult: ...

    def create_account(self, body: dict[str, Any], idempotency_key: str) -> ZuoraAccount: ...

    def update_account(self, account_key: str, body: dict[str, Any], stage: str = "zuora_account") -> None: ...

    def get_subscription(self, key: str) -> ZuoraSubscription | None:
        """The latest version of a subscription (by number or id); None if Zuora has no such subscription."""
        ...

    def subscriptions_of_account(self, account_key: str) -> list[ZuoraSubscription]: ...

    def rate_plan_ids_by_external_id(self, external_id: str) -> list[str]:
        """Product rate plans whose externally managed plan id is `external_id` (the CPQ connector's Product2 Id)."""
        ...


class ZuoraRestGateway:
    """The real gateway over requests; one instance per cold start, shared by invocations."""

    def __init__(self, settings: ZuoraSettings, session: TimeoutSession) -> None:
        self._settings = settings
        self._session = session
        self._token_lock = threading.Lock()
        self._token: tuple[str, float] | None = None

    # --- auth ----------------------------------------------------------------------------------
    def _access_token(self, stage: str, stale: str | None = None) -> str:
        with self._token_lock:
            now = time.monotonic()
            if self._token is None or self._token[1] <= now or self._token[0] == stale:
                self._token = self._fetch_token(stage, now)
            return self._token[0]

    def _fetch_token(self, stage: str, now: float) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._settings.clientId,
            "client_secret": self._settings.clientSecret.get_secret_value(),
        }
        with tracer.provider.in_subsegment("zuora.token"):
            response = self._send(stage, "POST", "/oauth/token", data=form)
        if response.status_code != 200:
            raise UpstreamError(
                stage,
                f"HTTP_{response.status_code}",
                "Zuora refused the OAuth client; check the secret's zuora section",
                retryable=response.status_code in RETRYABLE_STATUS or response.status_code >= 500,
                upstream_request_id=response.headers.get("Zuora-Request-Id"),
                retry_after_seconds=parse_retry_after(response.headers.get("Retry-After")),
            )
        body = response.json()
        ttl = float(body.get("expires_in", 3600))
        return str(body["access_token"]), now + max(ttl - TOKEN_REFRESH_MARGIN_SECONDS, ttl / 2)

    # --- transport -----------------------------------------------------------------------------
    def _send(self, stage: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = self._session.request(method, f"{self._settings.base_url}{path}", **kwargs)
        except requests.RequestException as exc:
            raise transport_error("Zuora", stage, exc) from None
        logger.info(
            "zuora call",
            extra={
                "stage": stage,
                "method": method,
                "path": path.split("?", maxsplit=1)[0],
                "status": response.status_code,
                "zuora_request_id": response.headers.get("Zuora-Request-Id"),
            },
        )
        remaining = response.headers.get("RateLimit-Remaining", "")
        if remaining.isdigit():  # Zuora's rate limit headers ("Rate limits" in Zuora's API reference)
            metrics.add_metric(name="ZuoraRateLimitRemaining", unit="Count", value=int(remaining))
        return response

    def _api(
        self,
        stage: str,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        safe_to_repeat: bool = True,
    ) -> dict[str, Any]:
        """One API call with auth and headers; retried in place only where repeating it cannot do harm."""
        attempt, refreshed, stale, waited = 0, False, None, 0.0
        while True:
            token = self._access_token(stage, stale)
            request_headers = {
                "Authorization": f"Bearer {token}",
                "Zuora-Version": self._settings.zuoraVersion,
                "Accept": "application/json",
                **(headers or {}),
            }
            track_id = current_track_id()
            if track_id:
                request_headers["Zuora-Track-Id"] = track_id[:64]
            response = self._send(stage, method, path, params=params, json=json, headers=request_headers)
            request_id = response.headers.get("Zuora-Request-Id")
            if response.status_code == 401 and not refreshed:
                refreshed, stale = True, token
                continue
            error = error_of_answer(stage, response, request_id)
            if error is None:
                return dict(response.json())
            attempt += 1
            delay = backoff_delay(attempt, retry_after=error.retry_after_seconds)
            throttled = response.status_code == 429
            if throttled:
                delay += random.uniform(0, delay / 4)  # noqa: S311 (jitter, not cryptography)
            patient = throttled and attempt < THROTTLED_ATTEMPTS and waited + delay <= THROTTLED_WAIT_SECONDS
            if not (
                error.retryable
                and (attempt < MAX_ATTEMPTS or patient)
                and time_allows(delay)
                and (safe_to_repeat or response.status_code in RETRYABLE_STATUS)
            ):
                raise error
            logger.warning("zuora call retried", extra={"stage": stage, "code": error.code, "attempt": attempt})
            time.sleep(delay)
            waited += delay

    # --- operations ----------------------------------------------------------------------------
    def find_accounts_by_crm_id(self, crm_id: str) -> list[ZuoraAccount]:
        with tracer.provider.in_subsegment("zuora.account_lookup"):
            body = self._api(
                "zuora_lookup",
                "GET",
                "/object-query/accounts",
                params=[("filter[]", f"crmid.EQ:{crm_id}"), ("pageSize", "50")],
            )
        return [
            ZuoraAccount(
                str(item["id"]), str(item["accountNumber"]), str(item.get("currency", "")), str(item.get("status", ""))
            )
            for item in body.get("data", [])
        ]

    def _lookup(self, segment: str, path: str, params: Any = None) -> dict[str, Any] | None:
        """A read of one object (stage zuora_lookup); None when Zuora has no such object."""
        with tracer.provider.in_subsegment(segment):
            try:
                return self._api("zuora_lookup", "GET", path, params=params)
            except UpstreamError as error:
                if _not_found(error):
                    return None
                raise

    def get_account(self, account_key: str) -> ZuoraAccount | None:
        body = self._lookup("zuora.get_account", f"/v1/accounts/{quote(account_key, safe='')}")
        if body is None:
            return None
        basic, billing = body.get("basicInfo") or {}, body.get("billingAndPayment") or {}
        return ZuoraAccount(
            str(basic.get("id", "")),
            str(basic.get("accountNumber", account_key)),
            str(billing.get("currency", "")),
            str(basic.get("status", "")),
            str(basic["crmId"]) if basic.get("crmId") else None,
            str(billing["defaultPaymentMethodId"]) if billing.get("defaultPaymentMethodId") else None,
        )

    def get_payment_method(self, payment_method_id: str) -> PaymentMethod | None:
        body = self._lookup("zuora.get_payment_method", f"/v1/payment-methods/{quote(payment_method_id, safe='')}")
        if body is None:
            return None
        owner = body.get("accountKey") or body.get("accountId")
        return PaymentMethod(
            str(body.get("id", payment_method_id)), str(owner) if owner else None, str(body.get("status", ""))
        )

    def get_subscription(self, key: str) -> ZuoraSubscription | None:
        body = self._lookup("zuora.get_subscription", f"/v1/subscriptions/{quote(key, safe='')}")
        return None if body is None else parse_subscription(body)

    def subscriptions_of_account(self, account_key: str) -> list[ZuoraSubscription]:
        body = self._lookup("zuora.account_subscriptions", f"/v1/subscriptions/accounts/{quote(account_key, safe='')}")
        return [parse_subscription(item) for item in (body or {}).get("subscriptions") or []]

    def rate_plan_ids_by_external_id(self, external_id: str) -> list[str]:
        # Object Query cannot filter product rate plans on the externally managed plan id (it is the related
        # ExternalProductRatePlan); Zuora's v1 "List product rate plans by external ID" is the documented lookup.
        path = f"/v1/product-rate-plans/external-id/{quote(external_id, safe='')}"
        body = self._lookup("zuora.catalog_external_id", path)
        return [str(plan["id"]) for plan in (body or {}).get("productRatePlans") or [] if plan.get("id")]

    def get_rate_plan(self, rate_plan_id: str) -> CatalogRatePlan | None:
        body = self._lookup(
            "zuora.catalog",
            f"/object-query/product-rate-plans/{quote(rate_plan_id, safe='')}",
            params=[
                ("expand[]", "productrateplancharges"),
                ("expand[]", "productrateplancharges.productrateplanchargetiers"),
            ],
        )
        if body is None:
            return None
        charges = tuple(
            CatalogCharge(
                charge_id=str(charge.get("id", "")),
                name=str(charge.get("name", "")),
                charge_type=str(charge.get("chargeType", "")),
                charge_model=str(charge.get("chargeModel", "")),
                currencies=frozenset(
                    str(tier["currency"])
                    for tier in charge.get("productRatePlanChargeTiers") or []
                    if tier.get("currency") and tier.get("active", True) is not False
                ),
            )
            for charge in body.get("productRatePlanCharges") or []
        )
        return CatalogRatePlan(str(body.get("id", rate_plan_id)), str(body.get("name", rate_plan_id)), charges)

    def _create(self, stage: str, path: str, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """A POST that creates something: under an Idempotency-Key, repeated in place only where nothing was done."""
        with tracer.provider.in_subsegment(f"zuora.{stage}"):
            return self._api(
                stage,
                "POST",
                path,
                json=body,
                headers={"Idempotency-Key": idempotency_key, "Content-Type": "application/json"},
                safe_to_repeat=False,
            )

    def create_account(self, body: dict[str, Any], idempotency_key: str) -> ZuoraAccount:
        result = self._create("zuora_account", "/v1/accounts", body, idempotency_key)
        return ZuoraAccount(
            str(result.get("accountId", "")), str(result["accountNumber"]), str(body["currency"]), "Active"
        )

    def update_account(self, account_key: str, body: dict[str, Any], stage: str = "zuora_account") -> None:
        with tracer.provider.in_subsegment("zuora.update_account"):
            self._api(stage, "PUT", f"/v1/accounts/{quote(account_key, safe='')}", json=body)

    def create_order(self, body: dict[str, Any], idempotency_key: str) -> OrderResult:
        result = self._create("zuora_order", "/v1/orders", body, idempotency_key)
        subscriptions = result.get("subscriptionNumbers") or [
            item["subscriptionNumber"] for item in result.get("subscriptions", []) if "subscriptionNumber" in item
        ]
        return OrderResult(
            str(result["orderNumber"]),
            str(result["accountNumber"]),
            str(result.get("status", "")),
            [str(number) for number in subscriptions],
        )


def error_of_answer(stage: str, response: requests.Response, request_id: str | None) -> UpstreamError | None:
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 300 or not isinstance(body, dict):
        code, message = f"HTTP_{response.status_code}", "Zuora answered an error"
        if isinstance(body, dict):
            code, message = _reason(body) or (code, str(body.get("message", message)))
        status = response.status_code
        return UpstreamError(
            stage,
            code,
            message,
            retryable=status in RETRYABLE_STATUS or status >= 500,
            upstream_request_id=request_id,
            retry_after_seconds=retry_after,
            definitive=400 <= status < 500 and status not in (401, 409, 429),
        )
    if body.get("success") is False:
        code, message = _reason(body) or ("UNKNOWN", "Zuora answered success:false without reasons")
        return UpstreamError(
            stage,
            code,
            message,
            retryable=code[-2:] in RETRYABLE_CATEGORIES,
            upstream_request_id=request_id,
            definitive=True,
        )
    return None


def _not_found(error: UpstreamError) -> bool:
    """HTTP 404, or Zuora's error category 40 ("Cannot find entity by key") in a success:false body."""
    return error.code == "HTTP_404" or (len(error.code) == 8 and error.code.isdigit() and error.code.endswith("40"))


def _reason(body: dict[str, Any]) -> tuple[str, str] | None:
    reasons = body.get("reasons")
    if isinstance(reasons, list) and reasons and isinstance(reasons[0], dict):
        return str(reasons[0].get("code", "UNKNOWN")), str(reasons[0].get("message", ""))
    return None
