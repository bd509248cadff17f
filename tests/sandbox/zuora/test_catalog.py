"""The product catalog over Object Query and v1, and seeding it (`sandbox.zuora.catalog`,
`sandbox.zuora.catalog_api`)."""

from __future__ import annotations

import pytest

from sandbox.zuora import (
    PLATFORM_FEE_CHARGE_ID,
    PRO_RATE_PLAN_ID,
    SANDBOX_TENANT,
    SEATS_CHARGE_ID,
    SUPPORT_RATE_PLAN_ID,
    TIERED_RATE_PLAN_ID,
    ChargeSpec,
    TierSpec,
    ZuoraSim,
)
from tests.sandbox.zuora.conftest import (
    SDK_EXTERNAL_PRODUCT_RATE_PLAN,
    SDK_PRODUCT,
    SDK_PRODUCT_RATE_PLAN,
    SDK_PRODUCT_RATE_PLAN_CHARGE,
    SDK_PRODUCT_RATE_PLAN_CHARGE_TIER,
    SDK_RATE_PLAN_WITH_EXTERNAL_ID,
    call,
    charge_named,
    order_body,
    post_order,
    pro_with_tiers,
    quantity_of,
    rate_plans_query,
    reason_codes,
    subscribe_to,
)

# --- product catalog over Object Query -------------------------------------------------------------------


def test_rate_plan_by_key_answers_object_query_fields_without_charges(sim: ZuoraSim, token: str) -> None:
    # When the Pro rate plan is retrieved without expansion
    response = rate_plans_query(sim, token, f"/{PRO_RATE_PLAN_ID}")
    # Then its fields are the SDK model's and no charges are included
    body = response.json()
    assert response.status_code == 200
    assert (body["id"], body["name"], body["productId"]) == (PRO_RATE_PLAN_ID, "Pro", SANDBOX_TENANT.products[0]["id"])
    assert set(body) <= SDK_PRODUCT_RATE_PLAN
    assert "productRatePlanCharges" not in body


def test_rate_plan_can_be_retrieved_by_its_number(sim: ZuoraSim, token: str) -> None:
    # Given the Pro rate plan's number
    number = rate_plans_query(sim, token, f"/{PRO_RATE_PLAN_ID}").json()["productRatePlanNumber"]
    # When / Then
    assert rate_plans_query(sim, token, f"/{number}").json()["id"] == PRO_RATE_PLAN_ID


def test_expanded_charges_carry_catalog_charge_models_without_tiers(sim: ZuoraSim, token: str) -> None:
    # When the charges are expanded
    body = rate_plans_query(sim, token, f"/{PRO_RATE_PLAN_ID}", **{"expand[]": "productrateplancharges"}).json()
    # Then each charge has the SDK model's fields, the catalog's charge model names, and no tiers
    seats, fee = charge_named(body, SEATS_CHARGE_ID), charge_named(body, PLATFORM_FEE_CHARGE_ID)
    assert all(set(charge) <= SDK_PRODUCT_RATE_PLAN_CHARGE for charge in body["productRatePlanCharges"])
    assert (seats["chargeModel"], seats["chargeType"], seats["uOM"], seats["defaultQuantity"]) == (
        "Per Unit Pricing",
        "Recurring",
        "Seat",
        1.0,
    )
    assert (fee["chargeModel"], fee["chargeType"]) == ("Flat Fee Pricing", "Recurring")
    assert "productRatePlanChargeTiers" not in seats


def test_expanded_tiers_price_each_charge_per_currency(sim: ZuoraSim, token: str) -> None:
    # When charges and their tiers are expanded
    body = pro_with_tiers(sim, token)
    # Then every currency has its price, in tiers with the SDK model's fields
    seats = charge_named(body, SEATS_CHARGE_ID)
    assert {t["currency"]: t["price"] for t in seats["productRatePlanChargeTiers"]} == {
        "USD": 10.0,
        "EUR": 9.0,
        "GBP": 8.0,
    }
    tiers = [t for c in body["productRatePlanCharges"] for t in c["productRatePlanChargeTiers"]]
    assert all(set(t) <= SDK_PRODUCT_RATE_PLAN_CHARGE_TIER and t["active"] is True for t in tiers)


def test_comma_joined_expand_of_zuoras_guide_is_accepted(sim: ZuoraSim, token: str) -> None:
    # When both expansions come in one comma-joined item, as Zuora's tutorial sends them
    expand = "productrateplancharges,productrateplancharges.productrateplanchargetiers"
    body = rate_plans_query(sim, token, f"/{PRO_RATE_PLAN_ID}", **{"expand[]": expand}).json()
    # Then the tiers are there
    assert "productRatePlanChargeTiers" in charge_named(body, SEATS_CHARGE_ID)
    assert body == pro_with_tiers(sim, token)


