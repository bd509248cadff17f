"""DynamoDB records beside Powertools' idempotency items: per-customer locks and checkout checkpoints.

A lock (`lock#<sha256(email)>`) serialises lookup+create for one customer across concurrent checkouts.
A checkpoint (`checkout#<sha256(key)>`) remembers, for one Idempotency-Key, the Salesforce Account and
Zuora target chosen and which Zuora Idempotency-Key is live, so a retry after a failure finishes the same
checkout instead of deciding again.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import ClientError

from .errors import CustomerBusyError
from .http import backoff_delay

LOCK_LEASE_SECONDS = 30
CHECKPOINT_TTL_SECONDS = 86_400


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CustomerLock:
    item_id: str
    owner: str


@dataclass(frozen=True)
class Checkpoint:
    account_id: str
    matched_by: str
    existing_account_number: str | None
    zuora_attempt: int = 0


class CheckoutStore(Protocol):
    def get_checkpoint(self, idempotency_key: str) -> Checkpoint | None: ...

    def acquire_lock(self, customer_key: str, wait_seconds: float) -> CustomerLock: ...

    def release_lock(self, lock: CustomerLock, idempotency_key: str, checkpoint: Checkpoint | None) -> None: ...

    def bump_zuora_attempt(self, idempotency_key: str) -> None: ...


class DynamoDBCheckoutStore:
    """The store on the idempotency table (partition key `id`, TTL attribute `expiration`)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get_checkpoint(self, idempotency_key: str) -> Checkpoint | None:
        item = self._client.get_item(
            TableName=self._table, Key={"id": {"S": f"checkout#{_digest(idempotency_key)}"}}, ConsistentRead=True
        ).get("Item")
        if not item or int(item["expiration"]["N"]) < time.time():
            return None
        return Checkpoint(
            account_id=item["account_id"]["S"],
            matched_by=item["matched_by"]["S"],
            existing_account_number=item.get("existing_account_number", {}).get("S"),
            zuora_attempt=int(item.get("zuora_attempt", {}).get("N", "0")),
        )

    def acquire_lock(self, customer_key: str, wait_seconds: float) -> CustomerLock:
        lock = CustomerLock(f"lock#{_digest(customer_key)}", uuid.uuid4().hex)
        give_up_at = time.monotonic() + wait_seconds
        attempt = 0
        while True:
            now = time.time()
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        "id": {"S": lock.item_id},
                        "owner": {"S": lock.owner},
                        "lease_until": {"N": f"{now + LOCK_LEASE_SECONDS:.3f}"},
                        "expiration": {"N": str(int(now) + LOCK_LEASE_SECONDS * 10)},
                    },
                    ConditionExpression="attribute_not_exists(id) OR lease_until < :now",
                    ExpressionAttributeValues={":now": {"N": f"{now:.3f}"}},
                )
                return lock
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
            attempt += 1
            delay = backoff_delay(attempt, base=0.05, cap=0.5)
            if time.monotonic() + delay > give_up_at:
                raise CustomerBusyError(retry_after_seconds=2)
            time.sleep(delay)

    def release_lock(self, lock: CustomerLock, idempotency_key: str, checkpoint: Checkpoint | None) -> None:
        """Drop the lock (if still ours) and, in the same transaction, save the checkpoint."""
        delete = {
            "Delete": {
                "TableName": self._table,
                "Key": {"id": {"S": lock.item_id}},
                "ConditionExpression": "#owner = :owner",
                "ExpressionAttributeNames": {"#owner": "owner"},
                "ExpressionAttributeValues": {":owner": {"S": lock.owner}},
            }
        }
        if checkpoint is None:
            self._delete_quietly(delete["Delete"])
            return
        put = {"Put": {"TableName": self._table, "Item": self._checkpoint_item(idempotency_key, checkpoint)}}
        try:
            self._client.transact_write_items(TransactItems=[delete, put])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            self._client.put_item(**put["Put"])  # the lease had lapsed and another checkout took the lock

    def bump_zuora_attempt(self, idempotency_key: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key={"id": {"S": f"checkout#{_digest(idempotency_key)}"}},
            UpdateExpression="ADD zuora_attempt :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    def _delete_quietly(self, delete: dict[str, Any]) -> None:
        try:
            self._client.delete_item(**delete)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    @staticmethod
    def _checkpoint_item(idempotency_key: str, checkpoint: Checkpoint) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": {"S": f"checkout#{_digest(idempotency_key)}"},
            "account_id": {"S": checkpoint.account_id},
            "matched_by": {"S": checkpoint.matched_by},
            "zuora_attempt": {"N": str(checkpoint.zuora_attempt)},
            "expiration": {"N": str(int(time.time()) + CHECKPOINT_TTL_SECONDS)},
        }
        if checkpoint.existing_account_number:
            item["existing_account_number"] = {"S": checkpoint.existing_account_number}
        return item
