"""15 → 18 character Salesforce Ids, for every Id Hypothesis can think of."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sandbox.salesforce import SoqlLexer, Token
from sfzsync.ids import is_salesforce_id, to_18

any_text = st.text(st.characters(exclude_categories=["Cs"]))
ascii_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
id_15 = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), min_size=15, max_size=15
)


def string_tokens(soql: str) -> list[Token]:
    return [token for token in SoqlLexer(soql).tokens() if token.kind == "string"]


@given(record_id=id_15)
def test_the_18_character_id_is_the_15_character_id_plus_a_3_character_suffix(record_id: str) -> None:
    long_id = to_18(record_id)

    assert len(long_id) == 18
    assert long_id[:15] == record_id
    assert is_salesforce_id(long_id)


@given(record_id=id_15)
def test_converting_an_18_character_id_again_changes_nothing(record_id: str) -> None:
    long_id = to_18(record_id)

    assert to_18(long_id) == long_id
    assert to_18(long_id[:15] + long_id[15:].lower()) == long_id


@given(first=id_15, second=id_15)
def test_18_character_ids_are_equal_ignoring_case_exactly_when_the_15_character_ids_are_equal(
    first: str, second: str
) -> None:
    assert (to_18(first).lower() == to_18(second).lower()) == (first == second)


@given(record_id=id_15, case_change=st.integers(min_value=0, max_value=14))
def test_ids_differing_only_in_letter_case_get_different_18_character_ids(record_id: str, case_change: int) -> None:
    swapped = record_id[:case_change] + record_id[case_change].swapcase() + record_id[case_change + 1 :]

    assume(swapped != record_id)  # a digit has no case

    assert to_18(swapped).lower() != to_18(record_id).lower()


@given(record_id=id_15, wrong=st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"), min_size=3, max_size=3))
def test_an_18_character_id_with_a_wrong_suffix_is_refused(record_id: str, wrong: str) -> None:
    assume(wrong != to_18(record_id)[15:])

    with pytest.raises(ValueError, match="checksum"):
        to_18(record_id + wrong)