def test_tiered_charge_tiers_carry_units_and_price_format(sim: ZuoraSim, token: str) -> None:
    # When the tiered plan is retrieved with its tiers
    expand = ["productRatePlanCharges", "productRatePlanCharges.productRatePlanChargeTiers"]  # any case
    body = rate_plans_query(sim, token, f"/{TIERED_RATE_PLAN_ID}", **{"expand[]": expand}).json()
    # Then the USD tiers have their units, the last one open-ended, and the documented price format spelling
    (charge,) = body["productRatePlanCharges"]
    usd = [t for t in charge["productRatePlanChargeTiers"] if t["currency"] == "USD"]
    assert charge["chargeModel"] == "Tiered Pricing"
    assert [(t["tier"], t["startingUnit"], t.get("endingUnit"), t["price"], t["priceFormat"]) for t in usd] == [
        (1, 1.0, 10.0, 10.0, "Per Unit"),
        (2, 11.0, None, 8.0, "Per Unit"),
    ]


def test_null_fields_are_left_out_unless_asked_for(sim: ZuoraSim, token: str) -> None:
    # When the support plan's charge (no unit of measure) is retrieved with and without includeNullFields
    expand = {"expand[]": "productrateplancharges"}
    (bare,) = rate_plans_query(sim, token, f"/{SUPPORT_RATE_PLAN_ID}", **expand).json()["productRatePlanCharges"]
    params = {**expand, "includeNullFields": "true"}
    (full,) = rate_plans_query(sim, token, f"/{SUPPORT_RATE_PLAN_ID}", **params).json()["productRatePlanCharges"]
    # Then
    assert "uOM" not in bare
    assert full["uOM"] is None


def test_unknown_rate_plan_key_is_404_not_found(sim: ZuoraSim, token: str) -> None:
    # When
    response = rate_plans_query(sim, token, "/8ad0bbbbbbbbbbbbbbbbbbbbbbbbbbbb")
    # Then
    assert response.status_code == 404
    assert [code % 100 for code in reason_codes(response)] == [40]


def test_unknown_expansion_is_a_400(sim: ZuoraSim, token: str) -> None:
    # When / Then
    assert rate_plans_query(sim, token, f"/{PRO_RATE_PLAN_ID}", **{"expand[]": "subscriptions"}).status_code == 400


def test_rate_plan_list_filters_on_the_product_id_in_any_case(sim: ZuoraSim, token: str) -> None:
    # When the rate plans of Premium Support are listed, the field name spelled in capitals
    product_id = sim.catalog.rate_plans[SUPPORT_RATE_PLAN_ID].product_id
    body = rate_plans_query(sim, token, **{"filter[]": f"PRODUCTID.EQ:{product_id}"}).json()
    # Then
    assert [row["id"] for row in body["data"]] == [SUPPORT_RATE_PLAN_ID]


def test_rate_plan_list_filters_on_ids(sim: ZuoraSim, token: str) -> None:
    # When
    body = rate_plans_query(sim, token, **{"filter[]": f"id.IN:[{PRO_RATE_PLAN_ID},{SUPPORT_RATE_PLAN_ID}]"}).json()
    # Then
    assert {row["id"] for row in body["data"]} == {PRO_RATE_PLAN_ID, SUPPORT_RATE_PLAN_ID}


def test_rate_plan_list_pages_with_a_cursor(sim: ZuoraSim, token: str) -> None:
    # When the catalog is read two plans at a time
    seen, params = [], {"pageSize": 2}
    while True:
        body = rate_plans_query(sim, token, **params).json()
        seen += [row["id"] for row in body["data"]]
        if "nextPage" not in body:
            break
        params = {"pageSize": 2, "cursor": body["nextPage"]}
    # Then every plan comes once
    assert sorted(seen) == sorted(sim.catalog.rate_plans)


def test_rate_plan_list_expands_like_the_single_read(sim: ZuoraSim, token: str) -> None:
    # When the list is read with charges expanded
    params = {"filter[]": f"id.EQ:{PRO_RATE_PLAN_ID}", "expand[]": "productrateplancharges"}
    (row,) = rate_plans_query(sim, token, **params).json()["data"]
    # Then
    assert [c["id"] for c in row["productRatePlanCharges"]] == [SEATS_CHARGE_ID, PLATFORM_FEE_CHARGE_ID]


