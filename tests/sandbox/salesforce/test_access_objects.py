"""UserRecordAccess, UserSetupEntityAccess and the CPQ contract objects, against Salesforce's Object Reference."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from sandbox.salesforce import SalesforceSim
from tests.sandbox.salesforce.conftest import VERSION, bearer_header, data_url, error_code_of


def _as(sim: SalesforceSim, http: requests.Session, user_id: str) -> Salesforce:
    return Salesforce(instance_url=sim.url, session_id=sim.issue_token(user_id), version=VERSION, session=http)


def _account(sim: SalesforceSim, owner: str) -> str:
    return sim.insert("Account", {"Name": "Wayne Enterprises"}, owner_id=owner)


def _access(sf: Salesforce, user_id: str, record_id: str) -> dict[str, Any]:
    soql = (
        "SELECT RecordId, HasReadAccess, HasEditAccess, MaxAccessLevel FROM UserRecordAccess "
        f"WHERE UserId = '{user_id}' AND RecordId = '{record_id}'"
    )
    (row,) = sf.query(soql)["records"]
    return dict(row)


def test_user_record_access_says_read_for_a_read_share_and_edit_for_the_owner(
    sim: SalesforceSim, http: requests.Session
) -> None:
    owner = sim.add_user("owner@wayne.example", "pw")
    reader = sim.add_user("reader@wayne.example", "pw")
    account = _account(sim, owner)
    sim.share(account, reader, "Read")

    as_reader = _access(_as(sim, http, reader), reader, account)
    as_owner = _access(_as(sim, http, owner), owner, account)

    assert (as_reader["HasReadAccess"], as_reader["HasEditAccess"], as_reader["MaxAccessLevel"]) == (
        True,
        False,
        "Read",
    )
    assert (as_owner["HasEditAccess"], as_owner["MaxAccessLevel"]) == (True, "All")


def test_order_products_follow_their_orders_access(sim: SalesforceSim, http: requests.Session) -> None:
    owner = sim.add_user("owner@wayne.example", "pw")
    account = _account(sim, owner)
    order = sim.insert("Order", {"AccountId": account, "EffectiveDate": "2027-01-01"}, owner_id=owner)
    item = sim.insert("OrderItem", {"OrderId": order, "Quantity": 1})
    assert _access(_as(sim, http, owner), owner, item)["HasEditAccess"] is True


@pytest.mark.parametrize(
    "where",
    ["WHERE UserId = '{user}'", "WHERE RecordId = '{record}'", "WHERE UserId = '{user}' OR RecordId = '{record}'"],
)
def test_user_record_access_needs_a_filter_on_one_user_and_the_records(
    sim: SalesforceSim, http: requests.Session, where: str
) -> None:
    owner = sim.add_user("owner@wayne.example", "pw")
    account = _account(sim, owner)
    soql = "SELECT RecordId FROM UserRecordAccess " + where.format(user=owner, record=account)

    with pytest.raises(SalesforceError) as exc:
        _as(sim, http, owner).query(soql)

    assert error_code_of(exc) == "MALFORMED_QUERY"


def test_user_setup_entity_access_lists_only_the_running_users_custom_permissions(
    sim: SalesforceSim, http: requests.Session
) -> None:
    granted = sim.add_user("granted@wayne.example", "pw")
    other = sim.add_user("other@wayne.example", "pw")
    sim.add_custom_permission("Send_To_Zuora")
    sim.add_custom_permission("Other_Permission", namespace="acme")
    sim.grant_custom_permission(granted, "Send_To_Zuora")
    soql = (
        "SELECT DeveloperName, NamespacePrefix, SetupEntityType FROM UserSetupEntityAccess "
        "WHERE DeveloperName = 'Send_To_Zuora' AND NamespacePrefix = null"
    )

    mine = _as(sim, http, granted).query(soql)["records"]
    theirs = _as(sim, http, other).query(soql)["records"]

    assert [(r["DeveloperName"], r["SetupEntityType"]) for r in mine] == [("Send_To_Zuora", "CustomPermission")]
    assert theirs == []


def test_the_access_objects_cannot_be_written(sim: SalesforceSim, http: requests.Session, token: str) -> None:
    reply = http.post(data_url(sim, "sobjects/UserRecordAccess"), json={}, headers=bearer_header(token), timeout=10)
    assert reply.status_code == 400 and reply.json()[0]["errorCode"] == "INVALID_TYPE_FOR_OPERATION"


def test_cpq_orders_reach_their_quote_contract_and_revised_and_subscribed_order_products(
    sim: SalesforceSim, sf: Salesforce
) -> None:
    account = sim.insert("Account", {"Name": "Wayne"})
    original = sim.insert("Order", {"AccountId": account, "EffectiveDate": "2027-01-01"})
    first = sim.insert("OrderItem", {"OrderId": original, "Quantity": 5})
    contract = sim.insert("Contract", {"AccountId": account, "SBQQ__Order__c": original})
    quote = sim.insert("SBQQ__Quote__c", {"SBQQ__Type__c": "Renewal"})
    renewal = sim.insert(
        "Order",
        {"AccountId": account, "EffectiveDate": "2028-01-01", "ContractId": contract, "SBQQ__Quote__c": quote},
    )
    subscription = sim.insert("SBQQ__Subscription__c", {"SBQQ__OrderProduct__c": first, "SBQQ__Quantity__c": 5})
    sim.insert("OrderItem", {"OrderId": renewal, "Quantity": 5, "SBQQ__Subscription__c": subscription})
    sim.insert(
        "OrderItem",
        {
            "OrderId": renewal,
            "Quantity": -5,
            "SBQQ__RevisedOrderProduct__c": first,
            "SBQQ__ContractAction__c": "Cancel",
        },
    )

    (order,) = sf.query(
        f"SELECT SBQQ__Quote__r.SBQQ__Type__c, Contract.SBQQ__Order__c FROM Order WHERE Id = '{renewal}'"
    )["records"]
    items = sf.query(
        "SELECT SBQQ__Subscription__r.SBQQ__OrderProduct__c, SBQQ__RevisedOrderProduct__c FROM OrderItem "
        f"WHERE OrderId = '{renewal}' ORDER BY CreatedDate"
    )["records"]

    assert order["SBQQ__Quote__r"]["SBQQ__Type__c"] == "Renewal" and order["Contract"]["SBQQ__Order__c"] == original
    assert items[0]["SBQQ__Subscription__r"]["SBQQ__OrderProduct__c"] == first
    assert items[1]["SBQQ__RevisedOrderProduct__c"] == first


def test_the_write_back_fields_take_what_the_button_writes(sim: SalesforceSim, sf: Salesforce) -> None:
    account = sim.insert("Account", {"Name": "Wayne"})
    order = sim.insert("Order", {"AccountId": account, "EffectiveDate": "2027-01-01"})
    values = {
        "Zuora_Order_Number__c": "O-00000001",
        "Zuora_Sync_Status__c": "Failed",
        "Zuora_Sync_Error__c": "50000020: Invalid value",
        "Zuora_Last_Sync__c": "2027-01-01T10:00:00Z",
    }

    sf.restful(f"sobjects/Order/{order}", method="PATCH", json=values)

    stored = sim.get("Order", order) or {}
    assert stored["Zuora_Sync_Status__c"] == "Failed" and stored["Zuora_Last_Sync__c"].startswith("2027-01-01T10:00:00")
