"""The button's DynamoDB records: a lock per Salesforce Account (pushes of its records one at a time) and one
push record per Salesforce record (Zuora key attempts so far; for an Order, its result once sent, kept forever:
an Order sent once stays sent; a flag while a failed push awaits a success), and the failure ledger's record.

A push reads each push record once (kept for the rest of the push, per thread), and touches the ledger only when
a push fails or a push record says an earlier one did.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sfzsync.gateways.dynamodb import DynamoDBClient, HeldLock, RecordLock
from sfzsync.observability import logger
from sfzsync.operations.ledger import Failure, FailureLedger, key_hash


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
    failure_pending: bool = False


class PushStore(Protocol):
    def acquire_lock(self, name: str, wait_seconds: float) -> HeldLock: ...

    def release_lock(self, lock: HeldLock) -> None: ...

    def get_push(self, org_id: str, record_id: str) -> PushRecord: ...

    def read_pushes(self, org_id: str, record_ids: list[str]) -> None:
        """Read the push records a push will ask for in one round trip; `get_push` then answers from memory."""
        ...

    def bump_push_attempt(self, org_id: str, record_id: str) -> None: ...

    def mark_sent(self, org_id: str, order_id: str, sent: SentOrder) -> None: ...

    def begin_push(self) -> None:
        """Forget the push records read by an earlier push (they are read again, once)."""
        ...

    def record_failure(self, org_id: str, record_id: str, failure: Failure) -> None: ...

    def resolve_failure(self, org_id: str, record_id: str) -> None:
        """After a successful push: a failure recorded for this record is marked resolved (no write otherwise)."""
        ...


def _push_key(org_id: str, record_id: str) -> dict[str, Any]:
    return {"id": {"S": f"push#{org_id}#{record_id}"}}


class DynamoDBPushStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._locks = RecordLock(client, table_name)
        self._ledger = FailureLedger(client, table_name)
        self._local = threading.local()

    def _read(self) -> dict[str, PushRecord]:
        read: dict[str, PushRecord] | None = getattr(self._local, "read", None)
        if read is None:
            read = self._local.read = {}
        return read

    def begin_push(self) -> None:
        self._read().clear()

    def acquire_lock(self, name: str, wait_seconds: float) -> HeldLock:
        return self._locks.acquire(name, wait_seconds)

    def release_lock(self, lock: HeldLock) -> None:
        self._locks.release(lock)

    def get_push(self, org_id: str, record_id: str) -> PushRecord:
        key = f"{org_id}#{record_id}"
        if key not in self._read():
            item = self._client.get_item(
                TableName=self._table, Key=_push_key(org_id, record_id), ConsistentRead=True
            ).get("Item")
            self._read()[key] = _push_record(item or {})
        return self._read()[key]

    def read_pushes(self, org_id: str, record_ids: list[str]) -> None:
        wanted = [r for r in dict.fromkeys(record_ids) if f"{org_id}#{r}" not in self._read()]
        if not wanted:
            return
        answer = self._client.batch_get_item(
            RequestItems={
                self._table: {"Keys": [_push_key(org_id, r) for r in wanted], "ConsistentRead": True},
            }
        )
        items = {item["id"]["S"]: item for item in answer.get("Responses", {}).get(self._table, [])}
        # Keys DynamoDB left unprocessed (throttling) are read one by one by get_push when asked for.
        left = answer.get("UnprocessedKeys", {}).get(self._table)
        unprocessed = {k["id"]["S"] for k in left["Keys"]} if left else set()
        for record_id in wanted:
            key = _push_key(org_id, record_id)["id"]["S"]
            if key not in unprocessed:
                self._read()[f"{org_id}#{record_id}"] = _push_record(items.get(key, {}))

    def bump_push_attempt(self, org_id: str, record_id: str) -> None:
        self._read().pop(f"{org_id}#{record_id}", None)
        self._client.update_item(
            TableName=self._table,
            Key=_push_key(org_id, record_id),
            UpdateExpression="ADD attempt :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    def mark_sent(self, org_id: str, order_id: str, sent: SentOrder) -> None:
        key = f"{org_id}#{order_id}"
        known = self._read().pop(key, None)
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
        if known is not None:  # what this push read, and now wrote: the failure flag is untouched by the update
            self._read()[key] = replace(known, sent=sent)

    def record_failure(self, org_id: str, record_id: str, failure: Failure) -> None:
        self._read().pop(f"{org_id}#{record_id}", None)
        self._ledger.record(
            f"push-failure#{org_id}#{record_id}", "push", key_hash(f"{org_id}#{record_id}"), failure, None
        )
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_push_key(org_id, record_id),
                UpdateExpression="SET failure_pending = :pending",
                ExpressionAttributeValues={":pending": {"BOOL": True}},
            )
        except Exception as exc:  # the ledger has the failure; only its automatic resolution is lost
            logger.warning("push record not flagged", extra={"reason": type(exc).__name__})

    def resolve_failure(self, org_id: str, record_id: str) -> None:
        if not self.get_push(org_id, record_id).failure_pending:
            return
        self._read().pop(f"{org_id}#{record_id}", None)
        self._ledger.resolve(f"push-failure#{org_id}#{record_id}")
        self._client.update_item(
            TableName=self._table, Key=_push_key(org_id, record_id), UpdateExpression="REMOVE failure_pending"
        )


def _push_record(item: dict[str, Any]) -> PushRecord:
    sent = None
    if "order_number" in item:
        sent = SentOrder(
            zuora_account_number=item["zuora_account_number"]["S"],
            order_number=item["order_number"]["S"],
            subscription_numbers=[v["S"] for v in item.get("subscription_numbers", {}).get("L", [])],
            sent_at=item["sent_at"]["S"],
            sent_by=item.get("sent_by", {}).get("S", ""),
        )
    return PushRecord(
        int(item.get("attempt", {}).get("N", "0")), sent, bool(item.get("failure_pending", {}).get("BOOL", False))
    )
