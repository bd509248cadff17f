"""What the button's unit tests share: a signed-in session, Salesforce records, and fakes of the Zuora gateway
and the push store."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace

from sfzsync.gateways.salesforce_user import AccountRecord, Address, ContactRecord, OrderLine
from sfzsync.gateways.zuora import ZuoraAccount
from sfzsync.send_to_zuora.cookies import UserSession
from sfzsync.send_to_zuora.flow import SendToZuoraFlow
from sfzsync.send_to_zuora.store import PushRecord
from sfzsync.settings import SendToZuoraSettings

ALLOWED = ["acme.my.salesforce.com"]
KEY = "k" * 40


def session(**changes: object) -> UserSession:
    base = UserSession(
        "sid-1",
        "005000000000001AAA",
        "00D000000000001AAA",
        "acme.my.salesforce.com",
        "token",
        "https://acme.my.salesforce.com",
        "Ann Admin",
        time.time() + 600,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


class FakeZuora:
    def __init__(self, accounts: list[ZuoraAccount] | None = None) -> None:
        self.accounts = accounts or []

    def find_accounts_by_crm_id(self, crm_id: str) -> list[ZuoraAccount]:
        return self.accounts


class FakeStore:
    def get_push(self, org_id: str, order_id: str) -> PushRecord:
        return PushRecord()


ACCOUNT = AccountRecord(
    "001000000000001AAA",
    "Acme <Corp>",
    None,
    Address("1 Main St", "Springfield", "IL", "62701", "US"),
    ContactRecord("Ann", "Lee", "ann@acme.com", None),
)


def line(**changes: object) -> OrderLine:
    base = OrderLine(
        "802000000000001AAA",
        "Platform",
        "8ad0rateplan01",
        "8ad0charge01",
        3.0,
        dt.date(2026, 12, 1),
        None,
        12,
        "Recurring",
        "Monthly",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def flow(accounts: list[ZuoraAccount] | None = None) -> SendToZuoraFlow:
    return SendToZuoraFlow(FakeZuora(accounts), FakeStore(), SendToZuoraSettings(), "00D000000000001AAA")  # type: ignore[arg-type]
