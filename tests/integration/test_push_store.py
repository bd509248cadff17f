"""The button's push records in DynamoDB (sfzsync.send_to_zuora.store), over loopback to the sandbox's moto server:
a push reads its records once, in one round trip, and touches the failure ledger only when a failure is pending."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from sandbox.stack import TABLE_NAME, Sandbox
from sfzsync.operations.ledger import Failure, FailureLedger
from sfzsync.send_to_zuora.store import DynamoDBPushStore, SentOrder

ORG = "00D000000000001EAA"
ORDER = "801000000000001AAA"
ACCOUNT = "001000000000001AAA"
SENT = SentOrder("A00000001", "O-00000001", ["A-S00000001"], "2026-11-30T12:00:00+00:00", "005000000000001AAA")


class Counted:
    """A DynamoDB client that counts the operations it sends."""

    def __init__(self) -> None:
        self.client = boto3.client("dynamodb")
        self.sent: list[str] = []
        self.client.meta.events.register("before-send.dynamodb", self._count)

    def _count(self, request: Any, **_: Any) -> None:
        self.sent.append(request.headers["X-Amz-Target"].decode().split(".")[-1])


@pytest.fixture
def counted(sandbox: Sandbox) -> Iterator[Counted]:
    with sandbox.aws_environment():
        yield Counted()


def test_a_push_reads_its_order_and_account_records_in_one_round_trip(counted: Counted) -> None:
    # Given an Order already sent and an Account never pushed
    store = DynamoDBPushStore(counted.client, TABLE_NAME)
    store.mark_sent(ORG, ORDER, SENT)
    store.bump_push_attempt(ORG, ACCOUNT)
    counted.sent.clear()
    # When a new push reads both records, then asks for each
    store.begin_push()
    store.read_pushes(ORG, [ORDER, ACCOUNT])
    order, account = store.get_push(ORG, ORDER), store.get_push(ORG, ACCOUNT)
    # Then one BatchGetItem answered both, with what was written
    assert counted.sent == ["BatchGetItem"]
    assert order.sent == SENT
    assert account.attempt == 1 and account.sent is None


def test_a_record_never_written_reads_as_empty(counted: Counted) -> None:
    # Given no push record for an Order
    store = DynamoDBPushStore(counted.client, TABLE_NAME)
    # When a push reads it
    store.read_pushes(ORG, [ORDER])
    # Then it has no attempt and was never sent, and asking again costs nothing
    record = store.get_push(ORG, ORDER)
    assert (record.attempt, record.sent, record.failure_pending) == (0, None, False)
    assert counted.sent == ["BatchGetItem"]


def test_a_successful_push_without_a_pending_failure_writes_nothing_to_the_ledger(counted: Counted) -> None:
    # Given a push that read its record and sent the Order
    store = DynamoDBPushStore(counted.client, TABLE_NAME)
    store.read_pushes(ORG, [ORDER])
    store.mark_sent(ORG, ORDER, SENT)
    counted.sent.clear()
    # When its success is reported
    store.resolve_failure(ORG, ORDER)
    # Then no DynamoDB call is made (the push record said no failure was pending)
    assert counted.sent == []


def test_a_failure_recorded_by_one_push_is_resolved_by_the_next_successful_one(counted: Counted) -> None:
    # Given a push that failed
    store = DynamoDBPushStore(counted.client, TABLE_NAME)
    store.record_failure(ORG, ORDER, Failure("zuora", "ZUORA_ERROR", 502, True, "req-1"))
    # When a later push of the same Order reads its record and succeeds
    store.begin_push()
    store.read_pushes(ORG, [ORDER])
    assert store.get_push(ORG, ORDER).failure_pending
    store.mark_sent(ORG, ORDER, SENT)
    store.resolve_failure(ORG, ORDER)
    # Then the ledger shows the failure resolved and the push record no longer flags it
    [record] = FailureLedger(counted.client, TABLE_NAME).list(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert record.kind == "push" and record.resolved_at is not None
    store.begin_push()
    assert not store.get_push(ORG, ORDER).failure_pending
