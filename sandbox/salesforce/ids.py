"""Salesforce record Ids: the 18-character case-safe form of a 15-character Id (and back), and the Ids the
simulator gives new records."""

from __future__ import annotations

from typing import Any

_CHECKSUM_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def to_18(id15: str) -> str:
    """Append Salesforce's case-safe checksum (3 chars, one per 5-char chunk, bit i = char i is A-Z)."""
    if len(id15) != 15 or not id15.isascii() or not id15.isalnum():
        raise ValueError(f"not a 15-character Salesforce Id: {id15!r}")
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(id15[start : start + 5]) if "A" <= ch <= "Z")
        suffix += _CHECKSUM_CHARS[bits]
    return id15 + suffix


def canonical_id(value: Any) -> str | None:
    """The 18-character Id for a 15- or 18-character one (letter case restored from the suffix), else None."""
    if not isinstance(value, str) or not value.isascii() or not value.isalnum() or len(value) not in (15, 18):
        return None
    if len(value) == 15:
        return to_18(value)
    suffix = value[15:].upper()
    if any(ch not in _CHECKSUM_CHARS for ch in suffix):
        return None
    restored = []
    for chunk, code in enumerate(suffix):
        bits = _CHECKSUM_CHARS.index(code)
        for i, ch in enumerate(value[chunk * 5 : chunk * 5 + 5]):
            upper = bool(bits >> i & 1)
            if upper and not ch.isalpha():
                return None
            restored.append(ch.upper() if upper else ch.lower())
    return to_18("".join(restored))


DEFAULT_ORG_ID = to_18("00D8d000002SbXq")


def valid_org_id(value: str) -> str:
    normalised = canonical_id(value)
    if normalised is None or not normalised.startswith("00D"):
        raise ValueError(f"org_id must be a 15/18-character 00D Id, got {value!r}")
    return normalised


def new_record_id(prefix: str, sequence: int) -> str:
    """The 18-character Id of the `sequence`-th record created: the object's key prefix, then `8d`, then the
    sequence number scrambled into 10 base-62 digits."""
    scrambled = (sequence * 2654435761) % 62**7 + 62**7
    digits = ""
    while scrambled:
        scrambled, rest = divmod(scrambled, 62)
        digits = _BASE62[rest] + digits
    return to_18(f"{prefix}8d{digits.rjust(10, '0')}")
