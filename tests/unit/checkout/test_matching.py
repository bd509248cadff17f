"""The matching rules of the README as pure functions: normalisation, candidates, the rule table, the choice."""

from __future__ import annotations

import datetime as dt

import pytest

from sfzsync.errors import InvalidInputError
from sfzsync.matching import (
    Candidate,
    account_domain_soql,
    candidates_from_accounts,
    company_domain,
    contact_email_soql,
    mask_email,
    normalise_email,
    pick_oldest,
    website_domain,
)


def test_email_domain_is_lower_cased_and_local_part_kept_as_typed() -> None:
    email = normalise_email("  Jane.Doe@Acme.COM ")
    assert email.address == "Jane.Doe@acme.com"
    assert email.local_part == "Jane.Doe"
    assert email.domain == "acme.com"


@pytest.mark.parametrize("raw", ["o'brien@acme.com", "a\\b@x.com"])
def test_quote_and_backslash_addresses_are_valid_input(raw: str) -> None:
    assert normalise_email(raw).address == raw


@pytest.mark.parametrize(
    "raw",
    [
        "no-at-sign",
        "@acme.com",
        "jane@",
        "jane@localhost",
        "ja ne@acme.com",
        "jane@acme..com",
        "jane@-acme.com",
        "jane\u202e@acme.com",
    ],
)
def test_malformed_emails_are_rejected_with_the_field_named(raw: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        normalise_email(raw)
    assert caught.value.field == "customer.email"


def test_unicode_domain_is_idna_encoded() -> None:
    assert normalise_email("anna@Bücher.de").domain == "xn--bcher-kva.de"


@pytest.mark.parametrize(
    "domain",
    ["gmail.com", "outlook.com", "yahoo.co.uk", "hotmail.com", "icloud.com", "proton.me", "gmx.de", "mailinator.com"],
)
def test_free_mail_and_disposable_domains_are_never_company_domains(domain: str) -> None:
    assert company_domain(normalise_email(f"someone@{domain}")) is None


def test_company_domain_is_the_registrable_domain() -> None:
    assert company_domain(normalise_email("x@mail.acme.co.uk")) == "acme.co.uk"
    assert company_domain(normalise_email("x@eu.sales.acme.com")) == "acme.com"


@pytest.mark.parametrize(
    ("website", "expected"),
    [
        ("https://www.acme.co.uk/about", "acme.co.uk"),
        ("http://acme.com:8080/", "acme.com"),
        ("www.acme.com", "acme.com"),
        ("ACME.COM", "acme.com"),
        ("https://user@shop.acme.com/x?y", "acme.com"),
        ("notacme.com", "notacme.com"),
        ("", None),
        (None, None),
        ("co.uk", None),
    ],
)
def test_website_is_normalised_to_its_registrable_domain(website: str | None, expected: str | None) -> None:
    assert website_domain(website) == expected


def _account(account_id: str, website: str, created: str = "2020-01-01T00:00:00.000+0000") -> dict[str, object]:
    return {"Id": account_id, "Website": website, "CreatedDate": created}


def test_website_candidates_match_the_domain_exactly_never_by_substring() -> None:
    records = [
        _account("001000000000001", "https://notacme.com"),
        _account("001000000000002", "acme.com.evil.io"),
        _account("001000000000003", "https://www.acme.com/contact"),
    ]
    assert [c.account_id for c in candidates_from_accounts(records, "acme.com")] == ["001000000000003AAA"]


def test_oldest_candidate_wins_then_lowest_id() -> None:
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    new = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    candidates = [Candidate("001B", new), Candidate("001C", old), Candidate("001A", old)]
    assert pick_oldest(candidates) == Candidate("001A", old)
    assert pick_oldest(reversed(candidates)) == Candidate("001A", old)
    assert pick_oldest([]) is None


def test_soql_literals_are_escaped() -> None:
    soql = contact_email_soql(normalise_email("o'brien\\x@acme.com"))
    assert "Email = 'o\\'brien\\\\x@acme.com'" in soql
    assert "LIMIT 50" in soql


def test_masked_email_keeps_only_the_first_character_of_the_local_part() -> None:
    assert mask_email("jane.doe@acme.com") == "j***@acme.com"


# --- internationalised domains: UTS-46 / IDNA2008 on both sides of every comparison ----------------------------


def test_sharp_s_domain_is_its_own_domain_never_folded_onto_ss() -> None:
    # Given a customer at straße.de and an Account at strasse.de (two different registrations)
    email = normalise_email("eve@straße.de")
    records = [_account("001000000000001", "https://strasse.de")]

    # Then the domain keeps the ß (IDNA2008), and the Account at strasse.de is not a candidate
    assert email.domain == "xn--strae-oqa.de"
    assert company_domain(email) == "xn--strae-oqa.de"
    assert candidates_from_accounts(records, company_domain(email)) == []


def test_sharp_s_website_matches_a_customer_at_the_same_sharp_s_domain() -> None:
    records = [_account("001000000000001", "https://www.straße.de/impressum")]
    assert [c.account_id for c in candidates_from_accounts(records, "xn--strae-oqa.de")] == ["001000000000001AAA"]


def test_full_width_letters_normalise_like_their_ascii_forms() -> None:
    assert normalise_email("bob@Ｕmbrella-corp.com").domain == "umbrella-corp.com"
    assert website_domain("https://ｕｍｂｒｅｌｌａ-corp.com") == "umbrella-corp.com"


def test_a_cyrillic_look_alike_domain_never_matches_the_latin_one() -> None:
    # "umbr?lla" where ? is U+0435, a Cyrillic letter drawn like a Latin e
    look_alike = normalise_email("mallory@umbr\u0435lla-corp.com")
    records = [_account("001000000000001", "https://umbrella-corp.com")]

    assert look_alike.domain.startswith("xn--")
    assert candidates_from_accounts(records, company_domain(look_alike)) == []


def test_domain_field_values_are_normalised_like_the_email_domain() -> None:
    records: list[dict[str, object]] = [
        {"Id": "001000000000001", "CreatedDate": "2020-01-01T00:00:00.000+0000", "Email_Domain__c": "Straße.DE"},
        {"Id": "001000000000002", "CreatedDate": "2020-01-01T00:00:00.000+0000", "Email_Domain__c": "strasse.de"},
    ]
    found = candidates_from_accounts(records, "xn--strae-oqa.de", "Email_Domain__c")
    assert [c.account_id for c in found] == ["001000000000001AAA"]


def test_an_internationalised_domain_is_looked_up_in_both_spellings() -> None:
    soql = account_domain_soql("xn--strae-oqa.de", None)
    assert "Website LIKE '%xn--strae-oqa.de%' OR Website LIKE '%straße.de%'" in soql
    assert "IN ('xn--strae-oqa.de','straße.de')" in account_domain_soql("xn--strae-oqa.de", "Email_Domain__c")