def test_expanded_product_has_its_sku(sim: ZuoraSim, token: str) -> None:
    # When
    body = rate_plans_query(sim, token, f"/{PRO_RATE_PLAN_ID}", **{"expand[]": "product"}).json()
    # Then
    assert (body["product"]["name"], body["product"]["sKU"]) == ("Analytics Platform", "SKU-ANALYTICS")
    assert set(body["product"]) <= SDK_PRODUCT


def test_externally_managed_plan_id_is_an_expansion_not_a_filter(sim: ZuoraSim, token: str) -> None:
    # Given a rate plan carrying a Salesforce Product2 Id as externally managed plan id
    plan = sim.seed_rate_plan(
        "CPQ products",
        name="Widget",
        externally_managed_plan_id="01t000000000001AAA",
        charges=[{"name": "Widget", "chargeModel": "FlatFee", "chargeType": "OneTime", "prices": {"USD": 5}}],
    )
    # When it is read with the external plans expanded, and the list is filtered on the id
    body = rate_plans_query(sim, token, f"/{plan}", **{"expand[]": "externalproductrateplans"}).json()
    filtered = rate_plans_query(sim, token, **{"filter[]": "externallyManagedPlanId.EQ:01t000000000001AAA"})
    # Then the id is in the related ExternalProductRatePlan, and Object Query has no such filter
    (external,) = body["externalProductRatePlans"]
    assert (external["externalProductRatePlanId"], external["ratePlanId"]) == ("01t000000000001AAA", plan)
    assert set(external) <= SDK_EXTERNAL_PRODUCT_RATE_PLAN
    assert filtered.status_code == 400
    assert "externalproductrateplans" in filtered.json()["reasons"][0]["message"]


def test_v1_lists_rate_plans_by_external_id(sim: ZuoraSim, token: str) -> None:
    # Given a rate plan with an externally managed plan id
    plan = sim.seed_rate_plan(
        "CPQ products",
        name="Widget",
        externally_managed_plan_id="01t000000000001AAA",
        charges=[{"name": "Widget", "chargeModel": "FlatFee", "chargeType": "OneTime", "prices": {"USD": 5}}],
    )
    # When it is looked up by that id, and by one nobody carries
    found = call(sim, token, "GET", "/v1/product-rate-plans/external-id/01t000000000001AAA").json()
    none = call(sim, token, "GET", "/v1/product-rate-plans/external-id/01t000000000009AAA").json()
    # Then
    (item,) = found["productRatePlans"]
    assert (item["id"], item["externallyManagedPlanIds"]) == (plan, ["01t000000000001AAA"])
    assert set(item) <= SDK_RATE_PLAN_WITH_EXTERNAL_ID
    assert none == {"success": True, "productRatePlans": []}


def test_seeded_product_is_served_and_orderable(sim: ZuoraSim, token: str) -> None:
    # Given a seeded product with a volume-priced plan (USD tiers: 1-10 at 2, 11+ at 1)
    plan_id, charge_id = "8ad0aaaaaaaaaaaaaaaaaaaaaaaaaaaa", "8ad0aaaaaaaaaaaaaaaaaaaaaaaaaaab"
    tiers: list[TierSpec] = [{"startingUnit": 1, "endingUnit": 10, "price": 2}, {"startingUnit": 11, "price": 1}]
    charge: ChargeSpec = {
        "id": charge_id,
        "name": "Widgets",
        "chargeModel": "Volume",
        "chargeType": "Recurring",
        "uom": "Each",
        "tiers": {"USD": tiers},
    }
    product = sim.seed_product("Widgets", "SKU-W", [{"id": plan_id, "name": "Bulk", "charges": [charge]}])
    # When it is read and 20 widgets are ordered
    read = rate_plans_query(sim, token, f"/{plan_id}", **{"expand[]": "productrateplancharges"}).json()
    plans = [subscribe_to(plan_id, quantity_of(charge_id, 20, "recurringVolume"))]
    account = post_order(sim, token, order_body(rate_plans=plans)).json()["accountNumber"]
    # Then
    assert (read["productId"], read["productRatePlanCharges"][0]["chargeModel"]) == (product, "Volume Pricing")
    assert sim.invoices_of(account)[0]["amount"] == 20.0


def test_seeding_refuses_a_per_unit_charge_without_prices(sim: ZuoraSim) -> None:
    # When / Then
    with pytest.raises(ValueError, match="prices"):
        sim.seed_rate_plan(
            "Widgets", name="Broken", charges=[{"name": "Each", "chargeModel": "PerUnit", "chargeType": "Recurring"}]
        )
