"""The checkout's DynamoDB items: Powertools' idempotency record (which also carries the checkpoint), the customer
lock, and the failure ledger's record.

The lock (see `gateways.dynamodb.RecordLock`, named by the normalised email) serialises lookup+create for one
customer across concurrent checkouts. The checkpoint remembers, for one Idempotency-Key, the hash of the request it
belongs to, the Salesforce Account chosen and which Zuora Idempotency-Key is live, so a retry after a failure
finishes the same checkout instead of deciding again, and a different body under that key is refused.

A first checkout costs three DynamoDB round trips, a replay one. `CheckoutRecordLayer`, a Powertools persistence
layer ("bring your own persistence store" in the idempotency docs), claims the record and takes the customer's lock
in one transaction, on the condition that the record holds no checkpoint; cancelled, the transaction returns the
record as it was (`ReturnValuesOnConditionCheckFailure`): a stored response to replay, a run in progress, or the
checkpoint of an earlier failed attempt, which the layer then claims alone (an UpdateItem returning it). The
checkpoint is saved as the lock goes, before Zuora is called, so a run that dies after Zuora answered leaves its
retry the resume point; the completion is Powertools' one write. A failed attempt keeps its checkpoint on the
record and only gives up the claim, where Powertools' own layer deletes the record.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord
from botocore.exceptions import ClientError

from sfzsync.gateways.dynamodb import DynamoDBClient, HeldLock, RecordLock, digest, wait_for
from sfzsync.operations.ledger import Failure, FailureLedger, key_hash

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import UpdateTypeDef


@dataclass(frozen=True)
class Checkpoint:
    account_id: str
    matched_by: str
    request_hash: str
    order_date: str
    zuora_attempt: int = 0


@dataclass(frozen=True)
class Progress:
    """What is saved of one Idempotency-Key (its checkpoint, whether a failed attempt awaits a success) and the
    customer's lock when the claim took it."""

    checkpoint: Checkpoint | None = None
    failure_pending: bool = False
    lock: HeldLock | None = None


class CheckoutStore(Protocol):
    def get_progress(self, idempotency_key: str) -> Progress: ...

    def acquire_lock(self, customer_key: str, wait_seconds: float, idempotency_key: str = "") -> HeldLock: ...

    def release_lock(self, lock: HeldLock | None, idempotency_key: str, checkpoint: Checkpoint | None) -> None:
        """Drop the lock, if held, and save the checkpoint, if given: one write."""
        ...

    def record_failure(self, idempotency_key: str, failure: Failure, customer: str | None) -> None: ...

    def resolve_failure(self, idempotency_key: str) -> None: ...


@dataclass(frozen=True)
class LockRequest:
    """The customer's lock the claim should take with it (set by the service before the idempotent call)."""

    customer_key: str
    idempotency_key: str
    wait_seconds: float


@dataclass
class _Claim:
    """One run of the checkout, from Powertools' claim of its record to the record's completion or release."""

    key: dict[str, Any]
    before: dict[str, Any]  # the record's attributes before the claim, when they were read ({} for a fresh claim)
    lock: HeldLock | None = None
    failed: bool = False


LOCK_REQUEST: ContextVar[LockRequest | None] = ContextVar("checkout_lock_request", default=None)
_CLAIM: ContextVar[_Claim | None] = ContextVar("checkout_claim", default=None)
CHECKPOINT_FIELDS = ("account_id", "matched_by", "request_hash", "order_date", "zuora_attempt")


def _checkpoint_of(item: dict[str, Any]) -> Checkpoint | None:
    # A record without a request hash cannot prove which body it belongs to: ignored, so the retry decides again
    # (the lock and the Salesforce lookup find what the earlier attempt created).
    if "request_hash" not in item or "account_id" not in item:
        return None
    return Checkpoint(
        account_id=item["account_id"]["S"],
        matched_by=item["matched_by"]["S"],
        request_hash=item["request_hash"]["S"],
        order_date=item["order_date"]["S"],
        zuora_attempt=int(item.get("zuora_attempt", {}).get("N", "0")),
    )


def _checkpoint_values(checkpoint: Checkpoint) -> tuple[str, dict[str, Any]]:
    """`SET` clauses and their values for the checkpoint's fields."""
    values = {
        ":cp_account_id": {"S": checkpoint.account_id},
        ":cp_matched_by": {"S": checkpoint.matched_by},
        ":cp_request_hash": {"S": checkpoint.request_hash},
        ":cp_order_date": {"S": checkpoint.order_date},
        ":cp_zuora_attempt": {"N": str(checkpoint.zuora_attempt)},
    }
    return ", ".join(f"{name} = :cp_{name}" for name in CHECKPOINT_FIELDS), values


