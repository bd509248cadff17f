"""Email normalisation (README, Matching rules), for every input Hypothesis can think of: trim, keep the local
part as typed, turn the domain into its ASCII form, and let no invisible or control character through."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sfzsync.errors import InvalidInputError
from sfzsync.matching import CustomerEmail, normalise_email

label = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?", fullmatch=True)
domain = st.lists(label, min_size=2, max_size=4).map(".".join)
local_part = st.text(
    st.characters(exclude_categories=["Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"], exclude_characters="<>@"),
    min_size=1,
    max_size=64,
)
unsafe_character = st.characters(categories=["Cc", "Cf", "Co", "Zs", "Zl", "Zp"])


def unsafe(text: str) -> list[str]:
    return [c for c in text if c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn")]


def normalised_or_none(raw: str) -> CustomerEmail | None:
    try:
        return normalise_email(raw)
    except InvalidInputError:
        return None


@given(local=local_part, host=domain)
def test_a_well_formed_address_keeps_its_local_part_as_typed_and_lower_cases_the_domain(local: str, host: str) -> None:
    email = normalise_email(f"  {local}@{host}  ")

    assert email.local_part == local
    assert email.domain == host.lower()
    assert email.address == f"{local}@{host.lower()}"


@given(raw=st.one_of(st.emails(), st.text(max_size=80), st.builds("{}@{}".format, local_part, domain)))
def test_normalising_twice_changes_nothing(raw: str) -> None:
    first = normalised_or_none(raw)
    assume(first is not None)
    assert first is not None

    assert normalise_email(first.address) == first


@given(raw=st.one_of(st.emails(), st.text(max_size=80), st.builds("{}@{}".format, local_part, domain)))
def test_an_accepted_address_has_an_ascii_lower_case_domain_and_no_invisible_or_control_character(raw: str) -> None:
    email = normalised_or_none(raw)
    assume(email is not None)
    assert email is not None

    assert email.domain.isascii()
    assert email.domain == email.domain.lower()
    assert unsafe(email.address) == []


@given(local=local_part, host=domain, bad=unsafe_character, where=st.integers(min_value=1))
def test_an_invisible_or_control_character_in_the_local_part_is_refused(
    local: str, host: str, bad: str, where: int
) -> None:
    position = where % (len(local) + 1) or 1
    tainted = local[:position] + bad + local[position:]

    with pytest.raises(InvalidInputError) as refused:
        normalise_email(f"{tainted}@{host}")

    assert refused.value.field == "customer.email"


@given(local=local_part, host=domain, bad=st.characters(categories=["Cc", "Zs", "Zl", "Zp"]), where=st.integers())
def test_whitespace_or_a_control_character_in_the_domain_is_refused(
    local: str, host: str, bad: str, where: int
) -> None:
    position = 1 + where % (len(host) - 1)
    tainted = host[:position] + bad + host[position:]

    with pytest.raises(InvalidInputError):
        normalise_email(f"{local}@{tainted}")


@given(local=local_part, host=domain, bad=st.characters(categories=["Cf"]), where=st.integers())
def test_an_invisible_formatting_character_in_the_domain_is_refused_or_dropped_never_kept(
    local: str, host: str, bad: str, where: int
) -> None:
    # IDNA maps some (U+200B, U+00AD, U+FEFF ...) to nothing, as mail clients do, and prohibits others (U+202E).
    position = 1 + where % (len(host) - 1)
    tainted = host[:position] + bad + host[position:]

    email = normalised_or_none(f"{local}@{tainted}")

    assert email is None or bad not in email.address
