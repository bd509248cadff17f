"""The Zuora simulator over real HTTP: OAuth, orders, idempotency, accounts, payment methods, catalog, Object Query."""

from __future__ import annotations

import copy
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox import zuora_openapi
from sandbox.core import Fault
from sandbox.zuora import IDEMPOTENCY_TTL, ZuoraSim, uses_subscriptions_field, zuora_failure
from sandbox.zuora_catalog import (
    CHECKOUT_PAYMENT_METHOD_ID,
    ONBOARDING_CHARGE_ID,
    ONBOARDING_RATE_PLAN_ID,
    PLATFORM_FEE_CHARGE_ID,
    PRO_RATE_PLAN_ID,
    SANDBOX_TENANT,
    SEATS_CHARGE_ID,
    SPARE_PAYMENT_METHODS,
    STORAGE_CHARGE_ID,
    STORAGE_RATE_PLAN_ID,
    SUPPORT_FEE_CHARGE_ID,
    SUPPORT_RATE_PLAN_ID,
    TIERED_RATE_PLAN_ID,
    TIERED_SEATS_CHARGE_ID,
    US_RESIDENCY_RATE_PLAN_ID,
    ChargeSpec,
    TierSpec,
)

REPO = Path(__file__).resolve().parents[3]
CLIENT_ID, CLIENT_SECRET = "7a3e7d7c-1b9a-4a8e-9b1c-0f1e2d3c4b5a", "sandbox-secret"
CRM_ID = "001000000000001AAA"
TIMEOUT = 5


@pytest.fixture(scope="session", autouse=True)
def zuora_document() -> Path:
    path = zuora_openapi.document_path()
    if not path.is_file():
        subprocess.run([str(REPO / "scripts" / "fetch-zuora-openapi")], check=True, timeout=300)
    return path


