"""SOQL literals from `format_soql`, for every value Hypothesis can think of: parsed back exactly, never ending
early."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from simple_salesforce.format import format_soql

from sandbox.salesforce import SoqlLexer, SoqlString, Token
from sfzsync.matching import CustomerEmail, account_domain_soql, contact_email_soql

any_text = st.text(st.characters(exclude_categories=["Cs"]))
ascii_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
id_15 = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), min_size=15, max_size=15
)


def string_tokens(soql: str) -> list[Token]:
    return [token for token in SoqlLexer(soql).tokens() if token.kind == "string"]


@given(value=any_text)
def test_an_escaped_literal_parses_back_to_exactly_the_value_and_ends_where_the_query_does(value: str) -> None:
    soql = format_soql("SELECT Id FROM Contact WHERE Email = {}", value)

    literals = string_tokens(soql)

    assert len(literals) == 1
    assert isinstance(literals[0].value, SoqlString)
    assert literals[0].value.value == value
    assert literals[0].pos + len(literals[0].text) == len(soql)


@given(value=any_text)
def test_a_value_never_ends_its_literal_early_even_with_soql_after_it(value: str) -> None:
    soql = format_soql("SELECT Id FROM Contact WHERE Email = {} AND LastName = {} LIMIT 1", value, value)

    tokens = SoqlLexer(soql).tokens()

    assert [t.value.value for t in tokens if t.kind == "string"] == [value, value]
    assert [t.text for t in tokens if t.kind != "string"][-3:] == ["LIMIT", "1", "<EOF>"]


@given(value=ascii_text, before=ascii_text, after=ascii_text)
def test_a_like_literal_matches_exactly_the_texts_that_contain_the_value(value: str, before: str, after: str) -> None:
    # `%` and `_` in the value are escaped: they match themselves, not "anything" (LIKE ignores case).
    soql = format_soql("SELECT Id FROM Account WHERE Website LIKE '%{:like}%'", value)

    (literal,) = string_tokens(soql)
    pattern = literal.value.like_pattern()

    assert pattern.fullmatch(before + value + after)
    assert bool(pattern.fullmatch(before + after)) == (value.lower() in (before + after).lower())


@given(local=any_text.filter(lambda s: "@" not in s), domain=any_text)
def test_the_project_s_lookup_queries_carry_the_email_and_domain_unchanged(local: str, domain: str) -> None:
    email = CustomerEmail(address=f"{local}@{domain}", local_part=local, domain=domain)

    contact_literals = string_tokens(contact_email_soql(email))
    domain_literals = string_tokens(account_domain_soql(domain, "Email_Domain__c"))

    assert [t.value.value for t in contact_literals] == [email.address]
    assert next(t.value.value for t in domain_literals) == domain  # then its Unicode spelling, for an xn-- domain
