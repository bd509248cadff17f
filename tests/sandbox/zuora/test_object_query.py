"""Object Query over accounts: filters, paging and row shapes (`sandbox.zuora.object_query`,
`sandbox.zuora.catalog_api`)."""

from __future__ import annotations

from sandbox.zuora import ZuoraSim
from tests.sandbox.zuora.conftest import CRM_ID, SDK_ACCOUNT, call

# --- Object Query ----------------------------------------------------------------------------------


def test_object_query_finds_accounts_by_crm_id(sim: ZuoraSim, token: str) -> None:
    # Given two accounts, one with the CRM id
    number = sim.seed_account("Umbrella", "USD", CRM_ID)
    sim.seed_account("Other", "USD", "001000000000009AAA")
    # When
    response = call(sim, token, "GET", "/object-query/accounts", params={"filter[]": f"crmid.EQ:{CRM_ID}"})
    # Then
    data = response.json()["data"]
    assert [row["accountNumber"] for row in data] == [number]
    assert {"id", "accountNumber", "name", "currency", "crmId", "status", "createdDate"} <= set(data[0])
    assert data[0]["crmId"] == CRM_ID


def test_object_query_filters_are_anded(sim: ZuoraSim, token: str) -> None:
    # Given the same CRM id in two currencies
    sim.seed_account("Umbrella US", "USD", CRM_ID)
    eur = sim.seed_account("Umbrella EU", "EUR", CRM_ID)
    # When
    params = {"filter[]": [f"crmId.EQ:{CRM_ID}", "currency.EQ:EUR"]}
    data = call(sim, token, "GET", "/object-query/accounts", params=params).json()["data"]
    # Then
    assert [row["accountNumber"] for row in data] == [eur]


def test_object_query_pages_with_next_page(sim: ZuoraSim, token: str) -> None:
    # Given three matching accounts
    numbers = [sim.seed_account(f"Acme {i}", "USD", CRM_ID) for i in range(3)]
    # When the first page of two is read, then the next
    first = call(sim, token, "GET", "/object-query/accounts", params={"pageSize": 2}).json()
    cursor = first["nextPage"]
    second = call(sim, token, "GET", "/object-query/accounts", params={"pageSize": 2, "cursor": cursor}).json()
    # Then
    assert [row["accountNumber"] for row in first["data"] + second["data"]] == numbers
    assert "nextPage" not in second


def test_object_query_rejects_an_unsupported_filter(sim: ZuoraSim, token: str) -> None:
    # When
    response = call(sim, token, "GET", "/object-query/accounts", params={"filter[]": "balance.GT:0"})
    # Then
    assert response.status_code == 400


def test_seeded_account_keeps_its_created_date(sim: ZuoraSim, token: str) -> None:
    # Given an account seeded with a past creation date
    sim.seed_account("Old", "USD", CRM_ID, created_date="2019-02-03T00:00:00+00:00")
    # When
    data = call(sim, token, "GET", "/object-query/accounts", params={"filter[]": f"crmid.EQ:{CRM_ID}"}).json()["data"]
    # Then
    assert data[0]["createdDate"] == "2019-02-03T00:00:00+00:00"


def test_object_query_account_rows_have_sdk_field_names(sim: ZuoraSim, token: str) -> None:
    # Given an account
    sim.seed_account("Umbrella", "USD", CRM_ID)
    # When / Then
    (row,) = call(sim, token, "GET", "/object-query/accounts").json()["data"]
    assert set(row) <= SDK_ACCOUNT
