"""The simulator's 18-character case-safe Ids (`sandbox.salesforce.ids`): checksums, key prefixes, 15-character
Ids accepted."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce.format import format_soql

from sandbox.salesforce import DEFAULT_ORG_ID, SalesforceSim, canonical_id, to_18
from tests.sandbox.salesforce.conftest import ids_of
from tests.sandbox.salesforce.sf_client import Salesforce

# --- Ids ---------------------------------------------------------------------------------------------------------


def test_to_18_appends_no_capitals_checksum_to_all_digit_id() -> None:
    # Given a 15-char Id with no capital letters, every 5-char chunk has flags 00000 -> 'A'
    # When / Then
    assert to_18("001000000000001") == "001000000000001AAA"


@pytest.mark.parametrize(
    ("id15", "expected"),
    [
        ("a0RE000000IJmcN", "a0RE000000IJmcNMAT"),
        ("001M000000qfPyS", "001M000000qfPySIAU"),
        ("a0D30000001n7Pi", "a0D30000001n7PiEAI"),
    ],
)
def test_to_18_matches_published_examples(id15: str, expected: str) -> None:
    assert to_18(id15) == expected


def test_canonical_id_restores_letter_case_of_an_18_char_id_from_its_suffix() -> None:
    assert canonical_id("001m000000qfpysiau") == "001M000000qfPySIAU"


def test_default_org_id_is_a_valid_18_char_org_id() -> None:
    assert DEFAULT_ORG_ID.startswith("00D")
    assert to_18(DEFAULT_ORG_ID[:15]) == DEFAULT_ORG_ID


@pytest.mark.parametrize(
    ("sobject", "fields", "prefix"),
    [
        ("Account", {"Name": "Acme"}, "001"),
        ("Contact", {"LastName": "Smith"}, "003"),
        ("Product2", {"Name": "Gold"}, "01t"),
    ],
)
def test_created_ids_carry_key_prefix_and_valid_checksum(
    sf: Salesforce, sobject: str, fields: dict[str, Any], prefix: str
) -> None:
    # When
    created = getattr(sf, sobject).create(fields)
    # Then
    assert len(created["id"]) == 18
    assert created["id"].startswith(prefix)
    assert to_18(created["id"][:15]) == created["id"]


def test_order_and_order_item_ids_use_801_and_802(sim: SalesforceSim) -> None:
    account = sim.insert("Account", {"Name": "Acme"})
    order = sim.insert("Order", {"AccountId": account, "EffectiveDate": "2026-01-01", "Status": "Draft"})
    item = sim.insert("OrderItem", {"OrderId": order, "Quantity": 1, "UnitPrice": 10})
    assert (order[:3], item[:3]) == ("801", "802")


def test_get_accepts_a_15_char_id(sim: SalesforceSim, sf: Salesforce) -> None:
    account_id = sim.insert("Account", {"Name": "Acme"})
    # When
    record = sf.Account.get(account_id[:15])
    # Then
    assert record["Id"] == account_id


def test_where_id_equals_accepts_a_15_char_id(sim: SalesforceSim, sf: Salesforce) -> None:
    account_id = sim.insert("Account", {"Name": "Acme"})
    sim.insert("Account", {"Name": "Other"})
    # When
    result = sf.query(format_soql("SELECT Id FROM Account WHERE Id = {}", account_id[:15]))
    # Then
    assert ids_of(result) == [account_id]
