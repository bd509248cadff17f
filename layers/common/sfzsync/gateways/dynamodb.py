"""DynamoDB: the client of a cold start, and the lease-based lock both capabilities take on the table.

A lock (`lock#<sha256(name)>`) serialises what must not run twice at once for one customer or record. It has a
lease: a lock whose holder died lapses by itself. An owner derived from an Idempotency-Key lets a retry of the
same request take over the lock its earlier attempt left behind.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from sfzsync.errors import CustomerBusyError, StorageTimeoutError
from sfzsync.gateways.transport import backoff_delay, remaining_seconds
from sfzsync.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import DeleteTypeDef, PutTypeDef
else:
    DynamoDBClient = Any
    DeleteTypeDef = PutTypeDef = dict

__all__ = [
    "LOCK_LEASE_SECONDS",
    "STORAGE_TIMEOUTS",
    "DynamoDBClient",
    "HeldLock",
    "RecordLock",
    "SharedTimestamp",
    "caused_by_storage_timeout",
    "digest",
    "dynamodb_client",
    "wait_for",
]

LOCK_LEASE_SECONDS = 30
# What a DynamoDB call that did not answer in time raises: our deadline guard, or botocore's own timeouts.
STORAGE_TIMEOUTS: tuple[type[Exception], ...] = (StorageTimeoutError, ReadTimeoutError, ConnectTimeoutError)


def caused_by_storage_timeout(error: BaseException) -> bool:
    """Whether `error`, or what it was raised from (Powertools wraps what DynamoDB raised), is a storage timeout."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, STORAGE_TIMEOUTS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def dynamodb_client(connect_timeout: float, read_timeout: float) -> DynamoDBClient:
    """The DynamoDB client of a cold start: a timeout on every call, botocore's standard retries, and no attempt
    started that could not end before the invocation's deadline (so the API answers its own 504, never API Gateway's
    "Endpoint request timed out")."""
    client: DynamoDBClient = boto3.client(
        "dynamodb",
        config=Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": 3, "mode": "standard"},
            # The requests are built by this package (its tests cover every shape) and DynamoDB validates them again
            # (ValidationException); botocore's client-side pass was a tenth of the DynamoDB client's CPU per call.
            parameter_validation=False,
        ),
    )
    worst_case = connect_timeout + read_timeout

    def refuse_past_the_deadline(**_: Any) -> None:
        # botocore emits before-send for every HTTP attempt, retries included, and lets the exception through.
        left = remaining_seconds()
        if left is not None and left < worst_case:
            raise StorageTimeoutError(f"{left:.1f} s left in the invocation: not enough for a DynamoDB call")

    client.meta.events.register("before-send.dynamodb", refuse_past_the_deadline)
    return client


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SharedTimestamp:
    """One number the containers share through the table (e.g. until when the Salesforce allowance breaker is open)."""

    def __init__(self, client: DynamoDBClient, table: str, name: str) -> None:
        self._client = client
        self._table = table
        self._key: Any = {"id": {"S": f"shared#{name}"}}

    def read_open_until(self) -> float:
        item = self._client.get_item(TableName=self._table, Key=self._key).get("Item") or {}
        return float(item.get("open_until", {}).get("N", "0"))

    def write_open_until(self, epoch_seconds: float) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                **self._key,
                "open_until": {"N": f"{epoch_seconds:.3f}"},
                "expiration": {"N": str(int(epoch_seconds) + 3600)},
            },
        )


@dataclass(frozen=True)
class HeldLock:
    item_id: str
    owner: str


def wait_for(attempt_to_take: Callable[[], bool], wait_seconds: float) -> None:
    """Call `attempt_to_take` until it says it took the lock, backing off; CustomerBusyError after `wait_seconds`."""
    give_up_at = time.monotonic() + wait_seconds
    attempt = 0
    while not attempt_to_take():
        attempt += 1
        delay = backoff_delay(attempt, base=0.05, cap=0.5)
        if time.monotonic() + delay > give_up_at:
            raise CustomerBusyError(retry_after_seconds=2)
        time.sleep(delay)


class RecordLock:
    """Locks as items of one table (partition key `id`, TTL attribute `expiration`)."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    @staticmethod
    def lock_for(name: str, idempotency_key: str = "") -> HeldLock:
        """The lock `name` as this request would hold it: its owner is derived from the Idempotency-Key, if any."""
        owner = f"key#{digest(idempotency_key)}" if idempotency_key else uuid.uuid4().hex
        return HeldLock(f"lock#{digest(name)}", owner)

    def acquire_item(self, lock: HeldLock) -> PutTypeDef:
        """The conditional put that takes `lock` (free, lapsed, or already ours), alone or inside a transaction."""
        now = time.time()
        return {
            "TableName": self._table,
            "Item": {
                "id": {"S": lock.item_id},
                "owner": {"S": lock.owner},
                "lease_until": {"N": f"{now + LOCK_LEASE_SECONDS:.3f}"},
                "expiration": {"N": str(int(now) + LOCK_LEASE_SECONDS * 10)},
            },
            "ConditionExpression": "attribute_not_exists(id) OR lease_until < :now OR #owner = :owner",
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": {":now": {"N": f"{now:.3f}"}, ":owner": {"S": lock.owner}},
        }

    def acquire(self, name: str, wait_seconds: float, idempotency_key: str = "") -> HeldLock:
        """Take the lock `name`, waiting up to `wait_seconds` (else CustomerBusyError); a retry of the same request
        (same `idempotency_key`) takes over the lock an earlier try left behind (its answer lost, or its Lambda
        dead): Powertools keeps live runs of one key apart."""
        lock = self.lock_for(name, idempotency_key)

        def take() -> bool:
            try:
                self._client.put_item(**self.acquire_item(lock))
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                return False
            return True

        wait_for(take, wait_seconds)
        return lock

    def release_item(self, lock: HeldLock) -> DeleteTypeDef:
        """The conditional delete of the lock (still ours), to run alone or inside a transaction."""
        return {
            "TableName": self._table,
            "Key": {"id": {"S": lock.item_id}},
            "ConditionExpression": "#owner = :owner",
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": {":owner": {"S": lock.owner}},
        }

    def release(self, lock: HeldLock) -> None:
        """Best effort: a lock that cannot be deleted lapses with its lease, and the caller's own outcome stands."""
        try:
            self._client.delete_item(**self.release_item(lock))
        except (ClientError, BotoCoreError) as exc:
            code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
            if code != "ConditionalCheckFailedException":
                logger.warning("lock not released; it lapses with its lease", extra={"code": code})
