"""Salesforce gateway over simple-salesforce: OAuth (client credentials, JWT bearer), Composite lookups and creates."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession
from simple_salesforce.format import format_soql

from sfzsync.errors import AllowanceExhaustedError, UpstreamError
from sfzsync.gateways.allowance import ApiAllowance
from sfzsync.gateways.transport import TimeoutSession, backoff_delay, parse_retry_after, time_allows, transport_error
from sfzsync.ids import to_18
from sfzsync.observability import logger, tracer
from sfzsync.settings import SalesforceSettings

T = TypeVar("T")

RETRYABLE_ERROR_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE"})
NOT_COMMITTED_ERROR_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED"})
MAX_ATTEMPTS = 3
MAX_COMPOSITE_SUBREQUESTS = 25
# Of a Composite call's 25 subrequests, up to 5 may be queries (REST API Developer Guide, "Composite").
MAX_COMPOSITE_QUERIES = 5


@dataclass(frozen=True)
class Soql:
    """A query for `run_batch_queries`; `all_rows` sends it to queryAll (deleted and merged records included)."""

    text: str
    all_rows: bool = False


@dataclass(frozen=True)
class QueryPage:
    """The first page of a query's answer; `complete` is False when Salesforce holds more (`nextRecordsUrl`)."""

    records: list[dict[str, Any]]
    complete: bool


@dataclass(frozen=True)
class CreatedAccount:
    account_id: str
    duplicate_of_existing: bool


