"""SOQL through the REST query resource (`sandbox.salesforce.soql`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from simple_salesforce.format import format_soql

from sandbox.salesforce import SalesforceApiError, SalesforceSim
from tests.sandbox.salesforce.conftest import VERSION, error_code_of, ids_of
from tests.sandbox.salesforce.sf_client import Salesforce, SalesforceMalformedRequest

# --- query -------------------------------------------------------------------------------------------------------


def test_string_equality_is_case_insensitive(sim: SalesforceSim, sf: Salesforce) -> None:
    contact_id = sim.insert("Contact", {"LastName": "Smith", "Email": "Jane.Smith@Acme.com"})
    # When
    result = sf.query(format_soql("SELECT Id FROM Contact WHERE Email = {}", "jane.smith@acme.COM"))
    # Then
    assert ids_of(result) == [contact_id]


def test_query_response_has_salesforce_shape(sim: SalesforceSim, sf: Salesforce) -> None:
    contact_id = sim.insert("Contact", {"LastName": "Smith", "Email": "j@acme.com"})
    result = sf.query("SELECT Id, Email FROM Contact")
    assert result == {
        "totalSize": 1,
        "done": True,
        "records": [
            {
                "attributes": {"type": "Contact", "url": f"/services/data/v{VERSION}/sobjects/Contact/{contact_id}"},
                "Id": contact_id,
                "Email": "j@acme.com",
            }
        ],
    }


def test_like_is_case_insensitive_with_percent_wildcard(sim: SalesforceSim, sf: Salesforce) -> None:
    acme = sim.insert("Account", {"Name": "Acme", "Website": "https://www.ACME.com/"})
    sim.insert("Account", {"Name": "Other", "Website": "other.org"})
    result = sf.query(format_soql("SELECT Id FROM Account WHERE Website LIKE '%{:like}%'", "acme.com"))
    assert ids_of(result) == [acme]


def test_like_underscore_matches_exactly_one_character(sim: SalesforceSim, sf: Salesforce) -> None:
    hit = sim.insert("Account", {"Name": "ab1"})
    sim.insert("Account", {"Name": "ab12"})
    assert ids_of(sf.query("SELECT Id FROM Account WHERE Name LIKE 'ab_'")) == [hit]


def test_like_escaped_wildcards_match_literally(sim: SalesforceSim, sf: Salesforce) -> None:
    literal = sim.insert("Account", {"Name": "100%_off"})
    sim.insert("Account", {"Name": "100 percent off"})
    result = sf.query(format_soql("SELECT Id FROM Account WHERE Name LIKE '{:like}'", "100%_off"))
    assert ids_of(result) == [literal]


def test_in_list_is_case_insensitive(sim: SalesforceSim, sf: Salesforce) -> None:
    first = sim.insert("Contact", {"LastName": "A", "Email": "a@x.com"})
    sim.insert("Contact", {"LastName": "B", "Email": "b@x.com"})
    result = sf.query(format_soql("SELECT Id FROM Contact WHERE Email IN {}", ["A@X.COM", "z@x.com"]))
    assert ids_of(result) == [first]


def test_not_in_includes_null_values(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Contact", {"LastName": "A", "Email": "a@x.com"})
    without_email = sim.insert("Contact", {"LastName": "B"})
    result = sf.query("SELECT Id FROM Contact WHERE Email NOT IN ('a@x.com')")
    assert ids_of(result) == [without_email]


def test_not_equal_null_filters_out_missing_values(sim: SalesforceSim, sf: Salesforce) -> None:
    account = sim.insert("Account", {"Name": "Acme"})
    linked = sim.insert("Contact", {"LastName": "A", "AccountId": account})
    sim.insert("Contact", {"LastName": "B"})
    assert ids_of(sf.query("SELECT Id FROM Contact WHERE AccountId != null")) == [linked]


def test_order_by_several_keys_with_limit(sim: SalesforceSim, sf: Salesforce) -> None:
    # Given two accounts created at the same instant and one older
    same = datetime(2026, 3, 1, tzinfo=UTC)
    ids = [
        sim.insert("Account", {"Name": "b"}, created_date=same),
        sim.insert("Account", {"Name": "a"}, created_date=same),
        sim.insert("Account", {"Name": "old"}, created_date=datetime(2025, 1, 1, tzinfo=UTC)),
    ]
    # When
    result = sf.query("SELECT Id FROM Account WHERE Id != null ORDER BY CreatedDate ASC, Name DESC LIMIT 2")
    # Then
    assert ids_of(result) == [ids[2], ids[0]]


def test_order_by_desc_puts_nulls_last_by_default(sim: SalesforceSim, sf: Salesforce) -> None:
    no_phone = sim.insert("Account", {"Name": "n"})
    low = sim.insert("Account", {"Name": "l", "Phone": "1"})
    high = sim.insert("Account", {"Name": "h", "Phone": "2"})
    assert ids_of(sf.query("SELECT Id FROM Account ORDER BY Phone DESC")) == [high, low, no_phone]


def test_order_by_nulls_last_overrides_ascending_default(sim: SalesforceSim, sf: Salesforce) -> None:
    no_phone = sim.insert("Account", {"Name": "n"})
    low = sim.insert("Account", {"Name": "l", "Phone": "1"})
    assert ids_of(sf.query("SELECT Id FROM Account ORDER BY Phone ASC NULLS LAST")) == [low, no_phone]


def test_parent_fields_come_back_nested(sim: SalesforceSim, sf: Salesforce) -> None:
    created = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    account = sim.insert("Account", {"Name": "Acme"}, created_date=created)
    sim.insert("Contact", {"LastName": "A", "Email": "a@acme.com", "AccountId": account})
    # When
    record = sf.query("SELECT Id, AccountId, Account.CreatedDate, Account.Name FROM Contact")["records"][0]
    # Then
    assert record["Account"] == {
        "attributes": {"type": "Account", "url": f"/services/data/v{VERSION}/sobjects/Account/{account}"},
        "CreatedDate": "2026-11-23T18:00:00.000+0000",
        "Name": "Acme",
    }


def test_parent_fields_are_null_without_parent(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Contact", {"LastName": "A"})
    assert sf.query("SELECT Id, Account.Name FROM Contact")["records"][0]["Account"] is None


def test_escaped_apostrophe_matches_the_literal_value(sim: SalesforceSim, sf: Salesforce) -> None:
    contact = sim.insert("Contact", {"LastName": "O'Brien", "Email": "o'brien@acme.com"})
    result = sf.query(format_soql("SELECT Id FROM Contact WHERE Email = {}", "o'brien@acme.com"))
    assert ids_of(result) == [contact]


def test_escaped_backslash_matches_the_literal_value(sim: SalesforceSim, sf: Salesforce) -> None:
    # In a name: Salesforce refuses a backslash in an email address (not among its documented characters).
    contact = sim.insert("Contact", {"LastName": "a\\b"})
    result = sf.query(format_soql("SELECT Id FROM Contact WHERE LastName = {}", "a\\b"))
    assert ids_of(result) == [contact]


def test_unicode_escape_is_decoded(sim: SalesforceSim, sf: Salesforce) -> None:
    account = sim.insert("Account", {"Name": "Zoë"})
    assert ids_of(sf.query("SELECT Id FROM Account WHERE Name = 'Zo\\u00eb'")) == [account]


def test_unescaped_quote_is_malformed_query(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Contact", {"LastName": "O'Brien", "Email": "o'brien@acme.com"})
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Contact WHERE Email = 'o'brien@acme.com'")
    assert error_code_of(exc) == "MALFORMED_QUERY"


def test_mixing_and_with_or_without_parentheses_is_malformed(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Contact WHERE LastName = 'a' AND Email = 'b' OR Email = 'c'")
    assert error_code_of(exc) == "MALFORMED_QUERY"


def test_parentheses_and_not_combine_conditions(sim: SalesforceSim, sf: Salesforce) -> None:
    keep = sim.insert("Contact", {"LastName": "a", "Email": "a@x.com"})
    sim.insert("Contact", {"LastName": "a", "Email": "skip@x.com"})
    sim.insert("Contact", {"LastName": "c", "Email": "c@x.com"})
    soql = "SELECT Id FROM Contact WHERE (LastName = 'A' OR LastName = 'b') AND NOT Email LIKE 'skip%'"
    assert ids_of(sf.query(soql)) == [keep]


def test_unknown_field_is_invalid_field(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id, Nickname FROM Contact")
    assert error_code_of(exc) == "INVALID_FIELD"


def test_unknown_object_is_invalid_type(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Lead__x")
    assert error_code_of(exc) == "INVALID_TYPE"


def test_quoted_value_for_datetime_field_is_rejected(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Account WHERE CreatedDate > '2026-01-01'")
    assert error_code_of(exc) == "INVALID_FIELD"


def test_datetime_literal_compares_with_created_date(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Account", {"Name": "old"}, created_date=datetime(2025, 6, 1, tzinfo=UTC))
    new = sim.insert("Account", {"Name": "new"}, created_date=datetime(2026, 6, 1, tzinfo=UTC))
    assert ids_of(sf.query("SELECT Id FROM Account WHERE CreatedDate >= 2026-01-01T00:00:00Z")) == [new]


def test_malformed_id_literal_is_rejected(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Account WHERE Id = 'not-an-id'")
    assert error_code_of(exc) == "INVALID_QUERY_FILTER_OPERATOR"


def test_person_account_fields_are_invalid_in_a_business_org(sim: SalesforceSim) -> None:
    with pytest.raises(SalesforceApiError) as exc:
        sim.query("SELECT Id FROM Account WHERE IsPersonAccount = true")
    assert exc.value.error_code == "INVALID_FIELD"


def test_person_account_fields_are_queryable_when_enabled() -> None:
    sim = SalesforceSim(person_accounts=True)
    person = sim.insert("Account", {"Name": "Jo Bloggs", "IsPersonAccount": True, "PersonEmail": "Jo@Mail.com"})
    result = sim.query("SELECT Id FROM Account WHERE IsPersonAccount = true AND PersonEmail = 'jo@mail.com'")
    assert ids_of(result) == [person]


def test_custom_field_is_queryable_after_add_field(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.add_field("Account", "Email_Domain__c")
    account = sim.insert("Account", {"Name": "Acme", "Email_Domain__c": "acme.com"})
    assert ids_of(sf.query("SELECT Id FROM Account WHERE Email_Domain__c = 'ACME.com'")) == [account]


def test_count_query_returns_total_size_only(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Account", {"Name": "a"})
    sim.insert("Account", {"Name": "b"})
    assert sf.query("SELECT COUNT() FROM Account") == {"totalSize": 2, "done": True, "records": []}
