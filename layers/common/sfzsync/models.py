"""Checkout API models: the request body, the 201 body and the error body (they make the OpenAPI document)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

# Control characters (NUL, line breaks, DEL, C1), bidi overrides and isolates (U+202E ...) and invisible characters.
_UNSAFE_CHARACTERS = r"\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_UNSAFE = re.compile(f"[{_UNSAFE_CHARACTERS}]")


def _reject_unsafe_characters(value: object) -> object:
    if isinstance(value, str) and (found := _UNSAFE.search(value)):
        raise ValueError(f"must not contain control or invisible formatting characters (found U+{ord(found[0]):04X})")
    return value


class _PlainText:
    """Text a person typed: no control or invisible formatting characters (documented as a `pattern`)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(_reject_unsafe_characters, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {**handler(schema), "pattern": f"^[^{_UNSAFE_CHARACTERS}]*$"}


PLAIN = _PlainText()
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80), PLAIN]
ZuoraId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9]{1,64}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,3}$")]

MatchedBy = Literal["contact_email", "person_account_email", "account_domain", "duplicate_rule", "created"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Address(StrictModel):
    line1: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), PLAIN]
    line2: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255), PLAIN] | None = Field(
        None, description="line1 and line2 together hold at most 254 characters (one 255-character Salesforce street)."
    )
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), PLAIN]
    state: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), PLAIN] | None = None
    postalCode: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20), PLAIN] | None = None
    country: CountryCode = Field(description="ISO 3166 country code, e.g. US.")

    @model_validator(mode="after")
    def _street_fits_salesforce(self) -> Address:
        if self.line2 and len(self.line1) + len(self.line2) > 254:
            raise ValueError("line1 and line2 together must not exceed 254 characters (Salesforce's street holds 255)")
        return self


class Customer(StrictModel):
    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=80)] = Field(
        description="The customer's email (Salesforce and Zuora hold 80 characters); matched case-insensitively.",
        json_schema_extra={"format": "email"},
    )
    firstName: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), PLAIN] | None = (
        None
    )
    lastName: ShortText
    company: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), PLAIN] | None = (
        Field(None, description='Account Name; falls back to "First Last".')
    )
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), PLAIN] | None = None
    address: Address


class RatePlan(StrictModel):
    productRatePlanId: ZuoraId
    quantity: Annotated[int, Field(gt=0, le=1_000_000)] | None = Field(
        None, description="Units of the charge named by productRatePlanChargeId."
    )
    productRatePlanChargeId: ZuoraId | None = Field(
        None, description="The per-unit charge that `quantity` applies to (Zuora sets quantities per charge)."
    )

    @model_validator(mode="after")
    def _quantity_needs_charge(self) -> RatePlan:
        if self.quantity is not None and self.productRatePlanChargeId is None:
            raise ValueError("quantity needs productRatePlanChargeId: Zuora sets quantities per charge")
        return self


class Term(StrictModel):
    type: Literal["TERMED", "EVERGREEN"] = "EVERGREEN"
    initialTerm: Annotated[int, Field(gt=0, le=120)] | None = None
    renewalTerm: Annotated[int, Field(gt=0, le=120)] | None = None
    periodType: Literal["Month", "Year", "Day", "Week"] = "Month"
    autoRenew: bool = True

    @model_validator(mode="after")
    def _termed_needs_initial_term(self) -> Term:
        if self.type == "TERMED" and self.initialTerm is None:
            raise ValueError("a TERMED subscription needs initialTerm")
        return self


class Subscription(StrictModel):
    ratePlans: Annotated[list[RatePlan], Field(min_length=1, max_length=20)]
    term: Term = Field(default_factory=Term)


class ProcessingOptions(StrictModel):
    runBilling: bool = False
    collectPayment: bool = False


class Order(StrictModel):
    currency: Currency
    orderDate: dt.date | None = Field(None, description="Defaults to today (UTC).")
    billCycleDay: Annotated[int, Field(ge=0, le=31)] = 0
    paymentMethodId: ZuoraId | None = Field(None, description="Zuora payment method id from the hosted payment page.")
    autoPay: bool = False
    subscriptions: Annotated[list[Subscription], Field(min_length=1, max_length=10)]
    processingOptions: ProcessingOptions = Field(default_factory=ProcessingOptions)


class CheckoutRequest(StrictModel):
    customer: Customer
    order: Order


class CheckoutResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    salesforceAccountId: str = Field(description="18-character Salesforce Account Id, the Zuora account's crmId.")
    matchedBy: MatchedBy
    zuoraAccountNumber: str
    zuoraOrderNumber: str
    subscriptionNumbers: list[str]
    orderStatus: str
    replayed: bool = Field(False, exclude=True)


class ErrorDetail(BaseModel):
    code: str
    message: str
    stage: str | None = None
    retryable: bool = False
    upstreamRequestId: str | None = None
    fields: list[dict[str, str]] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail
