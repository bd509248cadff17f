"""Browser fixtures: Debian's Chromium driven by Playwright (sync API), and LocalApiGateway over the sandbox's TLS.

Chromium comes from `make setup` (scripts/install-chromium), never from `playwright install`; without
/usr/bin/chromium the browser tests fail (a skipped browser test would prove nothing). `save_screenshot`
writes the PNGs into `.cache/screenshots/` (a test run leaves the work tree as it was), or into
`$SCREENSHOTS_DIR` when set: `make screenshots` sets it to `docs/screenshots`, the pictures the README shows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from sandbox.api_gateway import LocalApiGateway
from sandbox.stack import Sandbox

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or ROOT / ".cache" / "screenshots")

StartGateway = Callable[..., LocalApiGateway]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session (Playwright gives it a fresh user-data-dir)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` as root (scripts/install-chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a new browser context (own cookies and storage) that accepts the sandbox's self-signed TLS."""
    context = browser.new_context(ignore_https_errors=True)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def api_gateway(sandbox: Sandbox) -> Iterator[StartGateway]:
    """`api_gateway(routes, **options)` starts a LocalApiGateway over HTTPS (sandbox CA); all stop after the test."""
    started: list[LocalApiGateway] = []

    def start(routes: dict[tuple[str, str], ModuleType], **options: Any) -> LocalApiGateway:
        gateway = LocalApiGateway(routes, ssl_context=sandbox.ca.server_context(), **options).start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


def save_screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save the page as <SCREENSHOTS>/<name>.png and return the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
