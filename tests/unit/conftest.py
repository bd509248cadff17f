"""Unit tests: the package's code alone, with no server and no network. Sockets are blocked for every test here
(pytest-socket), so a test that would reach Salesforce, Zuora or AWS fails instead of quietly needing a server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings
from pytest_socket import disable_socket, enable_socket

# Property tests: no example database in the work tree, no per-example deadline (the public suffix list loads on
# first use).
settings.register_profile("sfzsync", database=None, deadline=None)
settings.load_profile("sfzsync")


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    disable_socket()
    yield
    enable_socket()
