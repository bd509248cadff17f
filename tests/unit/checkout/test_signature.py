"""The checkout request signature: the key and the body signed together, rotation, malformed headers."""

from __future__ import annotations

import pytest

from sfzsync.checkout import signature
from sfzsync.errors import SignatureError

CURRENT, PREVIOUS, RETIRED = "c" * 32, "p" * 32, "r" * 32
T = 1_700_000_000


def _verify(header: str | None, *, key: str = "cart-1", body: str = '{"a":1}', now: float = T) -> None:
    signature.verify([CURRENT, PREVIOUS], key, body, header, tolerance_seconds=300, now=now)


def test_a_request_signed_over_its_key_and_body_is_accepted() -> None:
    # Given a body signed with the current secret under its Idempotency-Key
    header = signature.sign(CURRENT, "cart-1", '{"a":1}', timestamp=T)
    # When it is verified a little later, Then nothing is raised
    _verify(header, now=T + 100)


def test_the_signed_string_is_timestamp_key_and_body_joined_by_dots() -> None:
    # Given the documented recipe, computed by hand as a merchant would
    import hashlib
    import hmac

    digest = hmac.new(CURRENT.encode(), f"{T}.cart-1.{{}}".encode(), hashlib.sha256).hexdigest()
    # Then the library's header carries that digest
    assert signature.sign(CURRENT, "cart-1", "{}", timestamp=T) == f"t={T},v1={digest}"


def test_a_captured_request_replayed_under_another_key_is_rejected() -> None:
    header = signature.sign(CURRENT, "cart-1", '{"a":1}', timestamp=T)
    with pytest.raises(SignatureError, match="does not match"):
        _verify(header, key="cart-2")


def test_the_previous_secret_still_signs_during_a_rotation() -> None:
    _verify(signature.sign(PREVIOUS, "cart-1", '{"a":1}', timestamp=T))


def test_a_retired_secret_no_longer_signs() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        _verify(signature.sign(RETIRED, "cart-1", '{"a":1}', timestamp=T))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "v1=abc",
        "t=abc,v1=00",
        f"t={T}",
        "t=" + "9" * 5000 + ",v1=" + "0" * 64,  # would be a 5000-digit int
        "t=\u00b2,v1=" + "0" * 64,  # superscript two: str.isdigit() says yes, int() says no
        "t=\u0663\u0663,v1=" + "0" * 64,  # Arabic-Indic digits
        "t=1234567890123,v1=" + "0" * 64,  # 13 digits
        f"t={T},t={T},v1=" + "0" * 64,
        f"t={T},v1=" + "0" * 5000,
    ],
)
def test_malformed_signature_is_rejected_without_any_other_error(header: str | None) -> None:
    with pytest.raises(SignatureError):
        _verify(header)


def test_stale_signature_is_rejected() -> None:
    header = signature.sign(CURRENT, "cart-1", '{"a":1}', timestamp=T)
    with pytest.raises(SignatureError, match="window"):
        _verify(header, now=T + 301)


def test_signature_from_the_future_is_rejected() -> None:
    header = signature.sign(CURRENT, "cart-1", '{"a":1}', timestamp=T + 301)
    with pytest.raises(SignatureError, match="window"):
        _verify(header)


def test_signature_over_another_body_is_rejected() -> None:
    header = signature.sign(CURRENT, "cart-1", '{"amount":1}', timestamp=T)
    with pytest.raises(SignatureError, match="does not match"):
        _verify(header, body='{"amount":9}')
