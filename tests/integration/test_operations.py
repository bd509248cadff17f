"""What the on-call engineer relies on: the failure ledger (and `make ops`), the Salesforce allowance breaker, and
`make doctor`, end to end against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from sandbox.api_gateway import LocalApiGateway, deployed_routes
from sandbox.button_client import ButtonClient
from sandbox.core import Fault
from sandbox.demo_data import PASSWORD, REP, seed_button_data
from sandbox.invoke import checkout_event, invoke, load_handler
from sandbox.stack import SECRET_NAME, SIGNING_SECRET, TABLE_NAME, ZUORA_CLIENT, Sandbox
from sfzsync.operations.ledger import key_hash
from tests.integration.conftest import CheckoutCall, body_of, checkout_body, header_of

ROOT = Path(__file__).resolve().parents[2]
ORDERS = r"^/v1/orders$"


def make(target: str, sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    """`make <target>` as an operator runs it, with the sandbox's environment (as `make sandbox` prints it)."""
    env = {**os.environ, **sandbox.environ()}
    return subprocess.run(
        ["make", "--no-print-directory", target, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ledger_items(sandbox: Sandbox) -> list[dict[str, Any]]:
    with sandbox.aws_environment():
        items = boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Items"]
    return [item for item in items if "ledger" in item]


# --- the failure ledger --------------------------------------------------------------------------------------------


def test_a_failed_checkout_is_in_the_ledger_until_the_same_key_succeeds(
    sandbox: Sandbox, post_checkout: CheckoutCall
) -> None:
    # Given Zuora fails every order for a while
    sandbox.zuora.add_fault(Fault(path=ORDERS, status=500, body={"message": "Internal Server Error"}, times=-1))
    body = checkout_body("ledger.buyer@acme-ops.com")

    # When a checkout fails
    failed = post_checkout(body, key="ledger-cart-1")

    # Then `make ops` lists it, unresolved, under the key's hash, with the stage and Zuora's request id
    assert failed["statusCode"] == 502
    listed = make("ops", sandbox)
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if key_hash("ledger-cart-1") in line)
    assert "zuora_order" in line and "HTTP_500" in line and "unresolved" in line and "l***@acme-ops.com" in line
    assert body_of(failed)["error"]["upstreamRequestId"] in listed.stdout

    # When Zuora recovers and the caller retries with the same key
    sandbox.zuora.clear_faults()
    retried = post_checkout(body, key="ledger-cart-1")

    # Then the record says it was resolved
    assert retried["statusCode"] == 201, retried["body"]
    listed = make("ops", sandbox, "OPS_ARGS=--since 1h")
    line = next(line for line in listed.stdout.splitlines() if key_hash("ledger-cart-1") in line)
    assert "resolved 20" in line


def test_a_ledger_record_holds_no_body_card_or_full_email(sandbox: Sandbox, post_checkout: CheckoutCall) -> None:
    sandbox.zuora.add_fault(Fault(path=ORDERS, status=500, body={"message": "Internal Server Error"}, times=-1))
    body = checkout_body("private.person@acme-ops.com")

    post_checkout(body, key="ledger-private-1")

    (item,) = ledger_items(sandbox)
    stored = json.dumps(item)
    for private in ("private.person@acme-ops.com", body["order"]["paymentMethodId"], "1 Main St", "Jane", "Acme Inc"):
        assert private not in stored
    assert "p***@acme-ops.com" in stored


def test_a_client_error_is_not_an_operator_failure(sandbox: Sandbox, post_checkout: CheckoutCall) -> None:
    post_checkout(checkout_body("someone@acme-ops.com", zuoraAccountNumber="A99999999"), key="ledger-422")

    assert ledger_items(sandbox) == []


# --- the Salesforce allowance breaker ------------------------------------------------------------------------------


@pytest.fixture
def breaker_checkout(
    sandbox: Sandbox, reconfigured: Callable[..., ModuleType], monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    """A checkout container that pauses below 10 % of the daily allowance, for 1 s."""
    monkeypatch.setenv("SALESFORCE_API_FLOOR_PERCENT", "10")
    monkeypatch.setenv("SALESFORCE_ALLOWANCE_COOLDOWN_SECONDS", "1")
    return reconfigured()


def test_below_the_allowance_floor_checkouts_pause_with_503_and_no_salesforce_call_then_flow_again(
    sandbox: Sandbox, breaker_checkout: ModuleType
) -> None:
    # Given Salesforce reports 14,000 of 15,000 daily API calls used (6.7 % left, under the 10 % floor)
    sandbox.salesforce.set_api_usage(14_000, 15_000)
    first = invoke(breaker_checkout, checkout_event(checkout_body("a@allowance-one.com"), "allow-1", SIGNING_SECRET))
    assert first["statusCode"] == 201, first["body"]  # the checkout that saw the header finishes
    sandbox.salesforce.clear_calls()

    # When the next checkout comes
    paused = invoke(
        breaker_checkout,
        checkout_event(
            checkout_body("b@allowance-two.com", paymentMethodId=sandbox.zuora.new_orphan_payment_method()),
            "allow-2",
            SIGNING_SECRET,
        ),
    )

    # Then it answers 503 with Retry-After, without calling Salesforce
    assert paused["statusCode"] == 503, paused["body"]
    assert header_of(paused, "Retry-After") == "1"
    assert body_of(paused)["error"]["code"] == "SALESFORCE_ALLOWANCE_LOW"
    assert sandbox.salesforce.calls == []

    # When the allowance recovers and the Retry-After has passed, the same checkout flows
    sandbox.salesforce.set_api_usage(100)
    time.sleep(1.1)
    retried_body = checkout_body("b@allowance-two.com", paymentMethodId=sandbox.zuora.new_orphan_payment_method())
    again = invoke(breaker_checkout, checkout_event(retried_body, "allow-3", SIGNING_SECRET))
    assert again["statusCode"] == 201, again["body"]


def test_a_spent_allowance_pauses_the_other_containers_too(
    sandbox: Sandbox, breaker_checkout: ModuleType, reconfigured: Callable[..., ModuleType]
) -> None:
    # Given one container met REQUEST_LIMIT_EXCEEDED (the allowance is spent)
    sandbox.salesforce.set_api_usage(15_000, 15_000)
    spent = invoke(breaker_checkout, checkout_event(checkout_body("c@allowance-three.com"), "spent-1", SIGNING_SECRET))
    assert spent["statusCode"] == 503, spent["body"]
    sandbox.salesforce.clear_calls()

    # When a container that never called Salesforce takes a checkout
    other = reconfigured()
    answer = invoke(other, checkout_event(checkout_body("d@allowance-four.com"), "spent-2", SIGNING_SECRET))

    # Then it pauses too, from the breaker shared in DynamoDB
    assert answer["statusCode"] == 503
    assert sandbox.salesforce.calls == []


def test_a_failed_push_is_in_the_ledger_until_the_next_push_of_the_record_succeeds(
    sandbox: Sandbox, button_api: LocalApiGateway
) -> None:
    # Given a rep on an Account's preview while Zuora refuses to create accounts
    data = seed_button_data(sandbox)
    client = ButtonClient(sandbox, button_api.url)
    preview = client.open(client.button_url(accountId=data.account_id), username=REP, password=PASSWORD)
    sandbox.zuora.add_fault(Fault(path="^/v1/accounts$", status=500, times=-1))

    # When the push fails
    failed = client.press_send(preview)

    # Then `make ops` lists a push failure at the Zuora stage, unresolved
    assert failed.status_code == 502
    listed = make("ops", sandbox, "OPS_ARGS=--unresolved")
    line = next(line for line in listed.stdout.splitlines() if " push " in f" {line} ")
    assert "zuora" in line and "HTTP_500" in line and "unresolved" in line, listed.stdout

    # When Zuora recovers and the rep presses again, the record says it was resolved
    sandbox.zuora.clear_faults()
    assert client.press_send(client.open(client.button_url(accountId=data.account_id))).status_code == 200
    listed = make("ops", sandbox, "OPS_ARGS=--since 1h")
    line = next(line for line in listed.stdout.splitlines() if " push " in f" {line} ")
    assert "resolved 20" in line


def test_a_blocked_or_refused_push_is_not_an_operator_failure(sandbox: Sandbox, button_api: LocalApiGateway) -> None:
    # Given a rep who opens an Account's button and a forged form for a record they may not see
    data = seed_button_data(sandbox)
    client = ButtonClient(sandbox, button_api.url)
    preview = client.open(client.button_url(accountId=data.account_id), username=REP, password=PASSWORD)

    # When the form is replayed with a stale CSRF token
    refused = client.press_send(preview, csrf="stale")

    # Then the rep gets a 403 and the ledger stays empty
    assert refused.status_code == 403
    assert ledger_items(sandbox) == []


# --- make doctor ---------------------------------------------------------------------------------------------------


def test_doctor_passes_against_the_sandbox(sandbox: Sandbox) -> None:
    done = make("doctor", sandbox, f"SECRET_ID={SECRET_NAME}")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout
    assert "ok    Salesforce login" in done.stdout and "ok    Zuora login" in done.stdout


def test_doctor_names_a_wrong_zuora_client_secret(sandbox: Sandbox) -> None:
    document = sandbox.secret_document()
    document["zuora"]["clientSecret"] = "not-" + ZUORA_CLIENT[1]
    with sandbox.aws_environment():
        boto3.client("secretsmanager").create_secret(Name="sfzsync/doctor-bad-zuora", SecretString=json.dumps(document))

    done = make("doctor", sandbox, "SECRET_ID=sfzsync/doctor-bad-zuora")

    assert done.returncode != 0  # make says 2 when the command fails
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 2 and all("Zuora" in line and "HTTP_401" in line for line in failed), done.stdout


def test_doctor_names_a_missing_product_mapping_field(sandbox: Sandbox) -> None:
    document = sandbox.secret_document()
    document["sendToZuora"]["productRatePlanField"] = "Zuora_Plan_Missing__c"
    with sandbox.aws_environment():
        boto3.client("secretsmanager").create_secret(Name="sfzsync/doctor-bad-field", SecretString=json.dumps(document))

    done = make("doctor", sandbox, "SECRET_ID=sfzsync/doctor-bad-field")

    assert done.returncode != 0  # make says 2 when the command fails
    (failed,) = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert "Product2 has no field Zuora_Plan_Missing__c" in failed
    assert "sendToZuora.productRatePlanField" in failed


def test_doctor_names_a_missing_write_back_field(sandbox: Sandbox) -> None:
    document = sandbox.secret_document()
    document["sendToZuora"]["writeBack"] = {"orderItem": {"chargeNumbers": "Zuora_Charges_Missing__c"}}
    with sandbox.aws_environment():
        boto3.client("secretsmanager").create_secret(Name="sfzsync/doctor-bad-wb", SecretString=json.dumps(document))

    done = make("doctor", sandbox, "SECRET_ID=sfzsync/doctor-bad-wb")

    (failed,) = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert "OrderItem has no field Zuora_Charges_Missing__c" in failed
    assert "sendToZuora.writeBack.orderItem.chargeNumbers" in failed


# --- secret rotation -----------------------------------------------------------------------------------------------


def test_a_rotated_signing_secret_takes_effect_without_a_cold_start(
    sandbox: Sandbox, reconfigured: Callable[..., ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a warm container that reads its secret again after 1 s
    monkeypatch.setenv("POWERTOOLS_PARAMETERS_MAX_AGE", "1")
    handler = reconfigured()
    first = invoke(handler, checkout_event(checkout_body("r1@rotation-one.com"), "rotate-1", SIGNING_SECRET))
    assert first["statusCode"] == 201, first["body"]

    # When the merchant rotates the signing secret (the new one only) and the cache age passes
    new_secret = "rotated-signing-secret-0123456789"
    document = sandbox.secret_document()
    document["checkout"]["signingSecrets"] = [new_secret]
    with sandbox.aws_environment():
        boto3.client("secretsmanager").put_secret_value(SecretId=SECRET_NAME, SecretString=json.dumps(document))
    time.sleep(1.1)
    card = sandbox.zuora.new_orphan_payment_method()

    # Then the same container accepts the new secret and refuses the old one
    old = invoke(handler, checkout_event(checkout_body("r2@rotation-two.com"), "rotate-2", SIGNING_SECRET))
    new = invoke(
        handler, checkout_event(checkout_body("r2@rotation-two.com", paymentMethodId=card), "rotate-3", new_secret)
    )
    assert old["statusCode"] == 401
    assert new["statusCode"] == 201, new["body"]
    sandbox.configure()  # the session's secret again, for the tests after this one


@pytest.fixture
def warm_button(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalApiGateway]:
    """The button in a container that reads its secret again after 1 s."""
    monkeypatch.setenv("POWERTOOLS_PARAMETERS_MAX_AGE", "1")
    handler = load_handler("send_to_zuora")
    try:
        with LocalApiGateway(
            deployed_routes(send_to_zuora=handler), ssl_context=sandbox.ca.server_context()
        ) as gateway:
            yield gateway
    finally:
        sandbox.configure()


def test_a_rotated_button_setting_takes_effect_without_a_cold_start(
    sandbox: Sandbox, warm_button: LocalApiGateway
) -> None:
    # Given a rep who may send an Account from a warm container
    data = seed_button_data(sandbox)
    client = ButtonClient(sandbox, warm_button.url)
    before = client.open(client.button_url(accountId=data.account_id), username=REP, password=PASSWORD)
    assert 'id="send" type="submit" disabled' not in before.text

    # When the admin requires a Custom Permission the rep lacks, and the cache age passes
    sandbox.salesforce.add_custom_permission("Send_To_Zuora")
    document = sandbox.secret_document()
    document["sendToZuora"]["permission"] = "Send_To_Zuora"
    with sandbox.aws_environment():
        boto3.client("secretsmanager").put_secret_value(SecretId=SECRET_NAME, SecretString=json.dumps(document))
    time.sleep(1.1)

    # Then the same container refuses the push
    after = client.open(client.button_url(accountId=data.account_id))
    assert "Custom Permission Send_To_Zuora" in after.text
    assert client.press_send(after).status_code == 403
