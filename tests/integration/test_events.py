"""The files in events/ go through the local runner exactly as `sam local invoke -e` would send them."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from sandbox.demo_data import EXPECTED_MATCHES, UMBRELLA_BILLING_ACCOUNT, seed_demo_data
from sandbox.invoke import ROOT, invoke, load_event
from sandbox.stack import SIGNING_SECRET, Sandbox
from tests.integration.conftest import body_of

EVENT_FILES = sorted((ROOT / "events").glob("checkout-*.json"))


def test_every_checkout_scenario_has_an_event_file() -> None:
    assert {path.stem for path in EVENT_FILES} == set(EXPECTED_MATCHES)


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.stem)
def test_event_file_runs_through_the_handler(sandbox: Sandbox, checkout_app: ModuleType, path: Path) -> None:
    seed_demo_data(sandbox)
    event = json.loads(path.read_text())
    assert event["httpMethod"] == "POST" and event["path"] == "/orders"

    response = invoke(checkout_app, load_event(path, SIGNING_SECRET))

    assert response["statusCode"] == 201, response["body"]
    assert body_of(response)["matchedBy"] == EXPECTED_MATCHES[path.stem]


def test_named_billing_account_event_orders_on_the_account_it_names(sandbox: Sandbox, checkout_app: ModuleType) -> None:
    seed_demo_data(sandbox)

    response = invoke(checkout_app, load_event(ROOT / "events/checkout-named-billing-account.json", SIGNING_SECRET))

    assert body_of(response)["zuoraAccountNumber"] == UMBRELLA_BILLING_ACCOUNT


def test_event_as_committed_is_refused_for_its_stale_signature(checkout_app: ModuleType) -> None:
    response = invoke(checkout_app, load_event(EVENT_FILES[0]))

    assert response["statusCode"] == 401


@pytest.mark.parametrize("name", ["sfdccpq-account", "sfdccpq-order"])
def test_button_event_without_a_session_redirects_to_salesforce_sign_in(
    sandbox: Sandbox, send_to_zuora_app: ModuleType, name: str
) -> None:
    domain = f"127.0.0.1:{sandbox.salesforce.port}"

    response = invoke(send_to_zuora_app, load_event(ROOT / "events" / f"{name}.json", sfdc_domain=domain))

    assert response["statusCode"] == 302
    location = response["multiValueHeaders"]["Location"][0]
    assert location.startswith(f"https://{domain}/services/oauth2/authorize?")
    assert "code_challenge_method=S256" in location
    assert any(c.startswith("__Host-sfz_oauth=") for c in response["multiValueHeaders"]["Set-Cookie"])


def test_button_event_as_committed_names_an_org_the_sandbox_does_not_serve(send_to_zuora_app: ModuleType) -> None:
    response = invoke(send_to_zuora_app, load_event(ROOT / "events" / "sfdccpq-account.json"))

    assert response["statusCode"] == 400
    assert "Location" not in (response.get("multiValueHeaders") or {})
