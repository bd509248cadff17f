"""Inputs that once answered 500 with an ERROR traceback (anyone could flood the error logs and the alarms on them):
each now gets a 4xx and no ERROR line, over real HTTPS through API Gateway on loopback."""

from __future__ import annotations

import json
import logging
import time
import uuid

import pytest
import requests

from sandbox.api_gateway import LocalApiGateway
from sandbox.demo_data import checkout_body
from sandbox.stack import SIGNING_SECRET, Sandbox
from sfzsync.checkout.signature import sign

VALID = json.dumps(checkout_body())
HUGE_INTEGER = json.dumps(checkout_body()).replace('"billCycleDay": 0', '"billCycleDay": ' + "9" * 5000)
HUGE_INTEGER = (
    HUGE_INTEGER if "9" * 5000 in HUGE_INTEGER else VALID.replace('"quantity": 3', '"quantity": ' + "9" * 5000)
)


def post(
    api: LocalApiGateway, sandbox: Sandbox, body: str, *, signature: str | None, content_type: str = "application/json"
) -> requests.Response:
    key = f"hostile-{uuid.uuid4()}"
    headers: dict[str, str | bytes] = {"Content-Type": content_type, "Idempotency-Key": key}
    if signature == "sign":
        headers["X-Signature"] = sign(SIGNING_SECRET, key, body)
    elif signature is not None:
        headers["X-Signature"] = signature.encode()  # as UTF-8 bytes on the wire, as a hostile client may send them
    return requests.post(
        f"{api.url}/orders", data=body.encode(), headers=headers, timeout=30, verify=str(sandbox.ca.bundle_path)
    )


def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "signature",
    [
        "t=" + "9" * 5000 + ",v1=" + "0" * 64,
        "t=\u00b2,v1=" + "0" * 64,
        "t=\u0661\u0667\u0660\u0660,v1=" + "0" * 64,
        "t=1700000000,v1=" + "f" * 5000,
        ",".join(["t=1"] * 2000),
    ],
    ids=["5000-digit-t", "superscript-digit-t", "arabic-indic-digit-t", "5000-character-v1", "2000-parts"],
)
def test_a_hostile_signature_header_is_401_without_an_error_line(
    button_api: LocalApiGateway, sandbox: Sandbox, caplog: pytest.LogCaptureFixture, signature: str
) -> None:
    caplog.set_level(logging.INFO)

    response = post(button_api, sandbox, VALID, signature=signature)

    assert response.status_code == 401
    assert error_lines(caplog) == []


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_a_5000_digit_json_integer_is_4xx_without_an_error_line(
    button_api: LocalApiGateway, sandbox: Sandbox, caplog: pytest.LogCaptureFixture, signed: bool
) -> None:
    caplog.set_level(logging.INFO)
    assert "9" * 5000 in HUGE_INTEGER

    response = post(button_api, sandbox, HUGE_INTEGER, signature="sign" if signed else None)

    assert response.status_code == (422 if signed else 401)
    assert error_lines(caplog) == []
    assert sandbox.salesforce.calls == []


@pytest.mark.parametrize("content_type", ["Application/JSON", "APPLICATION/JSON; charset=UTF-8", "application/Json"])
def test_a_json_media_type_in_any_letter_case_is_json(
    button_api: LocalApiGateway, sandbox: Sandbox, caplog: pytest.LogCaptureFixture, content_type: str
) -> None:
    caplog.set_level(logging.INFO)

    response = post(button_api, sandbox, VALID, signature="sign", content_type=content_type)

    assert response.status_code == 201, response.text
    assert error_lines(caplog) == []


@pytest.mark.parametrize("content_type", ["Application/JSON", "TEXT/PLAIN"])
def test_a_bad_body_in_any_media_type_letter_case_is_4xx_without_an_error_line(
    button_api: LocalApiGateway, sandbox: Sandbox, caplog: pytest.LogCaptureFixture, content_type: str
) -> None:
    caplog.set_level(logging.INFO)

    response = post(button_api, sandbox, "{not json", signature="sign", content_type=content_type)

    assert 400 <= response.status_code < 500
    assert error_lines(caplog) == []


def test_a_stale_but_well_formed_signature_is_401(button_api: LocalApiGateway, sandbox: Sandbox) -> None:
    key_less = sign(SIGNING_SECRET, "other-key", VALID, int(time.time()) - 1000)

    assert post(button_api, sandbox, VALID, signature=key_less).status_code == 401
