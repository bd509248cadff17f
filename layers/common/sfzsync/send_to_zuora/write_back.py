"""Write-back: after each Order push, the integration user writes onto Salesforce what Zuora made of it.

Each order product gets the Zuora subscription number, its rate plan id and charge numbers. The rate plan id is the
one it got when it was added (`originalRatePlanId`): the same in every later subscription version, and accepted by
Zuora in later order actions ("the latest version or any history version id", published schema);
the Order gets the Zuora order and subscription numbers, `Sent` or `Failed`, the error text and the time (field names
under `sendToZuora.writeBack`). The rate plans are found in Zuora by the custom field carrying the order product Id,
so the same values can be written again from Zuora alone when an earlier write-back was lost.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from sfzsync.errors import UpstreamError
from sfzsync.gateways.salesforce_records import OrderLine, OrderRecord
from sfzsync.gateways.zuora_subscriptions import SubscriptionRatePlan, ZuoraSubscription
from sfzsync.observability import count, logger
from sfzsync.send_to_zuora.plans import WriteBackResult
from sfzsync.settings import WriteBackFields, ZuoraLinkFields

SENT, FAILED = "Sent", "Failed"
MAX_ERROR_TEXT = 255


class RecordWriter(Protocol):
    def update_records(self, records: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Update (sObject, Id, fields) records as the integration user."""
        ...


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class WriteBack:
    def __init__(self, writer: RecordWriter, fields: WriteBackFields, links: ZuoraLinkFields) -> None:
        self._writer = writer
        self._fields = fields
        self._links = links

    def records(
        self, order: OrderRecord, order_number: str, subscription: ZuoraSubscription
    ) -> list[tuple[str, str, dict[str, Any]]]:
        item, head = self._fields.orderItem, self._fields.order
        number = subscription.subscription_number
        records: list[tuple[str, str, dict[str, Any]]] = [
            (
                "Order",
                order.order_id,
                {
                    head.orderNumber: order_number or None,
                    head.subscriptionNumber: number,
                    head.syncStatus: SENT,
                    head.syncError: None,
                    head.lastSync: _now(),
                },
            )
        ]
        for line in order.lines:
            plan = self._rate_plan(line, order, subscription)
            records.append(
                (
                    "OrderItem",
                    line.item_id,
                    {
                        item.subscriptionNumber: number,
                        item.ratePlanId: plan.original_rate_plan_id if plan else None,
                        item.chargeNumbers: ",".join(c.number for c in plan.charges) if plan else None,
                    },
                )
            )
        return records

    def sent(self, order: OrderRecord, order_number: str, subscription: ZuoraSubscription) -> WriteBackResult:
        try:
            self._writer.update_records(self.records(order, order_number, subscription))
        except UpstreamError as error:
            logger.warning(
                "write-back failed",
                extra={"salesforce_order_id": order.order_id, "code": error.code, "stage": error.stage},
            )
            count("WriteBackFailed")
            return WriteBackResult(False, f"{error.code}: {error.message}")
        return WriteBackResult(True)

    def failed(self, order: OrderRecord, message: str) -> None:
        """Best effort: mark the Order `Failed` with Zuora's reason (the page says it too, whatever happens here)."""
        head = self._fields.order
        values = {head.syncStatus: FAILED, head.syncError: message[:MAX_ERROR_TEXT], head.lastSync: _now()}
        try:
            self._writer.update_records([("Order", order.order_id, values)])
        except UpstreamError as error:
            logger.warning("failure write-back failed", extra={"code": error.code, "stage": error.stage})

    def complete(self, order: OrderRecord) -> bool:
        """Whether Salesforce already holds an earlier push's result on the Order and every order product."""
        written = order.written
        return (
            written.sync_status == SENT
            and bool(written.order_number)
            and all(line.written.subscription_number for line in order.lines)
        )

    def _rate_plan(
        self, line: OrderLine, order: OrderRecord, subscription: ZuoraSubscription
    ) -> SubscriptionRatePlan | None:
        found = subscription.rate_plan_of(self._links.ratePlan, line.item_id)
        if found is None and line.origin_id:
            origin = order.origins.get(line.origin_id)
            if origin and origin.written.rate_plan_id:
                found = subscription.rate_plan_by_id(origin.written.rate_plan_id)
            found = found or subscription.rate_plan_of(self._links.ratePlan, line.origin_id)
        return found
