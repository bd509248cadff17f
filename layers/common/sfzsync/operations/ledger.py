"""The failure ledger: every checkout or push that ends in an error leaves a record an operator can list.

A checkout's record lives on its checkpoint item (`checkout#<sha256(key)>`), so the read a retry makes anyway tells
it that a failure is pending, and its success marks the failure resolved with one write; a push's lives on
`push-failure#<org>#<record>`, resolved by the next successful push of the record. Records carry the key's hash
(`key_hash`, also on every log line of the checkout), the stage, the code, the HTTP status, whether retrying helps,
Zuora's and Salesforce's request ids, how many attempts failed, when, and the masked email: never the body, a
payment method or a full email address. They expire after 30 days. A sparse index (`ledger`, `failed_at`) lists them
by time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from sfzsync.errors import (
    AccountConflictError,
    AllowanceExhaustedError,
    ButtonLinkError,
    ConfigurationError,
    CustomerBusyError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    LoginRefusedError,
    LoginRequiredError,
    PushBlockedError,
    RecordNotVisibleError,
    UpstreamError,
)
from sfzsync.gateways.dynamodb import DynamoDBClient, caused_by_storage_timeout
from sfzsync.observability import logger

LEDGER_TTL_SECONDS = 30 * 86_400
LEDGER_INDEX = "ledger-by-time"
LEDGER_PARTITION = "failure"


def key_hash(idempotency_key: str) -> str:
    """What joins a key's attempts in logs and ledger: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Failure:
    """What went wrong in one attempt, as the ledger keeps it."""

    stage: str
    code: str
    status: int
    retryable: bool
    upstream_request_id: str | None = None


# What a client did wrong is answered 4xx and is not an operator's failure; the key still in progress is not an outcome.
_NOT_FAILURES = (
    InvalidInputError,
    IdempotencyKeyReusedError,
    ButtonLinkError,
    ForbiddenError,
    LoginRefusedError,
    LoginRequiredError,
    PushBlockedError,
    RecordNotVisibleError,
)
_NOT_FAILURE_NAMES = {"IdempotencyValidationError", "IdempotencyAlreadyInProgressError"}


def failure_of(error: BaseException) -> Failure | None:
    """The ledger's view of an error a checkout or push ended with; None for what is not a failure of the service."""
    if isinstance(error, _NOT_FAILURES) or type(error).__name__ in _NOT_FAILURE_NAMES:
        return None
    if isinstance(error, AllowanceExhaustedError):
        return Failure(error.stage, error.code, 503, True)
    if isinstance(error, UpstreamError):
        status = 504 if error.timeout else 502
        return Failure(error.stage, error.code, status, error.retryable, error.upstream_request_id)
    if isinstance(error, CustomerBusyError):
        return Failure("customer_lock", "customer_busy", 409, True)
    if isinstance(error, AccountConflictError):
        return Failure("zuora_lookup", "account_conflict", 409, False)
    if isinstance(error, ConfigurationError):
        return Failure("configuration", "misconfigured", 500, False)
    if caused_by_storage_timeout(error):
        return Failure("storage", "storage_timeout", 504, True)
    answer: object = getattr(error, "status", None)
    if isinstance(answer, int):  # an error with its own answer (e.g. the Salesforce allowance breaker's 503)
        return Failure(str(getattr(error, "stage", "service")), str(getattr(error, "code", "error")), answer, True)
    return Failure("service", "internal_error", 500, True)


@dataclass(frozen=True)
class FailureRecord:
    item_id: str
    kind: str
    key_hash: str
    stage: str
    code: str
    status: int
    retryable: bool
    attempts: int
    first_failed_at: str
    failed_at: str
    resolved_at: str | None
    customer: str | None
    upstream_request_ids: tuple[str, ...]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class FailureLedger:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def record(self, item_id: str, kind: str, hashed_key: str, failure: Failure, customer: str | None) -> None:
        """Add one failed attempt to the record on `item_id` (best effort: a ledger write never hides the failure)."""
        values: dict[str, Any] = {
            ":ledger": {"S": LEDGER_PARTITION},
            ":kind": {"S": kind},
            ":key_hash": {"S": hashed_key},
            ":stage": {"S": failure.stage},
            ":code": {"S": failure.code[:100]},
            ":status": {"N": str(failure.status)},
            ":retryable": {"BOOL": failure.retryable},
            ":now": {"S": _now()},
            ":one": {"N": "1"},
            ":expiration": {"N": str(int(time.time()) + LEDGER_TTL_SECONDS)},
        }
        update = (
            "SET ledger = :ledger, kind = :kind, key_hash = :key_hash, stage = :stage, code = :code, "
            "http_status = :status, retryable = :retryable, failed_at = :now, "
            "first_failed_at = if_not_exists(first_failed_at, :now), expiration = :expiration "
            "REMOVE resolved_at ADD attempts :one"
        )
        if customer:
            values[":customer"] = {"S": customer}
            update = update.replace("expiration = :expiration", "expiration = :expiration, customer = :customer")
        if failure.upstream_request_id:
            values[":request_ids"] = {"SS": [failure.upstream_request_id[:100]]}
            update += ", upstream_request_ids :request_ids"
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": item_id}},
                UpdateExpression=update,
                ExpressionAttributeValues=values,
            )
        except Exception as exc:
            logger.warning("failure not written to the ledger", extra={"reason": type(exc).__name__})

    def resolve(self, item_id: str) -> None:
        """A later attempt of the same request succeeded."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": item_id}},
                UpdateExpression="SET resolved_at = :now",
                ConditionExpression="attribute_exists(ledger) AND attribute_not_exists(resolved_at)",
                ExpressionAttributeValues={":now": {"S": _now()}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":  # nothing to resolve
                logger.warning("ledger record not marked resolved", extra={"reason": type(exc).__name__})
        except Exception as exc:
            logger.warning("ledger record not marked resolved", extra={"reason": type(exc).__name__})

    def list(self, since: dt.datetime, limit: int = 200) -> list[FailureRecord]:
        """Records whose last failure is at or after `since`, newest first."""
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": LEDGER_INDEX,
            "KeyConditionExpression": "ledger = :ledger AND failed_at >= :since",
            "ExpressionAttributeValues": {
                ":ledger": {"S": LEDGER_PARTITION},
                ":since": {"S": since.astimezone(dt.UTC).isoformat(timespec="milliseconds")},
            },
            "ScanIndexForward": False,
        }
        while len(items) < limit:
            page = self._client.query(**query)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [_record(item) for item in items[:limit]]


def _record(item: dict[str, Any]) -> FailureRecord:
    def text(name: str) -> str | None:
        value = item.get(name, {}).get("S")
        return str(value) if value is not None else None

    return FailureRecord(
        item_id=text("id") or "",
        kind=text("kind") or "",
        key_hash=text("key_hash") or "",
        stage=text("stage") or "",
        code=text("code") or "",
        status=int(item.get("http_status", {}).get("N", "0")),
        retryable=bool(item.get("retryable", {}).get("BOOL", False)),
        attempts=int(item.get("attempts", {}).get("N", "0")),
        first_failed_at=text("first_failed_at") or "",
        failed_at=text("failed_at") or "",
        resolved_at=text("resolved_at"),
        customer=text("customer"),
        upstream_request_ids=tuple(sorted(item.get("upstream_request_ids", {}).get("SS", []))),
    )