# Powertools' conditions for a claim, and one more: a record an earlier failed attempt gave up (no status, its
# checkpoint kept). The fast claim (with the lock) also needs the record to hold neither checkpoint nor failure flag.
_CLAIMABLE = (
    "(attribute_not_exists(#id) OR attribute_not_exists(#status) OR #expiry < :now OR "
    "(#status = :inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis))"
)
_FRESH = (
    "attribute_not_exists(#id) OR (" + _CLAIMABLE + " AND attribute_not_exists(account_id) AND "
    "attribute_not_exists(failure_pending))"
)


class CheckoutRecordLayer(DynamoDBPersistenceLayer):
    """Powertools' DynamoDB layer with the claim, completion and release above (table: `id`, TTL `expiration`)."""

    def __init__(self, client: DynamoDBClient, table_name: str, locks: RecordLock) -> None:
        super().__init__(table_name=table_name, boto3_client=client)
        self._locks = locks

    def _put_record(self, data_record: DataRecord) -> None:
        request = LOCK_REQUEST.get()
        if request is None:
            self._claim_alone(data_record)
            return
        lock = self._locks.lock_for(request.customer_key, request.idempotency_key)

        def claim_with_lock() -> bool:
            claim = self._claim_update(data_record, _FRESH)
            try:
                self.client.transact_write_items(
                    TransactItems=[
                        {"Update": claim},
                        {"Put": self._locks.acquire_item(lock)},
                    ]
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons: list[dict[str, Any]] = exc.response.get("CancellationReasons", [])  # type: ignore[assignment]
                record_reason = reasons[0] if reasons else {}
                if record_reason.get("Code") == "ConditionalCheckFailed":
                    old = record_reason.get("Item") or {}
                    if old and not self._claimable(old):
                        self._already_exists(data_record, old, exc)
                    self._claim_alone(data_record)  # an earlier attempt's checkpoint (or failure) to read back
                    return True
                return False  # the customer is busy (or a concurrent transaction): wait and try again
            _CLAIM.set(_Claim(dict(claim["Key"]), {}, lock))
            return True

        wait_for(claim_with_lock, request.wait_seconds)

    def _claim_update(self, data_record: DataRecord, condition: str) -> UpdateTypeDef:
        now = time.time()
        names = {
            "#id": self.key_attr,
            "#expiry": self.expiry_attr,
            "#status": self.status_attr,
            "#in_progress_expiry": self.in_progress_expiry_attr,
        }
        values: dict[str, Any] = {
            ":expiry_value": {"N": str(data_record.expiry_timestamp)},
            ":inprogress": {"S": STATUS_CONSTANTS["INPROGRESS"]},
            ":now": {"N": str(int(now))},
            ":now_in_millis": {"N": str(int(now * 1000))},
        }
        sets = ["#expiry = :expiry_value", "#status = :inprogress"]
        if data_record.in_progress_expiry_timestamp is not None:
            sets.append("#in_progress_expiry = :in_progress_expiry_value")
            values[":in_progress_expiry_value"] = {"N": str(data_record.in_progress_expiry_timestamp)}
        if self.payload_validation_enabled and data_record.payload_hash:
            sets.append("#validation = :validation_value")
            names["#validation"] = self.validation_key_attr
            values[":validation_value"] = {"S": data_record.payload_hash}
        return {
            "TableName": self.table_name,
            "Key": self._get_key(data_record.idempotency_key),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",  # the record as it is, when it is not ours to claim
        }

    def _claim_alone(self, data_record: DataRecord) -> None:
        """Claim the record with one UpdateItem that returns it as it was (an earlier attempt's checkpoint)."""
        claim = self._claim_update(data_record, _CLAIMABLE)
        try:
            answer = self.client.update_item(**claim, ReturnValues="ALL_OLD")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            self._already_exists(data_record, exc.response.get("Item") or {}, exc)  # type: ignore[arg-type]
        before = answer.get("Attributes", {})
        if int(before.get(self.expiry_attr, {}).get("N", "0")) < time.time():  # an expired record's checkpoint
            before = {}
        _CLAIM.set(_Claim(dict(claim["Key"]), before))

    def _claimable(self, item: dict[str, Any]) -> bool:
        now = time.time()
        status = item.get(self.status_attr, {}).get("S")
        if status is None or int(item.get(self.expiry_attr, {}).get("N", "0")) < now:
            return True
        in_progress_expiry = item.get(self.in_progress_expiry_attr, {}).get("N")
        return (
            status == STATUS_CONSTANTS["INPROGRESS"]
            and in_progress_expiry is not None
            and (int(in_progress_expiry) < now * 1000)
        )

    def _already_exists(self, data_record: DataRecord, item: dict[str, Any], cause: Exception) -> None:
        """As Powertools' own layer answers a record that is there: replay it, or say the run is in progress."""
        if not item:
            raise IdempotencyItemAlreadyExistsError() from cause
        old_record = self._item_to_data_record(item)
        try:
            self._validate_payload(data_payload=data_record, stored_data_record=old_record)
        except IdempotencyValidationError as validation_error:
            raise validation_error from cause
        self._save_to_cache(data_record=old_record)
        raise IdempotencyItemAlreadyExistsError(old_data_record=old_record) from cause

    def _update_record(self, data_record: DataRecord) -> None:
        claim = _CLAIM.get()
        _CLAIM.set(None)
        expression = "SET #response_data = :response_data, #expiry = :expiry, #status = :status"
        names = {"#expiry": self.expiry_attr, "#response_data": self.data_attr, "#status": self.status_attr}
        values: dict[str, Any] = {
            ":expiry": {"N": str(data_record.expiry_timestamp)},
            ":response_data": {"S": data_record.response_data},
            ":status": {"S": data_record.status},
        }
        if self.payload_validation_enabled:
            expression += ", #validation_key = :validation_key"
            names["#validation_key"] = self.validation_key_attr
            values[":validation_key"] = {"S": data_record.payload_hash}
        if claim is not None and "failure_pending" in claim.before:
            expression += " REMOVE failure_pending"
        self.client.update_item(
            TableName=self.table_name,
            Key=self._get_key(data_record.idempotency_key),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def _delete_record(self, data_record: DataRecord) -> None:
        """A failed attempt gives its claim up, keeping the checkpoint (and the failure flag) for the retry."""
        claim = _CLAIM.get()
        _CLAIM.set(None)
        update = "REMOVE #status, #response_data, #in_progress_expiry"
        values: dict[str, Any] = {}
        if claim is not None and claim.failed:
            update = "SET failure_pending = :pending " + update
            values[":pending"] = {"BOOL": True}
        self.client.update_item(
            TableName=self.table_name,
            Key=self._get_key(data_record.idempotency_key),
            UpdateExpression=update,
            ExpressionAttributeNames={
                "#status": self.status_attr,
                "#response_data": self.data_attr,
                "#in_progress_expiry": self.in_progress_expiry_attr,
            },
            **({"ExpressionAttributeValues": values} if values else {}),  # type: ignore[arg-type]
        )


def _current_claim() -> _Claim:
    claim = _CLAIM.get()
    if claim is None:
        raise RuntimeError("the checkout store is used outside the idempotent checkout")
    return claim


class DynamoDBCheckoutStore:
    """The store on the idempotency table, beside the `CheckoutRecordLayer` the checkout is idempotent on."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._locks = RecordLock(client, table_name)
        self._ledger = FailureLedger(client, table_name)

    def get_progress(self, idempotency_key: str) -> Progress:
        """From the claim's answer: no round trip of its own."""
        claim = _current_claim()
        return Progress(_checkpoint_of(claim.before), "failure_pending" in claim.before, claim.lock)

    def acquire_lock(self, customer_key: str, wait_seconds: float, idempotency_key: str = "") -> HeldLock:
        return self._locks.acquire(customer_key, wait_seconds, idempotency_key)

    def release_lock(self, lock: HeldLock | None, idempotency_key: str, checkpoint: Checkpoint | None) -> None:
        if checkpoint is None:
            if lock is not None:
                self._locks.release(lock)
            return
        sets, values = _checkpoint_values(checkpoint)
        save: UpdateTypeDef = {
            "TableName": self._table,
            "Key": _current_claim().key,
            "UpdateExpression": f"SET {sets}",
            "ExpressionAttributeValues": values,
        }
        if lock is None:
            self._client.update_item(**save)
            return
        try:
            self._client.transact_write_items(
                TransactItems=[{"Delete": self._locks.release_item(lock)}, {"Update": save}]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            self._client.update_item(**save)  # the lease had lapsed and another checkout took the lock

    def record_failure(self, idempotency_key: str, failure: Failure, customer: str | None) -> None:
        self._ledger.record(
            f"checkout#{digest(idempotency_key)}", "checkout", key_hash(idempotency_key), failure, customer
        )
        claim = _CLAIM.get()
        if claim is not None:
            claim.failed = True

    def resolve_failure(self, idempotency_key: str) -> None:
        self._ledger.resolve(f"checkout#{digest(idempotency_key)}")
