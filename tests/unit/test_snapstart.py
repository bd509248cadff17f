"""SnapStart hooks (sfzsync.snapstart): before the snapshot and after a restore, the services keep no pooled connection
and no access token, and after a restore they run on the secret as it is now."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from sfzsync.checkout.service import CheckoutService, build_dependencies
from sfzsync.checkout.signature import sign
from sfzsync.clients import build_clients
from sfzsync.errors import SignatureError
from sfzsync.send_to_zuora.service import SendToZuoraService, build_parts
from sfzsync.settings import RuntimeSettings, Settings, SettingsSource, parse_secret
from sfzsync.snapstart import register_snapshot_hooks

OLD_SIGNING, NEW_SIGNING = "signing-secret-before-0123456789", "signing-secret-after-0123456789ab"


def _settings(signing_secret: str) -> Settings:
    secret = parse_secret(
        {
            "salesforce": {
                "loginUrl": "https://example.my.salesforce.com",
                "clientId": "client",
                "clientSecret": "secret",
                "orgId": "00D000000000001EAA",
                "allowedDomains": ["example.my.salesforce.com"],
            },
            "zuora": {"baseUrl": "https://rest.zuora.example", "clientId": "client", "clientSecret": "secret"},
            "checkout": {"signingSecrets": [signing_secret]},
            "sendToZuora": {"sessionKey": "k" * 32},
        }
    )
    return Settings(runtime=RuntimeSettings(secret_id="sfzsync/test", idempotency_table="table"), secret=secret)


class RotatedSecret(SettingsSource):
    """The secret as Secrets Manager holds it after a rotation (no AWS client: read from memory)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.reads = 0
        self.max_age, self._checked_at = 300.0, time.monotonic()

    def load(self) -> Settings:
        self.reads += 1
        return self.settings


@pytest.fixture(autouse=True)
def _aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients are built, never called: a region and credentials keep botocore from asking the network for them."""
    for name, value in (
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "x"),
    ):
        monkeypatch.setenv(name, value)


def _checkout_service(source: RotatedSecret) -> CheckoutService:
    settings = _settings(OLD_SIGNING)
    clients = build_clients(settings)
    return CheckoutService(settings, clients, build_dependencies(settings, clients), source)


def _signed_event(secret: str) -> dict[str, Any]:
    body = '{"customer": {}}'
    return {"body": body, "headers": {"Idempotency-Key": "cart-1", "X-Signature": sign(secret, "cart-1", body)}}


def _pool(http: requests.Session, url: str) -> None:
    """A connection pool for `url`, as a first request would leave it (urllib3 opens no socket for it)."""
    adapter = http.get_adapter(url)
    assert isinstance(adapter, HTTPAdapter)
    adapter.poolmanager.connection_from_url(url)


def _pooled(service_http: Any) -> int:
    adapters = {id(adapter): adapter for adapter in service_http.adapters.values()}  # one adapter, two schemes
    return sum(len(adapter.poolmanager.pools) for adapter in adapters.values())


def test_given_pooled_connections_when_checkout_forgets_before_the_snapshot_then_none_is_kept() -> None:
    service = _checkout_service(RotatedSecret(_settings(NEW_SIGNING)))
    _pool(service.clients.http, "https://rest.zuora.example")
    assert _pooled(service.clients.http) == 1

    service.forget_connections_and_tokens()

    assert _pooled(service.clients.http) == 0


def test_given_gateways_holding_tokens_when_checkout_forgets_them_then_new_gateways_hold_none() -> None:
    service = _checkout_service(RotatedSecret(_settings(NEW_SIGNING)))
    salesforce, zuora, catalog = service.deps.salesforce, service.deps.zuora, service.deps.catalog

    service.forget_connections_and_tokens()

    assert service.deps.salesforce is not salesforce
    assert service.deps.zuora is not zuora
    assert service.deps.catalog is not catalog


def test_given_a_rotated_secret_when_checkout_is_restored_then_it_reads_the_secret_again() -> None:
    source = RotatedSecret(_settings(NEW_SIGNING))
    service = _checkout_service(source)
    service.verify_signature(_signed_event(OLD_SIGNING))

    service.after_restore()

    assert source.reads == 1
    service.verify_signature(_signed_event(NEW_SIGNING))
    with pytest.raises(SignatureError):
        service.verify_signature(_signed_event(OLD_SIGNING))


def test_given_a_rotated_secret_when_the_button_is_restored_then_it_rebuilds_clients_and_gateways() -> None:
    settings = _settings(OLD_SIGNING)
    clients = build_clients(settings)
    source = RotatedSecret(_settings(NEW_SIGNING))
    service = SendToZuoraService(settings, build_parts(settings, clients), lambda s: build_parts(s, clients), source)
    _pool(clients.http, "https://example.my.salesforce.com")
    salesforce = service._parts.salesforce  # read, never replaced, by the test

    service.after_restore()

    assert source.reads == 1
    assert service._parts.salesforce is not salesforce
    assert _pooled(clients.http) == 1  # the old session is dropped whole: the new parts use new clients


def test_given_no_snapstart_library_when_hooks_are_registered_then_nothing_is_registered() -> None:
    try:
        import snapshot_restore_py  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        assert register_snapshot_hooks(lambda: None, lambda: None) is False
    else:
        assert register_snapshot_hooks(lambda: None, lambda: None) is True
