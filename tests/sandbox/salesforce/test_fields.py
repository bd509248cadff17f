"""Field lengths and email addresses on every write path (`sandbox.salesforce.fields`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.salesforce import SalesforceApiError, SalesforceSim
from sandbox.stack import Sandbox, SandboxOptions
from tests.sandbox.salesforce.conftest import HALTED, post_subrequest, record_of, run_composite, tree_body
from tests.sandbox.salesforce.sf_client import Salesforce, SalesforceMalformedRequest

# --- field lengths (sandbox/salesforce/fields.py) ----------------------------------------------------------------

# The documented limits, transcribed here rather than imported so that a wrong number in the simulator fails: API name,
# label (Salesforce names the field by its label in the message) and maximum length. Sources: Salesforce Field
# Reference Guide (Account; Contact; Name), a live org's Account field list (v49.0), Help "Email Address
# Internationalization (EAI) Considerations" (email fields: 80); details in sandbox/salesforce/fields.py.
ACCOUNT_LIMITS = [
    ("Name", "Account Name", 255),
    ("Website", "Website", 255),
    ("Phone", "Account Phone", 40),
    ("Type", "Account Type", 255),
    ("AccountSource", "Account Source", 255),
    ("Industry", "Industry", 255),
    ("Description", "Account Description", 32000),
    ("BillingStreet", "Billing Street", 255),
    ("BillingCity", "Billing City", 40),
    ("BillingState", "Billing State/Province", 80),
    ("BillingPostalCode", "Billing Zip/Postal Code", 20),
    ("BillingCountry", "Billing Country", 80),
    ("ShippingStreet", "Shipping Street", 255),
    ("ShippingCity", "Shipping City", 40),
    ("ShippingState", "Shipping State/Province", 80),
    ("ShippingPostalCode", "Shipping Zip/Postal Code", 20),
    ("ShippingCountry", "Shipping Country", 80),
]
CONTACT_LIMITS = [
    ("FirstName", "First Name", 40),
    ("LastName", "Last Name", 80),
    ("Email", "Email", 80),
    ("Phone", "Business Phone", 40),
    ("MailingStreet", "Mailing Street", 255),
    ("MailingCity", "Mailing City", 40),
    ("MailingState", "Mailing State/Province", 80),
    ("MailingPostalCode", "Mailing Zip/Postal Code", 20),
    ("MailingCountry", "Mailing Country", 80),
]
LIMITS = [
    *(pytest.param("Account", *limit, id=f"Account.{limit[0]}") for limit in ACCOUNT_LIMITS),
    *(pytest.param("Contact", *limit, id=f"Contact.{limit[0]}") for limit in CONTACT_LIMITS),
]
REQUIRED = {"Account": {"Name": "Acme"}, "Contact": {"LastName": "Doe"}}


def _value(field: str, length: int) -> str:
    """A value of exactly `length` characters that the field accepts but for its length (an address for emails)."""
    if field in ("Email", "PersonEmail"):
        return "j" * (length - len("@acme.com")) + "@acme.com"
    return "x" * length


def _too_long(field: str, label: str, value: str, limit: int) -> list[dict[str, Any]]:
    message = f"{label}: data value too large: {value} (max length={limit})"
    return [{"message": message, "errorCode": "STRING_TOO_LONG", "fields": [field]}]


@pytest.mark.parametrize(("sobject", "field", "label", "limit"), LIMITS)
def test_text_field_at_its_limit_is_accepted_by_rest_create(
    sim: SalesforceSim, sf: Salesforce, sobject: str, field: str, label: str, limit: int
) -> None:
    # When a record is created with the field exactly at its documented length
    value = _value(field, limit)
    created = getattr(sf, sobject).create({**REQUIRED[sobject], field: value})
    # Then it is stored whole
    assert record_of(sim, sobject, created["id"])[field] == value


@pytest.mark.parametrize(("sobject", "field", "label", "limit"), LIMITS)
def test_text_field_one_over_its_limit_is_refused_by_rest_create_with_string_too_long(
    sim: SalesforceSim, sf: Salesforce, sobject: str, field: str, label: str, limit: int
) -> None:
    # When a record is created with the field one character over its documented length
    value = _value(field, limit + 1)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        getattr(sf, sobject).create({**REQUIRED[sobject], field: value})
    # Then Salesforce's 400 names the field, its label and its length, and nothing is saved
    assert exc.value.status == 400
    assert exc.value.content == _too_long(field, label, value, limit)
    assert sim.records(sobject) == []


@pytest.mark.parametrize(("sobject", "field", "label", "limit"), LIMITS)
def test_text_field_one_over_its_limit_halts_a_composite_all_or_none_and_nothing_is_written(
    sim: SalesforceSim, sf: Salesforce, sobject: str, field: str, label: str, limit: int
) -> None:
    # Given an all-or-none Composite whose first subrequest is fine and whose second writes one character too many
    value = _value(field, limit + 1)
    link = {"AccountId": "@{account.id}"} if sobject == "Contact" else {}
    # When it runs
    results = run_composite(
        sf,
        [
            post_subrequest("sobjects/Account", "account", {"Name": "Acme"}),
            post_subrequest(f"sobjects/{sobject}", "tooLong", {**REQUIRED[sobject], **link, field: value}),
        ],
    )
    # Then the failing subrequest carries STRING_TOO_LONG, the other one PROCESSING_HALTED, and nothing is written
    assert results[1] == {
        "body": _too_long(field, label, value, limit),
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": "tooLong",
    }
    assert (results[0]["httpStatusCode"], results[0]["body"][0]["errorCode"]) == (400, HALTED)
    assert (sim.records("Account"), sim.records("Contact")) == ([], [])


@pytest.mark.parametrize(("sobject", "field", "label", "limit"), LIMITS)
def test_text_field_at_its_limit_is_accepted_by_update(
    sim: SalesforceSim, sf: Salesforce, sobject: str, field: str, label: str, limit: int
) -> None:
    record = sim.insert(sobject, REQUIRED[sobject])
    value = _value(field, limit)
    assert getattr(sf, sobject).update(record, {field: value}) == 204
    assert record_of(sim, sobject, record)[field] == value


@pytest.mark.parametrize(("sobject", "field", "label", "limit"), LIMITS)
def test_text_field_one_over_its_limit_is_refused_by_update_and_the_record_is_unchanged(
    sim: SalesforceSim, sf: Salesforce, sobject: str, field: str, label: str, limit: int
) -> None:
    # Given a saved record
    record = sim.insert(sobject, REQUIRED[sobject])
    before = sim.get(sobject, record)
    # When an update writes one character too many
    value = _value(field, limit + 1)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        getattr(sf, sobject).update(record, {field: value})
    # Then it is refused with STRING_TOO_LONG and the record keeps its values
    assert exc.value.content == _too_long(field, label, value, limit)
    assert sim.get(sobject, record) == before


def test_text_field_one_over_its_limit_fails_an_sobject_tree_and_nothing_is_written(
    sim: SalesforceSim, sf: Salesforce
) -> None:
    # When an Account + Contact tree carries a Contact city of 41 characters
    city = "C" * 41
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful("composite/tree/Account", method="POST", json=tree_body({"LastName": "Doe", "MailingCity": city}))
    # Then the Contact's node carries the error and the Account is not saved either
    message = f"Mailing City: data value too large: {city} (max length=40)"
    assert exc.value.content == {
        "hasErrors": True,
        "results": [
            {
                "referenceId": "con",
                "errors": [{"statusCode": "STRING_TOO_LONG", "message": message, "fields": ["MailingCity"]}],
            }
        ],
    }
    assert (sim.records("Account"), sim.records("Contact")) == ([], [])


def test_seeding_an_over_long_value_is_refused_like_the_api(sim: SalesforceSim) -> None:
    with pytest.raises(SalesforceApiError) as exc:
        sim.insert("Contact", {"LastName": "Doe", "FirstName": "F" * 41})
    assert exc.value.error_code == "STRING_TOO_LONG"


def test_a_character_outside_the_basic_multilingual_plane_counts_as_two(sim: SalesforceSim, sf: Salesforce) -> None:
    # Salesforce counts UTF-16 code units (Knowledge article 005166849): 128 emoji are 256 of Account Name's 255.
    name = "\N{GRINNING FACE}" * 128
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.create({"Name": name})
    assert exc.value.content == _too_long("Name", "Account Name", name, 255)


def test_a_value_with_astral_characters_fitting_in_utf16_units_is_accepted(sim: SalesforceSim, sf: Salesforce) -> None:
    name = "\N{GRINNING FACE}" * 127 + "x"  # 128 characters, 255 UTF-16 code units
    created = sf.Account.create({"Name": name})
    assert record_of(sim, "Account", created["id"])["Name"] == name


def test_accented_characters_count_as_one_each(sim: SalesforceSim, sf: Salesforce) -> None:
    city = "\N{LATIN SMALL LETTER E WITH ACUTE}" * 40  # 80 bytes in UTF-8, 40 characters
    created = sf.Contact.create({"LastName": "Doe", "MailingCity": city})
    assert record_of(sim, "Contact", created["id"])["MailingCity"] == city


def test_person_email_is_limited_to_80_characters() -> None:
    sim = SalesforceSim(person_accounts=True)
    email = _value("PersonEmail", 81)
    with pytest.raises(SalesforceApiError) as exc:
        sim.insert("Account", {"Name": "Jo Bloggs", "IsPersonAccount": True, "PersonEmail": email})
    assert exc.value.body == _too_long("PersonEmail", "Email", email, 80)


# --- email addresses (sandbox/salesforce/fields.py) --------------------------------------------------------------


def _invalid_email(field: str, address: str) -> list[dict[str, Any]]:
    message = f"Email: invalid email address: {address}"
    return [{"message": message, "errorCode": "INVALID_EMAIL_ADDRESS", "fields": [field]}]


@pytest.fixture
def eai(sim: SalesforceSim) -> Iterator[SalesforceSim]:
    """The org with Email Address Internationalization turned on."""
    sim.email_internationalization = True
    yield sim
    sim.email_internationalization = False


def test_non_ascii_local_part_is_refused_without_email_internationalization(sim: SalesforceSim, sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"LastName": "Doe", "Email": "josé@acme.com"})
    assert exc.value.status == 400
    assert exc.value.content == _invalid_email("Email", "josé@acme.com")
    assert sim.records("Contact") == []


def test_non_ascii_domain_is_refused_without_email_internationalization(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"LastName": "Doe", "Email": "anna@bücher.de"})
    assert exc.value.content == _invalid_email("Email", "anna@bücher.de")


def test_punycode_domain_is_accepted_without_email_internationalization(sim: SalesforceSim, sf: Salesforce) -> None:
    created = sf.Contact.create({"LastName": "Doe", "Email": "anna@xn--bcher-kva.de"})
    assert record_of(sim, "Contact", created["id"])["Email"] == "anna@xn--bcher-kva.de"


def test_non_ascii_local_part_is_accepted_with_email_internationalization(eai: SalesforceSim, sf: Salesforce) -> None:
    created = sf.Contact.create({"LastName": "Doe", "Email": "josé@acme.com"})
    assert record_of(eai, "Contact", created["id"])["Email"] == "josé@acme.com"


def test_non_ascii_domain_is_accepted_with_email_internationalization(eai: SalesforceSim, sf: Salesforce) -> None:
    created = sf.Contact.create({"LastName": "Doe", "Email": "用户@例子.公司"})
    assert record_of(eai, "Contact", created["id"])["Email"] == "用户@例子.公司"


def test_internationalized_address_of_80_characters_is_accepted_however_many_bytes(
    eai: SalesforceSim, sf: Salesforce
) -> None:
    # "We support non-Latin-based characters in email addresses up to the current 80-character maximum" (EAI help)
    address = "é" * 71 + "@acme.com"  # 80 characters, 151 bytes in UTF-8
    created = sf.Contact.create({"LastName": "Doe", "Email": address})
    assert record_of(eai, "Contact", created["id"])["Email"] == address


@pytest.mark.parametrize("address", ["jo sé@acme.com", "josé", "josé@acme", "josé@@acme.com", "jo\u200bsé@acme.com"])
def test_email_internationalization_still_refuses_what_is_not_an_address(
    sf: Salesforce, eai: SalesforceSim, address: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"LastName": "Doe", "Email": address})
    assert exc.value.content == _invalid_email("Email", address)


def test_non_ascii_email_is_refused_by_update_without_email_internationalization(
    sim: SalesforceSim, sf: Salesforce
) -> None:
    contact = sim.insert("Contact", {"LastName": "Doe", "Email": "jose@acme.com"})
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.update(contact, {"Email": "josé@acme.com"})
    assert exc.value.content == _invalid_email("Email", "josé@acme.com")
    assert record_of(sim, "Contact", contact)["Email"] == "jose@acme.com"


def test_non_ascii_email_halts_a_composite_all_or_none_without_email_internationalization(
    sim: SalesforceSim, sf: Salesforce
) -> None:
    results = run_composite(
        sf,
        [
            post_subrequest("sobjects/Account", "account", {"Name": "Acme"}),
            post_subrequest(
                "sobjects/Contact",
                "contact",
                {"LastName": "Doe", "AccountId": "@{account.id}", "Email": "josé@acme.com"},
            ),
        ],
    )
    assert results[1]["body"] == _invalid_email("Email", "josé@acme.com")
    assert results[0]["body"][0]["errorCode"] == HALTED
    assert sim.records("Account") == []


@pytest.mark.parametrize("address", ["a..a@test.jp", "a..@test.jp", "a.@test.jp"])
def test_consecutive_and_trailing_dots_in_the_local_part_are_accepted(sf: Salesforce, address: str) -> None:
    # Salesforce's documented deviation from the RFCs (Knowledge article 000384328), asked for by customers in Japan
    assert sf.Contact.create({"LastName": "Doe", "Email": address})["success"] is True


def test_a_leading_dot_in_the_local_part_is_refused(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"LastName": "Doe", "Email": ".a@test.jp"})
    assert exc.value.content == _invalid_email("Email", ".a@test.jp")


def test_every_documented_local_part_character_is_accepted(sf: Salesforce) -> None:
    address = "az.AZ09!#$%&'*+-/=?^_`{|}~@acme.com"  # Knowledge article 000001145's list, both letter cases
    assert sf.Contact.create({"LastName": "Doe", "Email": address})["success"] is True


def test_a_comment_in_the_address_is_accepted(sf: Salesforce) -> None:
    # "john.doe@(comment)example.com and john.doe@example.com are equivalent" (Knowledge article 000384328)
    assert sf.Contact.create({"LastName": "Doe", "Email": "john.doe@(comment)example.com"})["success"] is True


REFUSED_ADDRESSES = [
    "a\\b@acme.com",  # backslash: not in the local part's documented characters
    '"a b"@acme.com',  # quoted local part
    "a,b@acme.com",
    "a b@acme.com",
    "a@b@acme.com",
    "@acme.com",  # no local part
    "a@",  # no domain
    "a@acme",  # no dot in the domain (the simulator's earlier rule; Salesforce's is undocumented)
    "a@acme..com",  # empty domain label
    "a@acme.com.",
    "a@[192.0.2.1]",  # address literal: the domain takes letters, digits and dashes only
    "a@ac_me.com",
]


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_an_address_outside_the_documented_format_is_refused(sf: Salesforce, address: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"LastName": "Doe", "Email": address})
    assert exc.value.content == _invalid_email("Email", address)


def test_person_email_is_refused_with_a_non_ascii_local_part_without_email_internationalization() -> None:
    sim = SalesforceSim(person_accounts=True)
    with pytest.raises(SalesforceApiError) as exc:
        sim.insert("Account", {"Name": "Jo", "IsPersonAccount": True, "PersonEmail": "josé@acme.com"})
    assert exc.value.body == _invalid_email("PersonEmail", "josé@acme.com")


def test_person_email_accepts_a_non_ascii_local_part_with_email_internationalization() -> None:
    sim = SalesforceSim(person_accounts=True, email_internationalization=True)
    account = sim.insert("Account", {"Name": "Jo", "IsPersonAccount": True, "PersonEmail": "josé@acme.com"})
    assert record_of(sim, "Account", account)["PersonEmail"] == "josé@acme.com"


def test_sandbox_options_pass_email_internationalization_to_the_simulator(tmp_path: Path) -> None:
    sandbox = Sandbox(SandboxOptions(email_internationalization=True), workdir=tmp_path)
    assert sandbox.salesforce.email_internationalization is True
