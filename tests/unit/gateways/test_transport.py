"""The HTTP session of the gateways reads the environment once: with no proxy configured it trusts the CA bundle
named at cold start and never looks up proxies or ~/.netrc per call; with a proxy configured, requests' own
per-call handling (NO_PROXY included) stays."""

from __future__ import annotations

import pytest

from sfzsync.gateways.transport import TimeoutSession

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return monkeypatch


def test_without_a_proxy_the_environment_is_read_once(no_proxy_environment: pytest.MonkeyPatch) -> None:
    # Given no proxy and a CA bundle in the environment
    no_proxy_environment.setenv("REQUESTS_CA_BUNDLE", "/opt/ca/bundle.pem")

    # When the session is built
    session = TimeoutSession(1.0, 2.0)

    # Then it trusts that bundle and does not consult the environment per call
    assert session.trust_env is False
    assert session.verify == "/opt/ca/bundle.pem"


def test_without_a_proxy_or_bundle_the_system_trust_store_is_used(no_proxy_environment: pytest.MonkeyPatch) -> None:
    no_proxy_environment.delenv("REQUESTS_CA_BUNDLE", raising=False)

    assert TimeoutSession(1.0, 2.0).verify is True


def test_with_a_proxy_requests_keeps_its_per_call_environment_handling(
    no_proxy_environment: pytest.MonkeyPatch,
) -> None:
    # Given an egress proxy, with NO_PROXY exceptions requests must keep honouring per host
    no_proxy_environment.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    no_proxy_environment.setenv("NO_PROXY", "169.254.169.254")

    # When the session is built, Then it leaves the environment to requests
    assert TimeoutSession(1.0, 2.0).trust_env is True
