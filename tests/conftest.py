"""Shared fixtures: the sandbox on loopback and the real handlers, loaded once per session (a cold start).

Used by tests/integration and tests/browser. The sandbox starts only for tests that ask for it; tests/integration
resets it before every test (its conftest makes `clean_sandbox` autouse).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

# As in a deployed function, Powertools' settings are in the environment before the package is imported (its one
# Logger and Metrics read them then), whichever test module happens to import it first.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "sfzsync")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "SfzSync")

from sandbox.api_gateway import LocalApiGateway, deployed_routes
from sandbox.invoke import checkout_event, invoke, load_handler
from sandbox.stack import SIGNING_SECRET, Sandbox, SandboxOptions
from tests.log_audit import AUDIT, Finding
from tests.log_audit import report as audit_report

CheckoutCall = Callable[..., dict[str, Any]]
AUDIT_FINDINGS = pytest.StashKey[list[Finding]]()


# --- log audit (tests/log_audit.py): every log line of the session, checked once at the end ----------------


def pytest_configure(config: pytest.Config) -> None:
    logging.getLogger().addHandler(AUDIT)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "teardown":  # its sections hold the output of setup, call and teardown
        for name, text in report.sections:
            if name.startswith(("Captured stdout", "Captured stderr")):
                AUDIT.add(f"{name.lower()} of {report.nodeid}", text)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    findings = AUDIT.findings()
    session.config.stash[AUDIT_FINDINGS] = findings
    if os.environ.get("LOG_AUDIT_DUMP"):  # a file to read every audited line in
        with open(os.environ["LOG_AUDIT_DUMP"], "w", encoding="utf-8") as dump:
            dump.writelines(f"{source}\t{line}\n" for source, line in AUDIT.lines)
    if findings and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    findings = config.stash.get(AUDIT_FINDINGS, [])
    if findings:
        terminalreporter.section("log audit", red=True)
        terminalreporter.write_line(f"{len(findings)} log lines leak what logs must not hold:")
        terminalreporter.write_line(audit_report(findings))
    else:
        lines = len(AUDIT.lines)
        terminalreporter.write_line(f"log audit: {lines} log lines, no secret, token, signature, cookie or email")


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxOptions(read_timeout=2.0)) as running, running.aws_environment():
        AUDIT.watch(running)
        yield running


@pytest.fixture
def clean_sandbox(sandbox: Sandbox) -> Iterator[Sandbox]:
    """Each test starts from empty simulators and table, and ends with no Zuora schema violation."""
    sandbox.reset()
    yield sandbox
    assert sandbox.zuora.schema_violations == [], "a Zuora request body broke Zuora's published OpenAPI schema"


@pytest.fixture(scope="session")
def checkout_app(sandbox: Sandbox) -> ModuleType:
    assert os.environ["SECRET_ID"]
    return load_handler("checkout")


@pytest.fixture(scope="session")
def send_to_zuora_app(sandbox: Sandbox) -> ModuleType:
    return load_handler("send_to_zuora")


@pytest.fixture(scope="session")
def button_api(sandbox: Sandbox, send_to_zuora_app: ModuleType, checkout_app: ModuleType) -> Iterator[LocalApiGateway]:
    """Both functions behind API Gateway on loopback (HTTPS with the sandbox CA), as deployed by template.yaml."""
    with LocalApiGateway(
        deployed_routes(checkout_app, send_to_zuora_app), ssl_context=sandbox.ca.server_context()
    ) as gateway:
        yield gateway


@pytest.fixture
def reconfigured(sandbox: Sandbox) -> Iterator[Callable[..., ModuleType]]:
    """Rewrite the secret with other options and cold-start a new handler on it; restores the options after."""
    saved = SandboxOptions(**vars(sandbox.options))

    def load(**changes: Any) -> ModuleType:
        sandbox.configure(**changes)
        with sandbox.aws_environment():  # options that live in the environment too (e.g. read_timeout)
            return load_handler("checkout")

    yield load
    sandbox.configure(**vars(saved))


@pytest.fixture
def post_checkout(checkout_app: ModuleType) -> CheckoutCall:
    """Send one signed checkout through the handler as API Gateway would; returns the proxy response."""

    def call(
        body: dict[str, Any] | str,
        key: str | None = "checkout-0001",
        *,
        secret: str | None = SIGNING_SECRET,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        return invoke(checkout_app, checkout_event(body, key, secret, timestamp))

    return call


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def header_of(response: dict[str, Any], name: str) -> str | None:
    """A response header as API Gateway would send it (REST proxy responses use multiValueHeaders)."""
    values = {k.lower(): v for k, v in (response.get("multiValueHeaders") or {}).items()}
    single = {k.lower(): [v] for k, v in (response.get("headers") or {}).items()}
    found = values.get(name.lower()) or single.get(name.lower())
    return ",".join(found) if found else None
