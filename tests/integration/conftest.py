"""Integration fixtures: every test starts from a clean sandbox. The fixtures themselves are in tests/conftest.py."""

from __future__ import annotations

import pytest

from sandbox.demo_data import checkout_body
from sandbox.stack import Sandbox
from tests.conftest import CheckoutCall, body_of, header_of

__all__ = ["CheckoutCall", "body_of", "checkout_body", "header_of"]


@pytest.fixture(autouse=True)
def _clean_sandbox(clean_sandbox: Sandbox) -> Sandbox:
    """Empty simulators and table before each integration test; no Zuora schema violation after it."""
    return clean_sandbox
