"""Salesforce Id conversion and the checkout request signature."""

from __future__ import annotations

import pytest

from sfzsync import signature
from sfzsync.errors import SignatureError
from sfzsync.ids import to_18


def test_15_char_id_gets_its_case_safe_suffix() -> None:
    # Example from Salesforce's knowledge article on 15- and 18-character Ids.
    assert to_18("001A0000006Vm9r") == "001A0000006Vm9rIAC"


def test_18_char_id_with_a_wrong_suffix_is_rejected() -> None:
    with pytest.raises(ValueError, match="checksum"):
        to_18("001A0000006Vm9rAAA")


def test_signature_round_trip() -> None:
    header = signature.sign("s" * 32, '{"a":1}', timestamp=1_700_000_000)
    signature.verify("s" * 32, '{"a":1}', header, 300, now=1_700_000_100)


@pytest.mark.parametrize("header", [None, "", "v1=abc", "t=abc,v1=00", "t=1700000000"])
def test_malformed_signature_is_rejected(header: str | None) -> None:
    with pytest.raises(SignatureError):
        signature.verify("s" * 32, "{}", header, 300, now=1_700_000_000)


def test_stale_signature_is_rejected() -> None:
    header = signature.sign("s" * 32, "{}", timestamp=1_700_000_000)
    with pytest.raises(SignatureError, match="window"):
        signature.verify("s" * 32, "{}", header, 300, now=1_700_000_301)


def test_signature_over_another_body_is_rejected() -> None:
    header = signature.sign("s" * 32, '{"amount":1}', timestamp=1_700_000_000)
    with pytest.raises(SignatureError, match="does not match"):
        signature.verify("s" * 32, '{"amount":9}', header, 300, now=1_700_000_000)
