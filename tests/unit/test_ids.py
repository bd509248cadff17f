"""Salesforce Id conversion: 15 to 18 characters, the checksum."""

from __future__ import annotations

import pytest

from sfzsync.ids import to_18


def test_15_char_id_gets_its_case_safe_suffix() -> None:
    # Example from Salesforce's knowledge article on 15- and 18-character Ids.
    assert to_18("001A0000006Vm9r") == "001A0000006Vm9rIAC"


def test_18_char_id_with_a_wrong_suffix_is_rejected() -> None:
    with pytest.raises(ValueError, match="checksum"):
        to_18("001A0000006Vm9rAAA")
