"""Chaos fixtures: both handlers cold-started against the sandbox with short timeouts and DynamoDB behind a fault
proxy, API Gateway on loopback in front of them, and the report `make chaos` prints (cells tried, survived,
duplicates found, checkouts lost)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest
from botocore.retries import standard

from sandbox.api_gateway import LocalApiGateway, deployed_routes
from sandbox.aws_proxy import AwsFaultProxy
from sandbox.invoke import load_handler
from sandbox.stack import Sandbox
from tests.chaos.matrix import CHECKOUT_CALLS, FAULTS, PUSH_CALLS, na_cells, not_applicable

READ_TIMEOUT_SECONDS = 0.5
LOCK_WAIT_SECONDS = 1.0
LAMBDA_TIMEOUT_SECONDS = 4.0  # the context's remaining time: bounds Powertools' in-progress window
AWS_BACKOFF_SCALE = 0.05


@contextlib.contextmanager
def environment(**overrides: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass
class Chaos:
    """The sandbox, the DynamoDB fault proxy, the handlers that use it, and API Gateway in front of them."""

    sandbox: Sandbox
    aws: AwsFaultProxy
    checkout: ModuleType
    send_to_zuora: ModuleType
    api: LocalApiGateway

    def clear_faults(self) -> None:
        for server in (self.sandbox.salesforce, self.sandbox.zuora, self.aws):
            server.clear_faults()

    def reset(self) -> None:
        """Empty simulators, table and call logs; no fault left anywhere."""
        self.sandbox.reset()
        self.aws.reset()

    def server(self, system: str) -> Any:
        return {"salesforce": self.sandbox.salesforce, "zuora": self.sandbox.zuora, "dynamodb": self.aws}[system]


@pytest.fixture(scope="session")
def chaos(sandbox: Sandbox) -> Iterator[Chaos]:
    aws = AwsFaultProxy(sandbox.aws_endpoint)
    aws.start()
    overrides = {
        "AWS_ENDPOINT_URL": aws.url,
        "UPSTREAM_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT_SECONDS),
        "DYNAMODB_CONNECT_TIMEOUT_SECONDS": str(READ_TIMEOUT_SECONDS),
        "DYNAMODB_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT_SECONDS),
        "CUSTOMER_LOCK_WAIT_SECONDS": str(LOCK_WAIT_SECONDS),
        "SALESFORCE_ALLOWANCE_COOLDOWN_SECONDS": "0.5",  # the breaker a request-limit cell opens closes for the next
    }
    with environment(**overrides):
        checkout, send_to_zuora = load_handler("checkout"), load_handler("send_to_zuora")
    try:
        with LocalApiGateway(deployed_routes(checkout, send_to_zuora), ssl_context=sandbox.ca.server_context()) as api:
            yield Chaos(sandbox, aws, checkout, send_to_zuora, api)
    finally:
        aws.stop()


@pytest.fixture(autouse=True, scope="package")
def quick_aws_backoff() -> Iterator[None]:
    """botocore sleeps up to 1 + 2 + 4 s between the attempts at a failing DynamoDB call. Here those sleeps are
    20 times shorter; which errors are retried, and how many times, stays botocore's own."""
    with pytest.MonkeyPatch.context() as patch:
        delay = standard.ExponentialBackoff.delay_amount
        patch.setattr(
            standard.ExponentialBackoff,
            "delay_amount",
            lambda self, context: delay(self, context) * AWS_BACKOFF_SCALE,
        )
        yield


# --- the report -------------------------------------------------------------------------------------------


@dataclass
class CellResult:
    flow: str
    call: str
    fault: str
    expected: str
    first: str
    attempts: int
    final: str
    accounts: int  # Salesforce Accounts of the customer (checkout) / Zuora accounts of the Account (push)
    subscriptions: int
    seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def duplicate(self) -> bool:
        return self.accounts > 1 or self.subscriptions > 1

    @property
    def lost(self) -> bool:
        return self.final not in ("201", "200")

    @property
    def survived(self) -> bool:
        return not self.problems and not self.duplicate and not self.lost


RESULTS: list[CellResult] = []


COLUMNS = {
    "HTTP 500": "500",
    "HTTP 502": "502",
    "HTTP 503": "503",
    "HTTP 429 + Retry-After (DynamoDB: throttled)": "429",
    "read timeout": "tmo",
    "connection reset": "rst",
    "token expired mid-flow (401)": "401",
    "Salesforce UNABLE_TO_LOCK_ROW": "lck",
    "Salesforce REQUEST_LIMIT_EXCEEDED": "lim",
    **{f"Zuora success:false, category {c}": f"z{c}" for c in (20, 30, 50, 61, 70)},
    "commits, then the answer times out": "c+t",
    "commits, then the connection resets": "c+r",
}


def _grid(write: Any) -> None:
    """Calls down, faults across: ok / FAIL / a letter naming why the cell is not applicable."""
    reasons: dict[str, str] = {}
    ran = {(r.call, r.fault): r for r in RESULTS}
    calls = CHECKOUT_CALLS + PUSH_CALLS
    write(f"{'':<42}" + "".join(f"{code:>5}" for code in COLUMNS.values()))
    for call in calls:
        row = []
        for kind in FAULTS:
            reason = not_applicable(call, kind)
            if reason is not None:
                row.append(reasons.setdefault(reason, "abcdefghijklmnopqrstuvwxyz"[len(reasons)]))
            elif (call.id, kind.label) in ran:
                row.append("ok" if ran[(call.id, kind.label)].survived else "FAIL")
            else:
                row.append("-")
        write(f"{call.id:<42}" + "".join(f"{cell:>5}" for cell in row))
    write("")
    write("Not applicable (letters above); '-' was not run:")
    for reason, letter in reasons.items():
        write(f"  {letter}  {reason}")
    write("")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fault matrix")
    if os.environ.get("CHAOS_REPORT") == "full":
        _grid(write)
        write(f"{'call':<42} {'fault':<44} {'expected first':<30} {'got first':<38} {'tries':>5} {'final':>5}")
        for r in RESULTS:
            flag = "" if r.survived else "   <-- " + "; ".join(r.problems or ["duplicate" if r.duplicate else "lost"])
            write(f"{r.call:<42} {r.fault:<44} {r.expected:<30} {r.first:<38} {r.attempts:>5} {r.final:>5}{flag}")
        write("")
    for r in RESULTS:
        if not r.survived:
            write(f"FAILED CELL {r.call} x {r.fault}: first {r.first}, final {r.final}: {'; '.join(r.problems)}")
    lost = sum(r.lost for r in RESULTS if r.flow == "checkout")
    pushes_lost = sum(r.lost for r in RESULTS if r.flow == "push")
    na = len(na_cells(CHECKOUT_CALLS + PUSH_CALLS))
    write(
        f"cells tried: {len(RESULTS)}, survived: {sum(r.survived for r in RESULTS)}, "
        f"duplicates found: {sum(r.duplicate for r in RESULTS)}, checkouts lost: {lost}, pushes lost: {pushes_lost} "
        f"(not applicable: {na}; {sum(r.seconds for r in RESULTS):.0f} s in cells)"
    )