class SalesforceGateway(Protocol):
    def run_queries(self, queries: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
        """Run several SOQL queries in one round trip; results by name."""
        ...

    def create_account_with_contact(self, account: dict[str, Any], contact: dict[str, Any]) -> CreatedAccount:
        """Create Account + Contact all-or-none; a duplicate rule hit returns the existing Account."""
        ...


class SalesforceAuthenticator:
    """Fetches and caches the integration user's access token (Salesforce gives no expiry: refreshed on 401)."""

    def __init__(self, settings: SalesforceSettings, session: requests.Session) -> None:
        self._settings = settings
        self._session = session
        self._lock = threading.Lock()
        self._token: tuple[str, str] | None = None

    def token(self, stage: str, *, refresh: bool = False, stale: str | None = None) -> tuple[str, str]:
        """(access_token, instance_url); `refresh` replaces the token unless another thread already did."""
        with self._lock:
            if self._token is None or (refresh and self._token[0] == stale):
                self._token = self._fetch(stage)
            return self._token

    def _fetch(self, stage: str) -> tuple[str, str]:
        settings = self._settings
        if settings.authFlow == "jwt_bearer":
            import jwt  # here: PyJWT loads cryptography, which the client-credentials flow never needs

            assert settings.privateKey is not None
            claims = {
                "iss": settings.clientId,
                "sub": settings.username,
                "aud": settings.jwtAudience,
                "exp": int(time.time()) + 170,
            }
            form = {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": jwt.encode(claims, settings.privateKey.get_secret_value(), algorithm="RS256"),
            }
        else:
            assert settings.clientSecret is not None
            form = {
                "grant_type": "client_credentials",
                "client_id": settings.clientId,
                "client_secret": settings.clientSecret.get_secret_value(),
            }
        with tracer.provider.in_subsegment("salesforce.token") as subsegment:
            subsegment.put_annotation("stage", stage)
            try:
                response = self._session.post(f"{settings.base_url}/services/oauth2/token", data=form)
            except requests.RequestException as exc:
                raise transport_error("Salesforce", stage, exc) from None
        if response.status_code != 200:
            error = _json_or_empty(response)
            code = str(error.get("error", f"HTTP_{response.status_code}")) if isinstance(error, dict) else "LOGIN"
            raise UpstreamError(
                stage,
                code,
                "Salesforce refused the integration user's login; check the Connected "
                "App and the secret's salesforce section",
                retryable=response.status_code >= 500 or response.status_code == 429,
                retry_after_seconds=parse_retry_after(response.headers.get("Retry-After")),
            )
        body = response.json()
        logger.info("salesforce token issued", extra={"auth_flow": settings.authFlow})
        return str(body["access_token"]), str(body["instance_url"])


class SalesforceRestGateway:
    """The real gateway: one Composite call per lookup or create, timeouts on every call."""

    def __init__(
        self, settings: SalesforceSettings, session: TimeoutSession, allowance: ApiAllowance | None = None
    ) -> None:
        self._settings = settings
        self._session = session
        self._auth = SalesforceAuthenticator(settings, session)
        self._api_prefix = f"/services/data/v{settings.apiVersion}"
        self._allowance = allowance

    def _client(self, token: str, instance_url: str) -> Salesforce:
        return Salesforce(
            instance_url=instance_url, session_id=token, version=self._settings.apiVersion, session=self._session
        )

    def _call(
        self, stage: str, action: Callable[[Salesforce], T], *, safe_to_repeat: bool, starts_work: bool = True
    ) -> T:
        """Run `action` with a valid token: re-login once on INVALID_SESSION_ID, back off on transient errors.

        `starts_work`: the allowance breaker may refuse it; a call that finishes work already begun (the create that
        follows a lookup) is let through, so no checkout stops halfway.
        """
        attempt, refreshed = 0, False
        if self._allowance is not None and starts_work:
            self._allowance.check(stage)
        token, instance_url = self._auth.token(stage)
        while True:
            try:
                client = self._client(token, instance_url)
                answer = action(client)
                self._observe_usage(client)
                return answer
            except SalesforceExpiredSession:
                if refreshed:
                    raise UpstreamError(
                        stage, "INVALID_SESSION_ID", "Salesforce rejected a fresh token", retryable=False
                    ) from None
                refreshed = True
                token, instance_url = self._auth.token(stage, refresh=True, stale=token)
                continue
            except SalesforceError as exc:
                error = salesforce_error(stage, exc)
                if self._allowance is not None and _daily_allowance_spent(exc):
                    self._allowance.exhausted("Salesforce answered REQUEST_LIMIT_EXCEEDED (TotalRequests)")
                    raise AllowanceExhaustedError(stage, self._allowance.cooldown_seconds) from None
            except requests.RequestException as exc:
                error = transport_error("Salesforce", stage, exc)
            repeatable = safe_to_repeat or error.code in NOT_COMMITTED_ERROR_CODES
            attempt += 1
            delay = backoff_delay(attempt, retry_after=error.retry_after_seconds)
            if not (error.retryable and repeatable and attempt < MAX_ATTEMPTS and time_allows(delay)):
                raise error
            logger.warning("salesforce call retried", extra={"stage": stage, "code": error.code, "attempt": attempt})
            time.sleep(delay)

    def _observe_usage(self, client: Salesforce) -> None:
        usage = client.api_usage.get("api-usage")
        if self._allowance is not None and usage is not None:
            self._allowance.observe(int(usage.used), int(usage.total))

    def run_queries(self, queries: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
        body = composite_query_body(self._api_prefix, queries)
        with tracer.provider.in_subsegment("salesforce.lookup") as subsegment:
            subsegment.put_annotation("queries", ",".join(queries))
            result = self._call(
                "salesforce_lookup", lambda sf: sf.restful("composite", method="POST", json=body), safe_to_repeat=True
            )
        return composite_query_records("salesforce_lookup", result)

    def run_batch_queries(self, queries: Mapping[str, Soql]) -> dict[str, QueryPage]:
        """Up to 5 queries (query or queryAll) in one Composite call; each answer's first page, by name."""
        if len(queries) > MAX_COMPOSITE_QUERIES:
            raise ValueError(f"a Composite call carries at most {MAX_COMPOSITE_QUERIES} queries")
        body = {
            "allOrNone": False,
            "compositeRequest": [
                {
                    "method": "GET",
                    "url": f"{self._api_prefix}/{'queryAll' if soql.all_rows else 'query'}?{_query_param(soql.text)}",
                    "referenceId": name,
                }
                for name, soql in queries.items()
            ],
        }
        with tracer.provider.in_subsegment("salesforce.batch_lookup") as subsegment:
            subsegment.put_annotation("queries", ",".join(queries))
            result = self._call("salesforce_lookup", _composite_post(body), safe_to_repeat=True)
        pages: dict[str, QueryPage] = {}
        for item in _composite_items(result):
            if item.get("httpStatusCode") != 200:
                raise _composite_error("salesforce_lookup", item)
            answer = item["body"]
            pages[str(item["referenceId"])] = QueryPage(list(answer["records"]), bool(answer.get("done", True)))
        return pages

    def create_account_with_contact(self, account: dict[str, Any], contact: dict[str, Any]) -> CreatedAccount:
        body = {
            "allOrNone": True,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": f"{self._api_prefix}/sobjects/Account",
                    "referenceId": "newAccount",
                    "body": account,
                },
                {
                    "method": "POST",
                    "url": f"{self._api_prefix}/sobjects/Contact",
                    "referenceId": "newContact",
                    "body": {**contact, "AccountId": "@{newAccount.id}"},
                },
            ],
        }
        with tracer.provider.in_subsegment("salesforce.create"):
            result = self._call(
                "salesforce_create",
                lambda sf: sf.restful("composite", method="POST", json=body),
                safe_to_repeat=False,
                starts_work=False,
            )
        items = _composite_items(result)
        if all(item.get("httpStatusCode") == 201 for item in items):
            return CreatedAccount(to_18(str(items[0]["body"]["id"])), duplicate_of_existing=False)
        failed = next(item for item in items if _first_error_code(item) != "PROCESSING_HALTED")
        duplicate = duplicate_match(failed)
        if duplicate is None:
            raise _composite_error("salesforce_create", failed)
        entity, record_id = duplicate
        if entity == "Account":
            return CreatedAccount(record_id, duplicate_of_existing=True)
        return CreatedAccount(self._account_of_contact(record_id), duplicate_of_existing=True)

    def _account_of_contact(self, contact_id: str) -> str:
        """A duplicate rule matched a Contact: its Account is the one to use (one more round trip, rare)."""
        soql = format_soql("SELECT AccountId FROM Contact WHERE Id = {} LIMIT 1", to_18(contact_id))
        records = self.run_queries({"duplicate_contact": soql})["duplicate_contact"]
        account_id = records[0].get("AccountId") if records else None
        if not isinstance(account_id, str):
            raise UpstreamError(
                "salesforce_create",
                "DUPLICATES_DETECTED",
                "a Salesforce duplicate rule matched a "
                "Contact that has no Account; give that Contact an Account or relax the rule",
                retryable=False,
            )
        return to_18(account_id)

    def update_records(self, records: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Update (sObject, Id, fields) records, all or none per Composite request of 25 (its subrequest limit)."""
        for start in range(0, len(records), MAX_COMPOSITE_SUBREQUESTS):
            chunk = records[start : start + MAX_COMPOSITE_SUBREQUESTS]
            body = {
                "allOrNone": True,
                "compositeRequest": [
                    {
                        "method": "PATCH",
                        "url": f"{self._api_prefix}/sobjects/{sobject}/{record_id}",
                        "referenceId": f"r{index}",
                        "body": fields,
                    }
                    for index, (sobject, record_id, fields) in enumerate(chunk)
                ],
            }
            with tracer.provider.in_subsegment("salesforce.update"):
                result = self._call("salesforce_write_back", _composite_post(body), safe_to_repeat=True)
            failed = [item for item in _composite_items(result) if int(item.get("httpStatusCode") or 500) >= 300]
            if failed:
                first = next((i for i in failed if _first_error_code(i) != "PROCESSING_HALTED"), failed[0])
                raise _composite_error("salesforce_write_back", first)


def _composite_post(body: dict[str, Any]) -> Callable[[Salesforce], Any]:
    """A Composite call of `body`; repeating an update that sets the same values does no harm."""
    return lambda sf: sf.restful("composite", method="POST", json=body)


def composite_query_body(api_prefix: str, queries: Mapping[str, str]) -> dict[str, Any]:
    """A Composite request running each named SOQL query (one round trip for all of them)."""
    return {
        "allOrNone": False,
        "compositeRequest": [
            {"method": "GET", "url": f"{api_prefix}/query?{_query_param(soql)}", "referenceId": name}
            for name, soql in queries.items()
        ],
    }


def composite_query_records(stage: str, result: Any) -> dict[str, list[dict[str, Any]]]:
    records: dict[str, list[dict[str, Any]]] = {}
    for item in _composite_items(result):
        if item.get("httpStatusCode") != 200:
            raise _composite_error(stage, item)
        records[str(item["referenceId"])] = list(item["body"]["records"])
    return records


def _query_param(soql: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"q": soql})


def _json_or_empty(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def _composite_items(result: Any) -> list[dict[str, Any]]:
    if not isinstance(result, dict) or not isinstance(result.get("compositeResponse"), list):
        raise UpstreamError(
            "salesforce", "UNEXPECTED_RESPONSE", "Salesforce Composite answer had no compositeResponse", retryable=True
        )
    return list(result["compositeResponse"])


def _first_error_code(item: dict[str, Any]) -> str:
    body = item.get("body")
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return str(body[0].get("errorCode", "UNKNOWN"))
    return "UNKNOWN"


def _composite_error(stage: str, item: dict[str, Any]) -> UpstreamError:
    code = _first_error_code(item)
    body = item.get("body")
    message = body[0].get("message", "") if isinstance(body, list) and body and isinstance(body[0], dict) else ""
    status = int(item.get("httpStatusCode") or 500)
    return UpstreamError(
        stage,
        code,
        str(message) or f"Salesforce answered {status}",
        retryable=code in RETRYABLE_ERROR_CODES or status >= 500,
    )


def duplicate_match(item: dict[str, Any]) -> tuple[str, str] | None:
    body = item.get("body")
    if _first_error_code(item) != "DUPLICATES_DETECTED" or not isinstance(body, list):
        return None
    # Salesforce's REST API spells the key "duplicateResut"; accept the documented spelling too.
    result = body[0].get("duplicateResut") or body[0].get("duplicateResult") or {}
    for match in result.get("matchResults", []):
        for record in match.get("matchRecords", []):
            record_id = (record.get("record") or {}).get("Id")
            if isinstance(record_id, str):
                return str(match.get("entityType", result.get("duplicateRuleEntityType", ""))), to_18(record_id)
    return None


def _daily_allowance_spent(exc: SalesforceError) -> bool:
    """REQUEST_LIMIT_EXCEEDED for "TotalRequests" is the daily allowance; for concurrent requests it is transient."""
    content: list[Any] = exc.content if isinstance(exc.content, list) else []
    return any(
        isinstance(item, dict)
        and item.get("errorCode") == "REQUEST_LIMIT_EXCEEDED"
        and "TotalRequests" in str(item.get("message", ""))
        for item in content
    )


def salesforce_error(stage: str, exc: SalesforceError) -> UpstreamError:
    content = exc.content
    first: dict[str, Any] = content[0] if isinstance(content, list) and content and isinstance(content[0], dict) else {}
    code = str(first.get("errorCode", f"HTTP_{exc.status}"))
    message = str(first.get("message", "")) or f"Salesforce answered {exc.status}"
    retryable = code in RETRYABLE_ERROR_CODES or exc.status in (429, 500, 502, 503, 504)
    return UpstreamError(stage, code, message, retryable=retryable)
