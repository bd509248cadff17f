"""The checkout's DynamoDB records beside Powertools' idempotency items: the customer lock and the checkpoint.

The lock (see `gateways.dynamodb.RecordLock`, named by the normalised email) serialises lookup+create for one
customer across concurrent checkouts. A checkpoint (`checkout#<sha256(key)>`) remembers, for one Idempotency-Key,
the hash of the request it belongs to, the Salesforce Account chosen and which Zuora Idempotency-Key is live, so a
retry after a failure finishes the same checkout instead of deciding again, and a different body under that key is
refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from sfzsync.gateways.dynamodb import DynamoDBClient, HeldLock, RecordLock, digest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import PutTypeDef

CHECKPOINT_TTL_SECONDS = 86_400


@dataclass(frozen=True)
class Checkpoint:
    account_id: str
    matched_by: str
    request_hash: str
    order_date: str
    zuora_attempt: int = 0


class CheckoutStore(Protocol):
    def get_checkpoint(self, idempotency_key: str) -> Checkpoint | None: ...

    def acquire_lock(self, customer_key: str, wait_seconds: float, idempotency_key: str = "") -> HeldLock: ...

    def release_lock(self, lock: HeldLock, idempotency_key: str, checkpoint: Checkpoint | None) -> None:
        """Drop the lock and, with it (one transaction), save the checkpoint when there is one."""
        ...

    def bump_zuora_attempt(self, idempotency_key: str) -> None: ...


def _checkpoint_key(idempotency_key: str) -> dict[str, Any]:
    return {"id": {"S": f"checkout#{digest(idempotency_key)}"}}


class DynamoDBCheckoutStore:
    """The store on the idempotency table (partition key `id`, TTL attribute `expiration`)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._locks = RecordLock(client, table_name)

    def get_checkpoint(self, idempotency_key: str) -> Checkpoint | None:
        item = self._client.get_item(
            TableName=self._table, Key=_checkpoint_key(idempotency_key), ConsistentRead=True
        ).get("Item")
        # A checkpoint without a request hash (an earlier release) cannot prove which body it belongs to: ignored, so
        # the retry decides again (the lock and the Salesforce lookup find what the earlier attempt created).
        if not item or int(item["expiration"]["N"]) < time.time() or "request_hash" not in item:
            return None
        return Checkpoint(
            account_id=item["account_id"]["S"],
            matched_by=item["matched_by"]["S"],
            request_hash=item["request_hash"]["S"],
            order_date=item["order_date"]["S"],
            zuora_attempt=int(item.get("zuora_attempt", {}).get("N", "0")),
        )

    def acquire_lock(self, customer_key: str, wait_seconds: float, idempotency_key: str = "") -> HeldLock:
        return self._locks.acquire(customer_key, wait_seconds, idempotency_key)

    def release_lock(self, lock: HeldLock, idempotency_key: str, checkpoint: Checkpoint | None) -> None:
        if checkpoint is None:
            self._locks.release(lock)
            return
        put: PutTypeDef = {"TableName": self._table, "Item": _checkpoint_item(idempotency_key, checkpoint)}
        try:
            self._client.transact_write_items(TransactItems=[{"Delete": self._locks.release_item(lock)}, {"Put": put}])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            self._client.put_item(**put)  # the lease had lapsed and another checkout took the lock

    def bump_zuora_attempt(self, idempotency_key: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_checkpoint_key(idempotency_key),
            UpdateExpression="ADD zuora_attempt :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )


def _checkpoint_item(idempotency_key: str, checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        **_checkpoint_key(idempotency_key),
        "account_id": {"S": checkpoint.account_id},
        "matched_by": {"S": checkpoint.matched_by},
        "request_hash": {"S": checkpoint.request_hash},
        "order_date": {"S": checkpoint.order_date},
        "zuora_attempt": {"N": str(checkpoint.zuora_attempt)},
        "expiration": {"N": str(int(time.time()) + CHECKPOINT_TTL_SECONDS)},
    }
