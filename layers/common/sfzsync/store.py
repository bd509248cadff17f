"""DynamoDB records beside Powertools' idempotency items: per-customer locks and checkout checkpoints.

A lock (`lock#<sha256(email)>`) serialises lookup+create for one customer across concurrent checkouts.
A checkpoint (`checkout#<sha256(key)>`) remembers, for one Idempotency-Key, the hash of the request it belongs
to, the Salesforce Account chosen and which Zuora Idempotency-Key is live, so a retry after a failure finishes
the same checkout instead of deciding again, and a different body under that key is refused.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .errors import CustomerBusyError
from .http import backoff_delay

logger = Logger(child=True)

LOCK_LEASE_SECONDS = 30
CHECKPOINT_TTL_SECONDS = 86_400


def dynamodb_client(connect_timeout: float, read_timeout: float) -> Any:
    """The DynamoDB client of a cold start: a timeout on every call, botocore's standard retries."""
    return boto3.client(
        "dynamodb",
        config=Config(
            connect_timeout=connect_timeout, read_timeout=read_timeout, retries={"max_attempts": 3, "mode": "standard"}
        ),
    )


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
    request_hash: str
    order_date: str
    zuora_attempt: int = 0


class CheckoutStore(Protocol):
    def get_checkpoint(self, idempotency_key: str) -> Checkpoint | None: ...

    def acquire_lock(self, customer_key: str, wait_seconds: float, idempotency_key: str = "") -> CustomerLock: ...

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

    def acquire_lock(self, customer_key: str, wait_seconds: float, idempotency_key: str = "") -> CustomerLock:
        """Take the customer's lock; a retry of the same checkout (same `idempotency_key`) takes over the lock an
        earlier try left behind (its answer lost, or its Lambda dead): Powertools keeps live runs of one key apart."""
        owner = f"key#{_digest(idempotency_key)}" if idempotency_key else uuid.uuid4().hex
        lock = CustomerLock(f"lock#{_digest(customer_key)}", owner)
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
                    ConditionExpression="attribute_not_exists(id) OR lease_until < :now OR #owner = :owner",
                    ExpressionAttributeNames={"#owner": "owner"},
                    ExpressionAttributeValues={":now": {"N": f"{now:.3f}"}, ":owner": {"S": lock.owner}},
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
        """Best effort: a lock that cannot be deleted lapses with its lease, and the caller's own outcome stands."""
        try:
            self._client.delete_item(**delete)
        except (ClientError, BotoCoreError) as exc:
            code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
            if code != "ConditionalCheckFailedException":
                logger.warning("lock not released; it lapses with its lease", extra={"code": code})

    @staticmethod
    def _checkpoint_item(idempotency_key: str, checkpoint: Checkpoint) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": {"S": f"checkout#{_digest(idempotency_key)}"},
            "account_id": {"S": checkpoint.account_id},
            "matched_by": {"S": checkpoint.matched_by},
            "request_hash": {"S": checkpoint.request_hash},
            "order_date": {"S": checkpoint.order_date},
            "zuora_attempt": {"N": str(checkpoint.zuora_attempt)},
            "expiration": {"N": str(int(time.time()) + CHECKPOINT_TTL_SECONDS)},
        }
        return item


@dataclass(frozen=True)
class SentOrder:
    zuora_account_number: str
    order_number: str
    subscription_numbers: list[str]
    sent_at: str
    sent_by: str


@dataclass(frozen=True)
class PushRecord:
    """What is known of one Salesforce record's pushes: Zuora key attempts so far, and (Orders) the result once sent."""

    attempt: int = 0
    sent: SentOrder | None = None


class PushStore(Protocol):
    def acquire_lock(self, customer_key: str, wait_seconds: float, idempotency_key: str = "") -> CustomerLock: ...

    def release_lock(self, lock: CustomerLock, idempotency_key: str, checkpoint: Checkpoint | None) -> None: ...

    def get_push(self, org_id: str, order_id: str) -> PushRecord: ...

    def bump_push_attempt(self, org_id: str, order_id: str) -> None: ...

    def mark_sent(self, org_id: str, order_id: str, sent: SentOrder) -> None: ...


def _push_key(org_id: str, order_id: str) -> dict[str, Any]:
    return {"id": {"S": f"push#{org_id}#{order_id}"}}


class DynamoDBPushStore(DynamoDBCheckoutStore):
    """Push records never expire: an Order sent once stays sent."""

    def get_push(self, org_id: str, order_id: str) -> PushRecord:
        item = self._client.get_item(TableName=self._table, Key=_push_key(org_id, order_id), ConsistentRead=True).get(
            "Item"
        )
        if not item:
            return PushRecord()
        sent = None
        if "order_number" in item:
            sent = SentOrder(
                zuora_account_number=item["zuora_account_number"]["S"],
                order_number=item["order_number"]["S"],
                subscription_numbers=[v["S"] for v in item.get("subscription_numbers", {}).get("L", [])],
                sent_at=item["sent_at"]["S"],
                sent_by=item.get("sent_by", {}).get("S", ""),
            )
        return PushRecord(int(item.get("attempt", {}).get("N", "0")), sent)

    def bump_push_attempt(self, org_id: str, order_id: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_push_key(org_id, order_id),
            UpdateExpression="ADD attempt :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    def mark_sent(self, org_id: str, order_id: str, sent: SentOrder) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_push_key(org_id, order_id),
            UpdateExpression="SET zuora_account_number = :a, order_number = :o, subscription_numbers = :s, "
            "sent_at = :t, sent_by = :u",
            ExpressionAttributeValues={
                ":a": {"S": sent.zuora_account_number},
                ":o": {"S": sent.order_number},
                ":s": {"L": [{"S": n} for n in sent.subscription_numbers]},
                ":t": {"S": sent.sent_at},
                ":u": {"S": sent.sent_by},
            },
        )