@pytest.fixture(scope="module")
def server() -> Iterator[ZuoraSim]:
    running = ZuoraSim(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def sim(server: ZuoraSim) -> ZuoraSim:
    server.reset()
    server.processing_delay, server.idempotency_ttl = 0.0, IDEMPOTENCY_TTL
    return server


@pytest.fixture
def token(sim: ZuoraSim) -> str:
    return issue_token(sim)


def issue_token(sim: ZuoraSim, secret: str = CLIENT_SECRET) -> str:
    response = request_token(sim, secret)
    response.raise_for_status()
    return str(response.json()["access_token"])


def request_token(sim: ZuoraSim, secret: str = CLIENT_SECRET) -> requests.Response:
    form = {"client_id": CLIENT_ID, "client_secret": secret, "grant_type": "client_credentials"}
    return requests.post(f"{sim.url}/oauth/token", data=form, timeout=TIMEOUT)


def call(sim: ZuoraSim, token: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return requests.request(method, f"{sim.url}{path}", headers=headers, timeout=TIMEOUT, **kwargs)


def post_order(sim: ZuoraSim, token: str, body: dict[str, Any], **headers: str) -> requests.Response:
    return call(sim, token, "POST", "/v1/orders", json=body, headers=headers)


def subscribe_to(rate_plan_id: str, *overrides: dict[str, Any]) -> dict[str, Any]:
    """A subscribeToRatePlans item."""
    plan: dict[str, Any] = {"productRatePlanId": rate_plan_id}
    if overrides:
        plan["chargeOverrides"] = list(overrides)
    return plan


def quantity_of(charge_id: str, quantity: float, pricing: str = "recurringPerUnit") -> dict[str, Any]:
    """A chargeOverrides item setting a charge's quantity through the pricing override `pricing`."""
    return {"productRatePlanChargeId": charge_id, "pricing": {pricing: {"quantity": quantity}}}


def order_body(
    *,
    existing: str | None = None,
    evergreen: bool = False,
    subscriptions: int = 1,
    rate_plans: list[dict[str, Any]] | None = None,
    currency: str = "USD",
    payment_method: str | None = CHECKOUT_PAYMENT_METHOD_ID,
    auto_pay: bool = True,
    processing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Create Order body; by default a new USD account paying with the sample checkout card, 3 seats of Pro."""
    terms: dict[str, Any] = {
        "initialTerm": {"termType": "TERMED", "period": 12, "periodType": "Month", "startDate": "2026-11-23"},
        "renewalSetting": "RENEW_WITH_SPECIFIC_TERM",
        "renewalTerms": [{"period": 12, "periodType": "Month"}],
        "autoRenew": True,
    }
    action = {
        "type": "CreateSubscription",
        "triggerDates": [
            {"name": name, "triggerDate": "2026-11-23"}
            for name in ("ContractEffective", "ServiceActivation", "CustomerAcceptance")
        ],
        "createSubscription": {
            "subscribeToRatePlans": rate_plans or [subscribe_to(PRO_RATE_PLAN_ID, quantity_of(SEATS_CHARGE_ID, 3))],
            "terms": {"initialTerm": {"termType": "EVERGREEN"}} if evergreen else terms,
        },
    }
    body: dict[str, Any] = {
        "orderDate": "2026-11-23",
        "subscriptions": [{"orderActions": [copy.deepcopy(action)]} for _ in range(subscriptions)],
        "processingOptions": processing if processing is not None else {"runBilling": True, "collectPayment": True},
    }
    if existing:
        body["existingAccountNumber"] = existing
    else:
        body["newAccount"] = {
            "name": "Acme Inc",
            "currency": currency,
            "billCycleDay": 0,
            "autoPay": auto_pay,
            "crmId": CRM_ID,
            "billToContact": {
                "firstName": "Jane",
                "lastName": "Doe",
                "workEmail": "jane@acme.com",
                "address1": "1 Main St",
                "city": "San Francisco",
                "state": "CA",
                "postalCode": "94105",
                "country": "US",
            },
        }
        if payment_method:
            body["newAccount"]["hpmCreditCardPaymentMethodId"] = payment_method
    return body


def account_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Globex",
        "currency": "EUR",
        "billCycleDay": 1,
        "crmId": "001000000000002AAA",
        "billToContact": {"firstName": "Hank", "lastName": "Scorpio", "zipCode": "12345", "country": "DE"},
    }
    return {**body, **overrides}


def reason_codes(response: requests.Response) -> list[int]:
    return [reason["code"] for reason in response.json()["reasons"]]


def refusal(response: requests.Response) -> tuple[int, str]:
    """The HTTP 200 success:false answer's only reason, as (category, message)."""
    body = response.json()
    assert response.status_code == 200 and body["success"] is False, body
    (reason,) = body["reasons"]
    assert len(str(reason["code"])) == 8
    return reason["code"] % 100, reason["message"]


def rate_plans_query(sim: ZuoraSim, token: str, suffix: str = "", /, **params: Any) -> requests.Response:
    """GET /object-query/product-rate-plans[suffix] with `params` (lists repeat the parameter)."""
    return call(sim, token, "GET", f"/object-query/product-rate-plans{suffix}", params=params)


def pro_with_tiers(sim: ZuoraSim, token: str) -> dict[str, Any]:
    expand = ["productrateplancharges", "productrateplancharges.productrateplanchargetiers"]
    return dict(rate_plans_query(sim, token, f"/{PRO_RATE_PLAN_ID}", **{"expand[]": expand}).json())


def charge_named(plan: dict[str, Any], charge_id: str) -> dict[str, Any]:
    return next(c for c in plan["productRatePlanCharges"] if c["id"] == charge_id)


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Field names of the Object Query models of Zuora's Python SDK (zuora_sdk, Zuora-Version 2025-08-12,
# models/expanded_*.py `__properties`).
SDK_PRODUCT_RATE_PLAN = _names(
    "productId name description effectiveStartDate effectiveEndDate grade productRatePlanNumber id createdById "
    "createdDate updatedById updatedDate state version versionOrdinal product productRatePlanCharges "
    "externalProductRatePlans"
)
SDK_PRODUCT_RATE_PLAN_CHARGE = _names(
    "accountingCode applyDiscountTo billCycleDay billCycleType billingPeriod billingPeriodAlignment billingTiming "
    "chargeFunction chargeModel chargeType creditOption defaultQuantity deferredRevenueAccount description "
    "discountClassId discountLevel drawdownRate endDateCondition excludeItemBookingFromRevenueAccounting "
    "excludeItemBillingFromRevenueAccounting includedUnits isPrepaid isRollover isStackedDiscount "
    "legacyRevenueReporting listPriceBase specificListPriceBase maxQuantity minQuantity name numberOfPeriod "
    "overageCalculationOption overageUnusedUnitsCreditOption prepaidOperationType prepaidQuantity "
    "prepaidTotalQuantity priceChangeOption priceIncreasePercentage productRatePlanChargeNumber prorationOption "
    "ratingGroup recognizedRevenueAccount revenueRecognitionRuleName revRecTriggerCondition rolloverApply "
    "rolloverPeriods rolloverPeriodLength smoothingModel specificBillingPeriod taxable taxCode taxMode triggerEvent "
    "upToPeriods upToPeriodsType usageRecordRatingOption useDiscountSpecificAccountingCode "
    "useTenantDefaultForPriceChange validityPeriodType weeklyBillCycleDay priceUpsellQuantityStacked "
    "deliveryScheduleId id createdById createdDate updatedById updatedDate commitmentLevel commitmentType "
    "isCommitted applyToBillingPeriodPartially isUnbilled isAllocationEligible productCategory productClass "
    "productFamily productLine revenueRecognitionTiming revenueAmortizationMethod optional validityPeriodAlignment "
    "validityPeriodProrationOption specificValidityPeriodLength rolloverPeriodType rolloverFundPriority "
    "rolloverEndDateType fundSupportAccountHierarchy drawdownPriority drawdownScope prepaymentUnitType "
    "adjustmentLiabilityAccountingCodeId accountReceivableAccountingCodeId adjustmentRevenueAccountingCodeId "
    "contractAssetAccountingCodeId contractLiabilityAccountingCodeId contractRecognizedRevenueAccountingCodeId "
    "deferredRevenueAccountingCodeId recognizedRevenueAccountingCodeId unbilledReceivablesAccountingCodeId "
    "drawdownUom prepaidUom revRecCode productRatePlanId uOM productRatePlan productRatePlanChargeTiers"
)
SDK_PRODUCT_RATE_PLAN_CHARGE_TIER = _names(
    "id createdById createdDate updatedById updatedDate active currency discountAmount discountPercentage "
    "endingUnit includedUnits overagePrice price priceFormat startingUnit tier isDefault productRatePlanChargeId "
    "productChargeDefinitionId productRatePlanCharge"
)
SDK_PRODUCT = _names(
    "allowFeatureChanges description name effectiveEndDate effectiveStartDate sKU id productNumber createdById "
    "createdDate updatedById updatedDate state version versionOrdinal productType bundleConfig category "
    "productRatePlans"
)
SDK_EXTERNAL_PRODUCT_RATE_PLAN = _names(
    "externalProductRatePlanId externalIdSourceSystem ratePlanId id createdById createdDate updatedById updatedDate"
)
SDK_ACCOUNT = _names(
    "id createdById createdDate updatedById updatedDate accountNumber additionalEmailAddresses allowInvoiceEdit "
    "autoPay balance batch bcdSettingOption billCycleDay billToId communicationProfileId creditBalance crmId "
    "currency customerServiceRepName defaultPaymentMethodId eInvoiceProfileId eReportingProfileId "
    "gatewayRoutingEligible invoiceDeliveryPrefsEmail invoiceDeliveryPrefsPrint invoiceTemplateId lastInvoiceDate "
    "lastMetricsUpdate name notes organizationId parentId partnerAccount paymentMethodCascadingConsent "
    "purchaseOrderNumber salesRepName sequenceSetId shipToId soldToId status taxCompanyCode taxExemptCertificateID "
    "taxExemptCertificateType taxExemptDescription taxExemptEffectiveDate taxExemptEntityUseCode "
    "taxExemptExpirationDate taxExemptIssuingJurisdiction taxExemptStatus totalInvoiceBalance unappliedBalance vATId "
    "rollUpUsage creditMemoTemplateId debitMemoTemplateId mrr totalDebitMemoBalance unappliedCreditMemoAmount "
    "reservedPaymentAmount paymentGateway paymentTerm billTo soldTo shipTo defaultPaymentMethod subscriptions "
    "payments refunds creditMemos debitMemos invoices usages paymentMethods"
)
# "Retrieve a payment method": the SDK's PaymentMethodResponse, plus accountKey and success of the published example.
SDK_PAYMENT_METHOD = _names(
    "accountHolderInfo cardNumber createdDate creditCardMaskNumber creditCardType expirationMonth expirationYear id "
    "isDefault lastTransaction status totalNumberOfErrorPayments totalNumberOfProcessedPayments type updatedDate "
    "mandateInfo numConsecutiveFailures accountKey success"
)
# The v1 "List product rate plans by external ID" item (ProductRatePlanWithExternalId).
SDK_RATE_PLAN_WITH_EXTERNAL_ID = _names(
    "ExternalIdSourceSystem description effectiveEndDate effectiveStartDate externallyManagedPlanIds grade id name "
    "productRatePlanNumber status success"
)


# --- OAuth ----------------------------------------------------------------------------------------


def test_client_credentials_get_a_bearer_token(sim: ZuoraSim) -> None:
    # When the client asks for a token with its credentials
    response = request_token(sim)
    # Then Zuora's token shape comes back
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "jti"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 3599)


def test_wrong_client_secret_is_refused_with_401(sim: ZuoraSim) -> None:
    # When / Then
    response = request_token(sim, secret="wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_v1_call_without_token_is_401_authentication_error(sim: ZuoraSim) -> None:
    # When
    response = requests.post(f"{sim.url}/v1/orders", json=order_body(), timeout=TIMEOUT)
    # Then
    assert response.status_code == 401
    assert response.json() == {"message": "Authentication error"}


def test_object_query_with_unknown_token_is_401(sim: ZuoraSim) -> None:
    # When / Then
    assert call(sim, "not-a-token", "GET", "/object-query/accounts").status_code == 401


def test_expired_tokens_are_refused(sim: ZuoraSim, token: str) -> None:
    # Given a token that worked
    assert call(sim, token, "GET", "/object-query/accounts").status_code == 200
    # When the simulator expires issued tokens
    sim.expire_tokens()
    # Then the same token is refused and a new one works
    assert call(sim, token, "GET", "/object-query/accounts").status_code == 401
    assert call(sim, issue_token(sim), "GET", "/object-query/accounts").status_code == 200


def test_token_stops_working_after_its_ttl() -> None:
    # Given a simulator issuing tokens that live 0 seconds
    server = ZuoraSim(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, token_ttl=0)
    server.start()
    try:
        token = issue_token(server)
        # When / Then
        assert call(server, token, "GET", "/object-query/accounts").status_code == 401
    finally:
        server.stop()


# --- headers --------------------------------------------------------------------------------------


def test_every_response_carries_a_request_id_and_echoes_the_track_id(sim: ZuoraSim, token: str) -> None:
    # Given a success, an auth failure and an injected fault
    sim.add_fault(Fault(path="^/v1/accounts$", status=503, body={"message": "down"}))
    responses = [
        call(sim, token, "GET", "/object-query/accounts", headers={"Zuora-Track-Id": "trk-1"}),
        call(sim, "bad", "GET", "/object-query/accounts", headers={"Zuora-Track-Id": "trk-2"}),
        call(sim, token, "POST", "/v1/accounts", json=account_body(), headers={"Zuora-Track-Id": "trk-3"}),
    ]
    # Then each has its own uuid request id and the caller's track id
    request_ids = [r.headers["Zuora-Request-Id"] for r in responses]
    assert len(set(request_ids)) == 3 and all(len(rid) == 36 for rid in request_ids)
    assert [r.headers["Zuora-Track-Id"] for r in responses] == ["trk-1", "trk-2", "trk-3"]


def test_track_id_and_version_are_logged_per_call(sim: ZuoraSim, token: str) -> None:
    # When an order is sent with tracing and version headers
    post_order(sim, token, order_body(), **{"Zuora-Track-Id": "apigw-123", "Zuora-Version": "2025-08-12"})
    # Then the call log has them
    assert sim.header_values("Zuora-Track-Id", "^/v1/orders$") == ["apigw-123"]
    assert sim.header_values("zuora-version", "^/v1/orders$") == ["2025-08-12"]


# --- Create Order ---------------------------------------------------------------------------------


def test_order_with_new_account_creates_account_subscription_and_order(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body())
    # Then
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "orderNumber": "O-00000001",
        "accountNumber": "A00000001",
        "invoiceNumbers": ["INV00000001"],
        "paymentNumber": "P-00000001",
        "status": "Completed",
        "subscriptionNumbers": ["A-S00000001"],
    }
    account = sim.accounts["A00000001"]
    assert (account["crmId"], account["currency"], account["status"]) == (CRM_ID, "USD", "Active")
    assert len(account["id"]) == 32 and account["billToContact"]["workEmail"] == "jane@acme.com"
    subscription = sim.subscriptions["A-S00000001"]
    assert subscription["accountNumber"] == "A00000001"
    assert subscription["ratePlans"][0]["productRatePlanId"] == PRO_RATE_PLAN_ID
    assert subscription["terms"]["initialTerm"]["period"] == 12
    assert sim.orders["O-00000001"]["subscriptionNumbers"] == ["A-S00000001"]


def test_order_against_existing_account_adds_a_subscription_only(sim: ZuoraSim, token: str) -> None:
    # Given a seeded account
    number = sim.seed_account("Umbrella", "USD", CRM_ID)
    # When
    response = post_order(sim, token, order_body(existing=number, evergreen=True))
    # Then
    assert response.json()["accountNumber"] == number
    assert list(sim.accounts) == [number]
    assert sim.subscriptions["A-S00000001"]["terms"] == {"initialTerm": {"termType": "EVERGREEN"}}


def test_order_against_unknown_account_is_a_category_40_failure(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body(existing="A09999999"))
    # Then
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False and len(body["processId"]) == 16
    assert body["reasons"][0]["code"] % 100 == 40 and len(str(body["reasons"][0]["code"])) == 8
    assert body["reasons"][0]["message"].startswith("Cannot find entity")
    assert sim.orders == {} and sim.subscriptions == {}


def test_each_subscription_of_an_order_gets_its_own_number(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body(subscriptions=2))
    # Then
    assert response.json()["subscriptionNumbers"] == ["A-S00000001", "A-S00000002"]


@pytest.mark.parametrize(
    ("version", "expected"),
    [(None, False), ("222.4", False), ("223.0", True), ("341.0", True), ("2025-08-12", True)],
)
def test_response_field_depends_on_zuora_version(version: str | None, expected: bool) -> None:
    # When / Then
    assert uses_subscriptions_field(version) is expected


def test_new_versions_answer_subscriptions_with_status(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body(), **{"Zuora-Version": "2025-08-12"})
    # Then
    body = response.json()
    assert "subscriptionNumbers" not in body
    assert body["subscriptions"] == [{"subscriptionNumber": "A-S00000001", "status": "Active"}]


def test_rejected_order_leaves_nothing_behind(sim: ZuoraSim, token: str) -> None:
    # Given two subscriptions asking for the same subscription number
    body = order_body(subscriptions=2)
    for item in body["subscriptions"]:
        item["orderActions"][0]["createSubscription"]["subscriptionNumber"] = "A-S-DUP"
    # When
    response = post_order(sim, token, body)
    # Then the new account is rolled back with the order, and its card is an orphan again
    assert response.json()["success"] is False
    assert sim.accounts == {} and sim.subscriptions == {} and sim.orders == {}
    assert sim.invoices == {} and sim.payments == {}
    assert sim.payment_methods[CHECKOUT_PAYMENT_METHOD_ID]["accountId"] is None


# --- schema validation ------------------------------------------------------------------------------


def test_schema_violation_is_recorded_and_refused_like_zuora(sim: ZuoraSim, token: str) -> None:
    # Given an order with a string bill cycle day
    body = order_body()
    body["newAccount"]["billCycleDay"] = "1"
    # When
    response = post_order(sim, token, body)
    # Then
    assert response.status_code == 200
    assert response.json()["success"] is False
    assert [code % 100 for code in reason_codes(response)] == [20]
    assert sim.schema_violations == [
        ("POST /v1/orders", ['$.newAccount.billCycleDay: expected integer, got string "1"'])
    ]
    assert sim.accounts == {}


def test_unknown_field_is_a_category_21_refusal(sim: ZuoraSim, token: str) -> None:
    # Given the Create Account spelling of the postal code inside Create Order
    body = order_body()
    body["newAccount"]["billToContact"]["zipCode"] = body["newAccount"]["billToContact"].pop("postalCode")
    # When
    response = post_order(sim, token, body)
    # Then
    assert [code % 100 for code in reason_codes(response)] == [21]
    assert "zipCode" in sim.schema_violations[0][1][0]


def test_malformed_json_is_a_category_90_refusal(sim: ZuoraSim, token: str) -> None:
    # When
    response = call(sim, token, "POST", "/v1/orders", data=b"{not json", headers={"Content-Type": "application/json"})
    # Then
    assert [code % 100 for code in reason_codes(response)] == [90]


def test_zuora_failure_builds_an_eight_digit_code() -> None:
    # When
    body = zuora_failure(50, "lock contention", object_code="531003")
    # Then
    assert body["success"] is False
    assert body["reasons"] == [{"code": 53100350, "message": "lock contention"}]


# --- idempotency ------------------------------------------------------------------------------------


def test_same_key_and_body_replays_the_stored_response(sim: ZuoraSim, token: str) -> None:
    # Given a processed order
    first = post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When it is sent again with the same key
    second = post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # Then the stored status, body and headers come back and nothing new is created
    assert (second.status_code, second.content) == (first.status_code, first.content)
    assert second.headers["Zuora-Request-Id"] == first.headers["Zuora-Request-Id"]
    assert len(sim.orders) == 1 and len(sim.subscriptions) == 1


def test_same_key_with_another_body_is_422(sim: ZuoraSim, token: str) -> None:
    # Given a processed order
    post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When the key is reused for another body
    response = post_order(sim, token, order_body(evergreen=True), **{"Idempotency-Key": "k1"})
    # Then
    assert response.status_code == 422
    assert len(sim.orders) == 1


def test_same_key_on_another_path_is_independent(sim: ZuoraSim, token: str) -> None:
    # Given an order processed under a key
    post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When the key is used to create an account
    response = call(sim, token, "POST", "/v1/accounts", json=account_body(), headers={"Idempotency-Key": "k1"})
    # Then it is processed
    assert response.json()["success"] is True
    assert len(sim.accounts) == 2


def test_key_still_in_flight_is_409(sim: ZuoraSim, token: str) -> None:
    # Given an order that takes a while to process
    sim.processing_delay = 0.5
    results: list[requests.Response] = []
    worker = threading.Thread(
        target=lambda: results.append(post_order(sim, token, order_body(), **{"Idempotency-Key": "slow"}))
    )
    worker.start()
    time.sleep(0.2)
    # When the same request arrives meanwhile
    concurrent = post_order(sim, token, order_body(), **{"Idempotency-Key": "slow"})
    worker.join()
    # Then it is refused with 409 and the first completes
    assert concurrent.status_code == 409
    assert results[0].json()["success"] is True
    assert len(sim.subscriptions) == 1


def test_refusal_is_stored_and_replayed(sim: ZuoraSim, token: str) -> None:
    # Given an order refused for an unknown account
    first = post_order(sim, token, order_body(existing="A09999999"), **{"Idempotency-Key": "k1"})
    sim.seed_account("Late", "USD", CRM_ID, account_number="A09999999")
    # When it is retried with the same key after the account exists
    second = post_order(sim, token, order_body(existing="A09999999"), **{"Idempotency-Key": "k1"})
    # Then the stored refusal is replayed
    assert second.content == first.content and second.json()["success"] is False
    assert sim.orders == {}


def test_front_door_fault_is_not_stored(sim: ZuoraSim, token: str) -> None:
    # Given a 503 injected in front of the first order
    sim.add_fault(Fault(path="^/v1/orders$", status=503, body={"message": "Service Unavailable"}))
    assert post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"}).status_code == 503
    # When the client retries with the same key
    response = post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # Then the order is processed
    assert response.json()["success"] is True
    assert len(sim.orders) == 1


def test_reset_after_commit_is_stored_and_replayed(sim: ZuoraSim, token: str) -> None:
    # Given an order processed but whose answer is lost to a connection reset
    sim.add_fault(Fault(path="^/v1/orders$", action="reset_after_commit"))
    with pytest.raises(requests.ConnectionError):
        post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When the client retries with the same key
    response = post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # Then it gets the stored answer and there is one subscription
    assert response.json()["subscriptionNumbers"] == ["A-S00000001"]
    assert len(sim.subscriptions) == 1


def test_stored_response_expires(sim: ZuoraSim, token: str) -> None:
    # Given keys that live no time at all
    sim.idempotency_ttl = 0
    post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When the key is reused (for another customer, with a card of its own)
    post_order(sim, token, order_body(payment_method=sim.new_orphan_payment_method()), **{"Idempotency-Key": "k1"})
    # Then the order is processed again
    assert len(sim.orders) == 2


# --- accounts --------------------------------------------------------------------------------------


def test_create_account_answers_ids_and_number(sim: ZuoraSim, token: str) -> None:
    # When
    response = call(sim, token, "POST", "/v1/accounts", json=account_body())
    # Then
    body = response.json()
    assert body["success"] is True and body["accountNumber"] == "A00000001"
    assert body["accountId"] == sim.accounts["A00000001"]["id"]
    assert {"billToContactId", "soldToContactId"} <= set(body)
    assert sim.accounts["A00000001"]["crmId"] == "001000000000002AAA"


def test_create_account_body_is_validated(sim: ZuoraSim, token: str) -> None:
    # When
    response = call(sim, token, "POST", "/v1/accounts", json=account_body(billCycleDay="first"))
    # Then
    assert response.json()["success"] is False
    assert sim.schema_violations[0][0] == "POST /v1/accounts"


@pytest.mark.parametrize("key_field", ["accountNumber", "id"])
def test_update_account_by_number_or_id(sim: ZuoraSim, token: str, key_field: str) -> None:
    # Given an account
    number = sim.seed_account("Initech", "USD", CRM_ID)
    key = sim.accounts[number][key_field]
    # When it is updated through its key
    response = call(sim, token, "PUT", f"/v1/accounts/{key}", json={"name": "Initech Corp", "crmId": "001B"})
    # Then
    assert response.json() == {"success": True}
    assert (sim.accounts[number]["name"], sim.accounts[number]["crmId"]) == ("Initech Corp", "001B")


def test_update_account_refuses_a_currency_change(sim: ZuoraSim, token: str) -> None:
    # Given an account
    number = sim.seed_account("Initech", "USD", CRM_ID)
    # When
    response = call(sim, token, "PUT", f"/v1/accounts/{number}", json={"currency": "EUR"})
    # Then
    assert response.json()["success"] is False
    assert sim.accounts[number]["currency"] == "USD"
    assert sim.schema_violations[0][0] == "PUT /v1/accounts/{account-key}"


def test_get_account_returns_basic_info_with_crm_id(sim: ZuoraSim, token: str) -> None:
    # Given an account created through an order
    post_order(sim, token, order_body())
    # When
    body = call(sim, token, "GET", "/v1/accounts/A00000001").json()
    # Then
    assert body["success"] is True
    assert (body["basicInfo"]["accountNumber"], body["basicInfo"]["crmId"]) == ("A00000001", CRM_ID)
    assert body["billingAndPayment"]["currency"] == "USD"
    assert body["billToContact"]["zipCode"] == "94105"


def test_unknown_account_key_is_a_category_40_failure(sim: ZuoraSim, token: str) -> None:
    # When
    response = call(sim, token, "GET", "/v1/accounts/A404")
    # Then
    assert [code % 100 for code in reason_codes(response)] == [40]


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


# --- what an order did -------------------------------------------------------------------------------


def test_order_quantity_goes_to_the_per_unit_charge_only(sim: ZuoraSim, token: str) -> None:
    # When 3 seats of Pro are ordered
    response = post_order(sim, token, order_body())
    # Then the per-unit charge holds 3 and the flat fee no quantity
    (number,) = response.json()["subscriptionNumbers"]
    assert sim.quantities_of(number) == {SEATS_CHARGE_ID: 3, PLATFORM_FEE_CHARGE_ID: None}


def test_charge_without_override_gets_the_catalog_default_quantity(sim: ZuoraSim, token: str) -> None:
    # When Storage (defaultQuantity 100) and Pro are ordered without any override
    body = order_body(rate_plans=[subscribe_to(STORAGE_RATE_PLAN_ID), subscribe_to(PRO_RATE_PLAN_ID)])
    (number,) = post_order(sim, token, body).json()["subscriptionNumbers"]
    # Then each quantity charge has its default quantity
    assert sim.quantities_of(number) == {STORAGE_CHARGE_ID: 100, SEATS_CHARGE_ID: 1, PLATFORM_FEE_CHARGE_ID: None}


def test_subscriptions_of_lists_an_accounts_subscriptions(sim: ZuoraSim, token: str) -> None:
    # Given an account with two subscriptions and another account
    account = post_order(sim, token, order_body(subscriptions=2)).json()["accountNumber"]
    sim.seed_account("Other", "USD", CRM_ID)
    # When / Then
    assert [s["subscriptionNumber"] for s in sim.subscriptions_of(account)] == ["A-S00000001", "A-S00000002"]


def test_run_billing_invoices_catalog_prices_times_quantities(sim: ZuoraSim, token: str) -> None:
    # When 3 seats of Pro are ordered in USD with billing
    account = post_order(sim, token, order_body()).json()["accountNumber"]
    # Then the invoice is 3 x 10 (seats) + 100 (platform fee)
    (invoice,) = sim.invoices_of(account)
    assert (invoice["invoiceNumber"], invoice["currency"], invoice["amount"]) == ("INV00000001", "USD", 130.0)
    assert [(i["productRatePlanChargeId"], i["amount"]) for i in invoice["items"]] == [
        (SEATS_CHARGE_ID, 30.0),
        (PLATFORM_FEE_CHARGE_ID, 100.0),
    ]


def test_invoice_is_priced_in_the_accounts_currency(sim: ZuoraSim, token: str) -> None:
    # When the same order is placed for a EUR account
    account = post_order(sim, token, order_body(currency="EUR")).json()["accountNumber"]
    # Then EUR prices apply: 3 x 9 + 90
    (invoice,) = sim.invoices_of(account)
    assert (invoice["currency"], invoice["amount"]) == ("EUR", 117.0)


def test_tiered_charge_prices_each_tier_s_units(sim: ZuoraSim, token: str) -> None:
    # When 12 tiered seats are ordered (tiers: 1-10 at 10, 11+ at 8)
    plans = [subscribe_to(TIERED_RATE_PLAN_ID, quantity_of(TIERED_SEATS_CHARGE_ID, 12, "recurringTiered"))]
    account = post_order(sim, token, order_body(rate_plans=plans)).json()["accountNumber"]
    # Then the invoice is 10 x 10 + 2 x 8
    assert sim.invoices_of(account)[0]["amount"] == 116.0


@pytest.mark.parametrize(("gigabytes", "amount"), [(50, 50.0), (200, 90.0), (2000, 800.0)])
def test_volume_charge_prices_the_whole_quantity_at_its_tier(
    sim: ZuoraSim, token: str, gigabytes: int, amount: float
) -> None:
    # When storage is ordered (USD tiers: 1-100 flat 50, 101-1000 at 0.45, 1001+ at 0.40)
    plans = [subscribe_to(STORAGE_RATE_PLAN_ID, quantity_of(STORAGE_CHARGE_ID, gigabytes, "recurringVolume"))]
    account = post_order(sim, token, order_body(rate_plans=plans)).json()["accountNumber"]
    # Then the tier holding the quantity prices all of it
    assert sim.invoices_of(account)[0]["amount"] == amount


def test_one_time_per_unit_charge_is_invoiced_price_times_quantity(sim: ZuoraSim, token: str) -> None:
    # When two onboarding sessions (one-time, 150 each) are ordered
    plans = [subscribe_to(ONBOARDING_RATE_PLAN_ID, quantity_of(ONBOARDING_CHARGE_ID, 2, "oneTimePerUnit"))]
    account = post_order(sim, token, order_body(rate_plans=plans)).json()["accountNumber"]
    # Then
    assert sim.invoices_of(account)[0]["amount"] == 300.0


def test_order_without_run_billing_records_no_invoice_or_payment(sim: ZuoraSim, token: str) -> None:
    # When an order is placed without billing
    response = post_order(sim, token, order_body(processing={"runBilling": False}))
    # Then it answers no invoice and none is kept
    assert "invoiceNumbers" not in response.json()
    assert sim.invoices == {} and sim.payments == {}


def test_collect_payment_charges_the_new_accounts_card(sim: ZuoraSim, token: str) -> None:
    # When a new customer orders with the hosted-page card and payment collection
    body = post_order(sim, token, order_body()).json()
    # Then the invoice amount is paid with that card
    (payment,) = sim.payments_of(body["accountNumber"])
    assert payment["paymentNumber"] == body["paymentNumber"]
    assert (payment["paymentMethodId"], payment["amount"], payment["currency"]) == (
        CHECKOUT_PAYMENT_METHOD_ID,
        130.0,
        "USD",
    )
    assert sim.invoices_of(body["accountNumber"])[0]["balance"] == 0.0


def test_existing_account_pays_with_its_default_payment_method(sim: ZuoraSim, token: str) -> None:
    # Given an account whose default payment method is a card of its own
    number = sim.seed_account("Umbrella", "USD", CRM_ID, with_payment_method=False)
    card = sim.seed_payment_method(account_number=number)
    # When it orders with payment collection
    post_order(sim, token, order_body(existing=number))
    # Then that card pays
    assert [p["paymentMethodId"] for p in sim.payments_of(number)] == [card]


def test_electronic_payment_option_pays_and_joins_the_account_without_becoming_default(
    sim: ZuoraSim, token: str
) -> None:
    # Given an account with a default card, and an orphan card from the hosted page
    number = sim.seed_account("Umbrella", "USD", CRM_ID)
    default = sim.accounts[number]["defaultPaymentMethodId"]
    spare = SPARE_PAYMENT_METHODS[0]
    # When it orders paying with the orphan card
    processing = {"runBilling": True, "collectPayment": True, "electronicPaymentOptions": {"paymentMethodId": spare}}
    post_order(sim, token, order_body(existing=number, processing=processing))
    # Then the orphan card pays and now belongs to the account, whose default card is unchanged
    assert [p["paymentMethodId"] for p in sim.payments_of(number)] == [spare]
    assert sim.payment_methods[spare]["accountNumber"] == number
    assert sim.accounts[number]["defaultPaymentMethodId"] == default


def test_fresh_orphan_payment_method_lets_a_second_customer_order(sim: ZuoraSim, token: str) -> None:
    # Given a first customer who paid with the sample checkout card
    post_order(sim, token, order_body())
    # When a second customer orders with a card minted for them
    response = post_order(sim, token, order_body(payment_method=sim.new_orphan_payment_method()))
    # Then the order succeeds
    assert response.json()["success"] is True
    assert len(sim.accounts) == 2


# --- Create Order refusals ----------------------------------------------------------------------------


def test_unknown_product_rate_plan_is_a_category_40_refusal(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body(rate_plans=[subscribe_to("8ad0ffffffffffffffffffffffffffff")]))
    # Then
    category, message = refusal(response)
    assert category == 40 and "8ad0ffffffffffffffffffffffffffff" in message
    assert sim.accounts == {} and sim.orders == {}


def test_charge_override_of_another_rate_plans_charge_is_refused(sim: ZuoraSim, token: str) -> None:
    # Given the support fee, a charge of another rate plan, overridden on Pro
    plans = [subscribe_to(PRO_RATE_PLAN_ID, {"productRatePlanChargeId": SUPPORT_FEE_CHARGE_ID})]
    # When
    response = post_order(sim, token, order_body(rate_plans=plans))
    # Then
    category, message = refusal(response)
    assert category == 20 and SUPPORT_FEE_CHARGE_ID in message and PRO_RATE_PLAN_ID in message


def test_per_unit_quantity_on_a_flat_fee_charge_is_refused(sim: ZuoraSim, token: str) -> None:
    # When a quantity is set on Pro's platform fee, a flat fee
    plans = [subscribe_to(PRO_RATE_PLAN_ID, quantity_of(PLATFORM_FEE_CHARGE_ID, 3))]
    response = post_order(sim, token, order_body(rate_plans=plans))
    # Then
    category, message = refusal(response)
    assert category == 20 and "recurringPerUnit" in message and PLATFORM_FEE_CHARGE_ID in message


def test_recurring_pricing_on_a_one_time_charge_is_refused(sim: ZuoraSim, token: str) -> None:
    # When the one-time onboarding charge is given a recurring per-unit override
    plans = [subscribe_to(ONBOARDING_RATE_PLAN_ID, quantity_of(ONBOARDING_CHARGE_ID, 2, "recurringPerUnit"))]
    response = post_order(sim, token, order_body(rate_plans=plans))
    # Then
    category, message = refusal(response)
    assert category == 20 and "OneTime" in message


def test_rate_plan_without_price_in_the_new_accounts_currency_is_refused(sim: ZuoraSim, token: str) -> None:
    # When a EUR customer orders the US data residency plan, priced in USD only
    response = post_order(sim, token, order_body(currency="EUR", rate_plans=[subscribe_to(US_RESIDENCY_RATE_PLAN_ID)]))
    # Then
    category, message = refusal(response)
    assert category == 30 and "EUR" in message
    assert sim.accounts == {}


def test_existing_accounts_currency_decides_which_prices_apply(sim: ZuoraSim, token: str) -> None:
    # Given a EUR account
    number = sim.seed_account("Globex", "EUR", CRM_ID)
    # When it orders the USD-only plan
    response = post_order(sim, token, order_body(existing=number, rate_plans=[subscribe_to(US_RESIDENCY_RATE_PLAN_ID)]))
    # Then
    assert refusal(response)[0] == 30
    assert sim.subscriptions == {}


def test_unknown_hpm_payment_method_is_a_category_40_refusal(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body(payment_method="8ad0eeeeeeeeeeeeeeeeeeeeeeeeeeee"))
    # Then
    category, message = refusal(response)
    assert category == 40 and "hpmCreditCardPaymentMethodId" in message
    assert sim.accounts == {}


def test_payment_method_of_another_account_is_refused_for_a_new_account(sim: ZuoraSim, token: str) -> None:
    # Given a first customer whose account now owns the sample checkout card
    post_order(sim, token, order_body())
    # When a second new customer orders with the same card
    response = post_order(sim, token, order_body())
    # Then
    category, message = refusal(response)
    assert category == 30 and CHECKOUT_PAYMENT_METHOD_ID in message
    assert len(sim.accounts) == 1 and len(sim.payments) == 1


def test_electronic_payment_method_of_another_account_is_refused(sim: ZuoraSim, token: str) -> None:
    # Given two accounts, each with its own default card
    first = sim.seed_account("Umbrella", "USD", CRM_ID)
    second = sim.seed_account("Initech", "USD", CRM_ID)
    others = sim.accounts[second]["defaultPaymentMethodId"]
    # When the first orders paying with the second's card
    processing = {"runBilling": True, "collectPayment": True, "electronicPaymentOptions": {"paymentMethodId": others}}
    response = post_order(sim, token, order_body(existing=first, processing=processing))
    # Then
    category, message = refusal(response)
    assert category == 30 and "electronicPaymentOptions.paymentMethodId" in message
    assert sim.payments == {}


def test_unknown_electronic_payment_method_is_a_category_40_refusal(sim: ZuoraSim, token: str) -> None:
    # Given an account
    number = sim.seed_account("Umbrella", "USD", CRM_ID)
    processing = {"electronicPaymentOptions": {"paymentMethodId": "8ad0dddddddddddddddddddddddddddd"}}
    # When
    response = post_order(sim, token, order_body(existing=number, processing=processing))
    # Then
    assert refusal(response)[0] == 40


def test_auto_pay_without_a_payment_method_is_refused(sim: ZuoraSim, token: str) -> None:
    # When a new auto-pay account names no payment method
    response = post_order(sim, token, order_body(payment_method=None, auto_pay=True))
    # Then
    category, message = refusal(response)
    assert category == 20 and "Auto-Pay" in message
    assert sim.accounts == {}


def test_new_account_without_auto_pay_needs_no_payment_method(sim: ZuoraSim, token: str) -> None:
    # When a new account without auto-pay and without a card orders without collecting payment
    body = order_body(payment_method=None, auto_pay=False, processing={"runBilling": True})
    response = post_order(sim, token, body)
    # Then
    assert response.json()["success"] is True
    assert sim.accounts["A00000001"]["defaultPaymentMethodId"] is None


def test_collect_payment_without_run_billing_is_refused(sim: ZuoraSim, token: str) -> None:
    # When
    response = post_order(sim, token, order_body(processing={"runBilling": False, "collectPayment": True}))
    # Then
    category, message = refusal(response)
    assert category == 20 and "runBilling" in message
    assert sim.orders == {}


def test_collect_payment_from_an_account_without_payment_method_is_refused(sim: ZuoraSim, token: str) -> None:
    # Given an account without any payment method
    number = sim.seed_account("Umbrella", "USD", CRM_ID, with_payment_method=False)
    # When it orders with payment collection
    response = post_order(sim, token, order_body(existing=number))
    # Then Zuora's message, and neither subscription nor invoice is kept
    assert refusal(response) == (30, "To collect payment, the customer account must have a default payment method.")
    assert sim.subscriptions == {} and sim.invoices == {}


def test_refused_order_leaves_the_catalog_card_an_orphan(sim: ZuoraSim, token: str) -> None:
    # Given an order whose rate plan has no EUR price
    body = order_body(currency="EUR", rate_plans=[subscribe_to(US_RESIDENCY_RATE_PLAN_ID)])
    # When it is refused
    post_order(sim, token, body)
    # Then the hosted-page card still belongs to nobody
    assert sim.payment_methods[CHECKOUT_PAYMENT_METHOD_ID]["accountId"] is None


# --- payment methods ----------------------------------------------------------------------------------


def test_checkout_card_is_an_orphan_of_the_sandbox_tenant(sim: ZuoraSim, token: str) -> None:
    # When the sample checkout card is retrieved
    response = call(sim, token, "GET", f"/v1/payment-methods/{CHECKOUT_PAYMENT_METHOD_ID}")
    # Then it is a credit card of no account, answered with the documented fields
    body = response.json()
    assert (body["success"], body["id"], body["type"], body["accountKey"]) == (
        True,
        CHECKOUT_PAYMENT_METHOD_ID,
        "CreditCard",
        None,
    )
    assert set(body) <= SDK_PAYMENT_METHOD


def test_new_account_makes_its_hpm_card_the_default_payment_method(sim: ZuoraSim, token: str) -> None:
    # When a new customer orders with the hosted-page card
    account = post_order(sim, token, order_body()).json()["accountNumber"]
    # Then the card belongs to the new account and is its default
    body = call(sim, token, "GET", f"/v1/payment-methods/{CHECKOUT_PAYMENT_METHOD_ID}").json()
    assert (body["accountKey"], body["isDefault"]) == (sim.accounts[account]["id"], True)
    row = call(sim, token, "GET", "/object-query/accounts", params={"filter[]": f"accountNumber.EQ:{account}"})
    assert row.json()["data"][0]["defaultPaymentMethodId"] == CHECKOUT_PAYMENT_METHOD_ID


def test_unknown_payment_method_is_a_category_40_failure(sim: ZuoraSim, token: str) -> None:
    # When / Then
    assert refusal(call(sim, token, "GET", "/v1/payment-methods/8ad0cccccccccccccccccccccccccccc"))[0] == 40


def test_create_account_associates_its_hpm_card(sim: ZuoraSim, token: str) -> None:
    # When an auto-pay account is created with an orphan card
    body = account_body(autoPay=True, hpmCreditCardPaymentMethodId=SPARE_PAYMENT_METHODS[1])
    response = call(sim, token, "POST", "/v1/accounts", json=body)
    # Then the answer names the card, now the account's
    assert response.json()["paymentMethodId"] == SPARE_PAYMENT_METHODS[1]
    assert sim.payment_methods_of(response.json()["accountNumber"])[0]["id"] == SPARE_PAYMENT_METHODS[1]


def test_create_account_refuses_a_card_with_auto_pay_off(sim: ZuoraSim, token: str) -> None:
    # When an account without auto-pay is created with a card (its autoPay description forbids it)
    body = account_body(autoPay=False, hpmCreditCardPaymentMethodId=SPARE_PAYMENT_METHODS[1])
    response = call(sim, token, "POST", "/v1/accounts", json=body)
    # Then
    assert refusal(response)[0] == 20
    assert sim.accounts == {}


def test_create_account_refuses_a_card_of_another_account(sim: ZuoraSim, token: str) -> None:
    # Given a card that belongs to an account
    owner = sim.seed_account("Umbrella", "USD", CRM_ID)
    card = sim.accounts[owner]["defaultPaymentMethodId"]
    # When another account is created with it
    response = call(
        sim, token, "POST", "/v1/accounts", json=account_body(autoPay=True, hpmCreditCardPaymentMethodId=card)
    )
    # Then
    assert refusal(response)[0] == 30
    assert list(sim.accounts) == [owner]


def test_seeded_account_can_go_without_a_payment_method(sim: ZuoraSim) -> None:
    # When
    with_card = sim.seed_account("Umbrella", "USD", CRM_ID)
    without = sim.seed_account("Initech", "USD", CRM_ID, with_payment_method=False)
    # Then
    assert len(sim.payment_methods_of(with_card)) == 1
    assert sim.payment_methods_of(without) == [] and sim.accounts[without]["defaultPaymentMethodId"] is None


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


def test_object_query_account_rows_have_sdk_field_names(sim: ZuoraSim, token: str) -> None:
    # Given an account
    sim.seed_account("Umbrella", "USD", CRM_ID)
    # When / Then
    (row,) = call(sim, token, "GET", "/object-query/accounts").json()["data"]
    assert set(row) <= SDK_ACCOUNT


# --- lifecycle --------------------------------------------------------------------------------------


def test_reset_restores_the_default_catalog_and_orphan_cards(sim: ZuoraSim, token: str) -> None:
    # Given a seeded rate plan and an order that took the sample checkout card
    plan = sim.seed_rate_plan(
        "Widgets",
        name="Basic",
        charges=[{"name": "Fee", "chargeModel": "FlatFee", "chargeType": "Recurring", "prices": {"USD": 1}}],
    )
    post_order(sim, token, order_body())
    # When
    sim.reset()
    # Then the seeded plan is gone, the default catalog is back and the card is an orphan again
    assert rate_plans_query(sim, token, f"/{plan}").status_code == 404
    assert rate_plans_query(sim, token, f"/{PRO_RATE_PLAN_ID}").status_code == 200
    assert {m["id"] for m in sim.payment_methods.values() if m["accountId"] is None} == {
        CHECKOUT_PAYMENT_METHOD_ID,
        *SPARE_PAYMENT_METHODS,
    }


def test_reset_forgets_data_but_keeps_tokens(sim: ZuoraSim, token: str) -> None:
    # Given data and a stored idempotent response
    post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    # When
    sim.reset()
    # Then numbering restarts, the key is forgotten and the token still works
    response = post_order(sim, token, order_body(), **{"Idempotency-Key": "k1"})
    assert response.json()["orderNumber"] == "O-00000001"
    assert sim.schema_violations == [] and len(sim.calls) == 1


def test_simulator_serves_https(tmp_path: Path) -> None:
    # Given a simulator behind a throw-away CA
    from sandbox.tls import SandboxCA

    ca = SandboxCA(tmp_path)
    server = ZuoraSim(ca.server_context(), client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    server.start()
    try:
        # When a client trusting that CA asks for a token
        form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "client_credentials"}
        response = requests.post(f"{server.url}/oauth/token", data=form, verify=str(ca.bundle_path), timeout=TIMEOUT)
        # Then
        assert server.url.startswith("https://") and response.status_code == 200
    finally:
        server.stop()
