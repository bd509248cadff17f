"""sObject create/get/update/delete, duplicate rules and the CPQ objects (`sandbox.salesforce.records`,
`sandbox.salesforce.schema`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from simple_salesforce.format import format_soql

from sandbox.salesforce import SalesforceApiError, SalesforceSim, to_18
from tests.sandbox.salesforce.conftest import (
    VERSION,
    bearer_header,
    data_url,
    error_code_of,
    post_subrequest,
    record_of,
    run_composite,
)
from tests.sandbox.salesforce.sf_client import Salesforce, SalesforceMalformedRequest, SalesforceResourceNotFound

SF_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000")


# --- sObjects ----------------------------------------------------------------------------------------------------


def test_create_answers_201_with_id_and_location(sim: SalesforceSim, http: requests.Session, token: str) -> None:
    reply = http.post(
        data_url(sim, "sobjects/Account/"), json={"Name": "Acme"}, headers=bearer_header(token), timeout=10
    )
    body = reply.json()
    assert reply.status_code == 201
    assert body == {"id": body["id"], "success": True, "errors": []}
    assert reply.headers["Location"] == f"/services/data/v{VERSION}/sobjects/Account/{body['id']}"


def test_get_returns_record_with_attributes_and_salesforce_dates(sf: Salesforce) -> None:
    created = sf.Account.create({"Name": "Acme", "Website": "acme.com"})
    record = sf.Account.get(created["id"])
    assert record["attributes"]["type"] == "Account"
    assert (record["Name"], record["Website"], record["IsDeleted"]) == ("Acme", "acme.com", False)
    assert SF_DATETIME.fullmatch(record["CreatedDate"])
    assert SF_DATETIME.fullmatch(record["LastModifiedDate"])


def test_field_names_in_bodies_are_case_insensitive(sim: SalesforceSim, sf: Salesforce) -> None:
    created = sf.Contact.create({"lastname": "Smith", "EMAIL": "s@x.com"})
    assert record_of(sim, "Contact", created["id"])["Email"] == "s@x.com"


def test_patch_updates_fields_and_answers_204(sim: SalesforceSim, sf: Salesforce) -> None:
    account = sim.insert("Account", {"Name": "Acme"}, created_date=datetime(2025, 1, 1, tzinfo=UTC))
    status = sf.Account.update(account, {"Phone": "555"})
    record = record_of(sim, "Account", account)
    assert status == 204
    assert record["Phone"] == "555"
    assert record["LastModifiedDate"] > record["CreatedDate"]


def test_get_of_unknown_record_is_404_not_found(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Account.get(to_18("001000000000999"))
    assert exc.value.content == [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


def test_missing_required_field_names_the_field(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"FirstName": "Jane"})
    assert exc.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert exc.value.content[0]["fields"] == ["LastName"]


def test_unknown_field_on_create_is_invalid_field(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.create({"Name": "Acme", "Nickname": "A"})
    assert error_code_of(exc) == "INVALID_FIELD"


def test_reference_to_missing_record_is_rejected(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"LastName": "A", "AccountId": to_18("001000000000999")})
    assert error_code_of(exc) == "INVALID_CROSS_REFERENCE_KEY"


# --- duplicate rules ---------------------------------------------------------------------------------------------


def test_duplicates_are_allowed_without_a_rule(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Account", {"Name": "Acme"})
    sf.Account.create({"Name": "Acme"})
    assert len(sim.records("Account")) == 2


def test_duplicate_rule_blocks_case_insensitive_match(sim: SalesforceSim, sf: Salesforce) -> None:
    # Given
    existing = sim.insert("Account", {"Name": "Acme Ltd"})
    sim.enable_duplicate_rule("Account", "Name")
    # When
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.create({"Name": "ACME LTD"})
    # Then
    error = exc.value.content[0]
    assert (error["errorCode"], error["message"]) == ("DUPLICATES_DETECTED", "Use one of these records?")
    match = error[sim.duplicate_result_key]["matchResults"][0]
    assert match["matchRecords"][0]["record"]["Id"] == existing
    assert len(sim.records("Account")) == 1


def test_duplicate_error_uses_salesforce_rest_spelling_and_shape(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Account", {"Name": "Acme"})
    sim.enable_duplicate_rule("Account", "Name", rule_name="Block_Accounts")
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.create({"Name": "acme"})
    result = exc.value.content[0]["duplicateResut"]
    assert result["allowSave"] is False
    assert (result["duplicateRule"], result["duplicateRuleEntityType"]) == ("Block_Accounts", "Account")
    assert set(result["matchResults"][0]) == {
        "entityType",
        "errors",
        "matchEngine",
        "matchRecords",
        "rule",
        "size",
        "success",
    }


def test_duplicate_contact_email_inside_composite_rolls_back(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Contact", {"LastName": "Old", "Email": "jane@acme.com"})
    sim.enable_duplicate_rule("Contact", "Email")
    results = run_composite(
        sf,
        [
            post_subrequest("sobjects/Account", "newAccount", {"Name": "Acme"}),
            post_subrequest("sobjects/Contact", "newContact", {"LastName": "J", "Email": "Jane@Acme.com"}),
        ],
    )
    assert results[1]["body"][0]["errorCode"] == "DUPLICATES_DETECTED"
    assert sim.records("Account") == []


def test_reset_turns_duplicate_rules_off(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.enable_duplicate_rule("Account", "Name")
    sim.reset()
    sim.insert("Account", {"Name": "Acme"})
    sf.Account.create({"Name": "Acme"})
    assert len(sim.records("Account")) == 2


# --- CPQ objects: Order, OrderItem, Product2, PricebookEntry, currencies -------------------------------------------


def _order(sim: SalesforceSim, **fields: Any) -> str:
    account = sim.insert("Account", {"Name": "Acme"})
    return sim.insert("Order", {"AccountId": account, "EffectiveDate": "2026-02-01"} | fields)


def test_order_defaults_to_draft_with_sequential_order_numbers_from_100() -> None:
    # Given a fresh org
    sim = SalesforceSim()
    # When
    first, second = _order(sim), _order(sim)
    # Then
    assert (record_of(sim, "Order", first)["Status"], record_of(sim, "Order", first)["OrderNumber"]) == (
        "Draft",
        "00000100",
    )
    assert record_of(sim, "Order", second)["OrderNumber"] == "00000101"


def test_order_number_is_read_only_over_the_api(sim: SalesforceSim, sf: Salesforce) -> None:
    account = sim.insert("Account", {"Name": "Acme"})
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Order.create({"AccountId": account, "EffectiveDate": "2026-01-01", "OrderNumber": "X"})
    assert error_code_of(exc) == "INVALID_FIELD_FOR_INSERT_UPDATE"


@pytest.mark.parametrize(("missing", "field"), [("EffectiveDate", "EffectiveDate"), ("AccountId", "AccountId")])
def test_order_without_a_required_field_is_refused(
    sim: SalesforceSim, sf: Salesforce, missing: str, field: str
) -> None:
    # Given
    fields = {"AccountId": sim.insert("Account", {"Name": "Acme"}), "EffectiveDate": "2026-01-01"}
    del fields[missing]
    # When
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Order.create(fields)
    # Then
    assert exc.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert exc.value.content[0]["fields"] == [field]


@pytest.mark.parametrize(("missing", "field"), [("OrderId", "OrderId"), ("Quantity", "Quantity")])
def test_order_item_without_a_required_field_is_refused(
    sim: SalesforceSim, sf: Salesforce, missing: str, field: str
) -> None:
    fields = {"OrderId": _order(sim), "Quantity": 1}
    del fields[missing]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.OrderItem.create(fields)
    assert exc.value.content[0]["fields"] == [field]


def test_order_item_reads_product_mapping_fields_through_product2(sim: SalesforceSim, sf: Salesforce) -> None:
    # Given the product's default mapping fields, registered on Product2 by default
    product = sim.insert(
        "Product2",
        {
            "Name": "Gold",
            "ProductCode": "GOLD",
            "IsActive": True,
            "Zuora_Product_Rate_Plan_Id__c": "8a1",
            "Zuora_Product_Rate_Plan_Charge_Id__c": "8a2",
        },
    )
    order = _order(sim)
    sim.insert("OrderItem", {"OrderId": order, "Product2Id": product, "Quantity": 3, "SBQQ__SubscriptionTerm__c": 12})
    # When
    rows = sf.query(
        format_soql(
            "SELECT Quantity, SBQQ__SubscriptionTerm__c, Product2.Name, Product2.Zuora_Product_Rate_Plan_Id__c, "
            "Product2.Zuora_Product_Rate_Plan_Charge_Id__c, Order.AccountId FROM OrderItem WHERE OrderId = {} "
            "ORDER BY CreatedDate ASC, Id ASC LIMIT 200",
            order,
        )
    )["records"]
    # Then
    assert (rows[0]["Quantity"], rows[0]["SBQQ__SubscriptionTerm__c"]) == (3.0, 12.0)
    assert {k: v for k, v in rows[0]["Product2"].items() if k != "attributes"} == {
        "Name": "Gold",
        "Zuora_Product_Rate_Plan_Id__c": "8a1",
        "Zuora_Product_Rate_Plan_Charge_Id__c": "8a2",
    }
    assert rows[0]["Order"]["AccountId"] == record_of(sim, "Order", order)["AccountId"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("SBQQ__ChargeType__c", "Recurring"),
        ("SBQQ__BillingFrequency__c", "Invoice Plan"),
        ("SBQQ__BillingType__c", "Arrears"),
        ("ServiceDate", "2026-02-01"),
        ("EndDate", "2027-01-31"),
    ],
)
def test_cpq_order_item_fields_are_stored(sim: SalesforceSim, field: str, value: str) -> None:
    item = sim.insert("OrderItem", {"OrderId": _order(sim), "Quantity": 1, field: value})
    assert record_of(sim, "OrderItem", item)[field] == value


def test_bad_value_for_a_cpq_picklist_is_refused(sim: SalesforceSim, sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.OrderItem.create({"OrderId": _order(sim), "Quantity": 1, "SBQQ__BillingFrequency__c": "Weekly"})
    assert error_code_of(exc) == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_subscription_term_is_a_number_in_soql(sim: SalesforceSim, sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM OrderItem WHERE SBQQ__SubscriptionTerm__c = '12'")
    assert error_code_of(exc) == "INVALID_FIELD"


def test_order_total_amount_sums_its_items(sim: SalesforceSim, sf: Salesforce) -> None:
    # Given
    quote = sim.insert("SBQQ__Quote__c", {"SBQQ__Type__c": "Quote"})
    order = _order(sim, SBQQ__Quote__c=quote, Description="first")
    sim.insert("OrderItem", {"OrderId": order, "Quantity": 2, "UnitPrice": 10})
    item = sim.insert("OrderItem", {"OrderId": order, "Quantity": 1, "UnitPrice": 5})
    # When
    sf.OrderItem.update(item, {"Quantity": 3})
    # Then
    record = sf.Order.get(order)
    assert (record["TotalAmount"], record["SBQQ__Quote__c"]) == (35.0, quote)


def test_deleting_an_order_deletes_its_items(sim: SalesforceSim, sf: Salesforce) -> None:
    order = _order(sim)
    sim.insert("OrderItem", {"OrderId": order, "Quantity": 1})
    sf.Order.delete(order)
    assert sim.records("OrderItem") == []


def test_order_item_takes_its_product_from_the_price_book_entry(sim: SalesforceSim) -> None:
    product = sim.insert("Product2", {"Name": "Gold", "ProductCode": "G"})
    book = sim.insert("Pricebook2", {"Name": "Standard"})
    entry = sim.insert("PricebookEntry", {"Pricebook2Id": book, "Product2Id": product, "UnitPrice": 9})
    item = sim.insert("OrderItem", {"OrderId": _order(sim), "PricebookEntryId": entry, "Quantity": 1})
    assert (record_of(sim, "OrderItem", item)["Product2Id"], record_of(sim, "PricebookEntry", entry)["Name"]) == (
        product,
        "Gold",
    )


def test_insert_sets_the_owner(sim: SalesforceSim) -> None:
    user = sim.add_user("rep@acme.example.com", "pw")
    account = sim.insert("Account", {"Name": "Acme"}, owner_id=user)
    assert record_of(sim, "Account", account)["OwnerId"] == user


def test_records_are_owned_by_the_integration_user_by_default(sim: SalesforceSim) -> None:
    assert record_of(sim, "Order", _order(sim))["OwnerId"] == sim.user_id


def test_currency_iso_code_is_invalid_in_a_single_currency_org(sim: SalesforceSim, sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT CurrencyIsoCode FROM Account")
    assert error_code_of(exc) == "INVALID_FIELD"


def test_multi_currency_org_defaults_to_the_corporate_currency() -> None:
    sim = SalesforceSim(multi_currency=True, currencies=("EUR", "USD"))
    account = sim.insert("Account", {"Name": "Acme"})
    assert sim.query("SELECT CurrencyIsoCode FROM Account")["records"][0]["CurrencyIsoCode"] == "EUR"
    assert record_of(sim, "Account", account)["CurrencyIsoCode"] == "EUR"


def test_multi_currency_order_items_take_their_orders_currency() -> None:
    sim = SalesforceSim(multi_currency=True)
    order = _order(sim, CurrencyIsoCode="GBP")
    item = sim.insert("OrderItem", {"OrderId": order, "Quantity": 1})
    assert record_of(sim, "OrderItem", item)["CurrencyIsoCode"] == "GBP"


def test_inactive_currency_is_refused() -> None:
    sim = SalesforceSim(multi_currency=True, currencies=("USD",))
    with pytest.raises(SalesforceApiError) as exc:
        sim.insert("Account", {"Name": "Acme", "CurrencyIsoCode": "EUR"})
    assert exc.value.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_add_field_with_values_makes_a_restricted_picklist() -> None:
    sim = SalesforceSim()
    sim.add_field("Order", "Region__c", "picklist", values=["EMEA", "AMER"])
    with pytest.raises(SalesforceApiError) as exc:
        _order(sim, Region__c="APAC")
    assert exc.value.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
