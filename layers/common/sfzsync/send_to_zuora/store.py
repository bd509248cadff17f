"""The button's DynamoDB records: a lock per Salesforce Account (pushes of its records one at a time) and one
push record per Salesforce record (Zuora key attempts so far; for an Order, its result once sent, kept forever:
an Order sent once stays sent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sfzsync.gateways.dynamodb import DynamoDBClient, HeldLock, RecordLock


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
    def acquire_lock(self, name: str, wait_seconds: float) -> HeldLock: ...

    def release_lock(self, lock: HeldLock) -> None: ...

    def get_push(self, org_id: str, record_id: str) -> PushRecord: ...

    def bump_push_attempt(self, org_id: str, record_id: str) -> None: ...

    def mark_sent(self, org_id: str, order_id: str, sent: SentOrder) -> None: ...


def _push_key(org_id: str, record_id: str) -> dict[str, Any]:
    return {"id": {"S": f"push#{org_id}#{record_id}"}}


class DynamoDBPushStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._locks = RecordLock(client, table_name)

    def acquire_lock(self, name: str, wait_seconds: float) -> HeldLock:
        return self._locks.acquire(name, wait_seconds)

    def release_lock(self, lock: HeldLock) -> None:
        self._locks.release(lock)

    def get_push(self, org_id: str, record_id: str) -> PushRecord:
        item = self._client.get_item(TableName=self._table, Key=_push_key(org_id, record_id), ConsistentRead=True).get(
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

    def bump_push_attempt(self, org_id: str, record_id: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_push_key(org_id, record_id),
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
