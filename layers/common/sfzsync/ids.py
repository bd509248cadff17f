"""Salesforce record Ids: validation and the 15 → 18 character case-safe form."""

from __future__ import annotations

import re

_ID_PATTERN = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def is_salesforce_id(value: str) -> bool:
    return bool(_ID_PATTERN.match(value))


def to_18(record_id: str) -> str:
    """Return the 18-character case-safe Id; an 18-character Id has its suffix recomputed and checked."""
    if not is_salesforce_id(record_id):
        raise ValueError(f"not a Salesforce Id: {record_id!r}")
    base = record_id[:15]
    suffix = ""
    for chunk in (base[0:5], base[5:10], base[10:15]):
        bits = sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _SUFFIX_ALPHABET[bits]
    if len(record_id) == 18 and record_id[15:].upper() != suffix:
        raise ValueError(f"Salesforce Id checksum does not match: {record_id!r}")
    return base + suffix
