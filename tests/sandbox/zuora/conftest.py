"""Fixtures of the Zuora simulator tests: Zuora's OpenAPI document (fetched once), a simulator per test module
(reset before each test) and a token; request helpers and the field names of Zuora's SDK models."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.zuora import (
    CHECKOUT_PAYMENT_METHOD_ID,
    IDEMPOTENCY_TTL,
    PRO_RATE_PLAN_ID,
    SEATS_CHARGE_ID,
    ZuoraSim,
    openapi,
)

REPO = Path(__file__).resolve().parents[3]
CLIENT_ID, CLIENT_SECRET = "7a3e7d7c-1b9a-4a8e-9b1c-0f1e2d3c4b5a", "sandbox-secret"
CRM_ID = "001000000000001AAA"
TIMEOUT = 5


@pytest.fixture(scope="session", autouse=True)
def zuora_document() -> Path:
    path = openapi.document_path()
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
