"""Checkout API models: the request body, the 201 body and the error body (they make the OpenAPI document)."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
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

from sfzsync.checkout.limits import email_local_part_problem, fits, stored_length
from sfzsync.errors import InvalidInputError
from sfzsync.matching import normalise_email

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

# Salesforce's Contact.Email and Zuora's workEmail both hold 80 characters.
EMAIL_MAX_CHARACTERS = 80


@dataclass(frozen=True)
class InputRules:
    """What this deployment's Salesforce org accepts beyond the defaults (from the secret, fixed per cold start)."""

    email_internationalization: bool = False


DEFAULT_INPUT_RULES = InputRules()
_input_rules: contextvars.ContextVar[InputRules | None] = contextvars.ContextVar("input_rules", default=None)


@contextlib.contextmanager
def input_rules(rules: InputRules) -> Iterator[None]:
    """Validate the requests of the block under `rules` (the handler wraps each invocation in it)."""
    token = _input_rules.set(rules)
    try:
        yield
    finally:
        _input_rules.reset(token)


def _usable_email(value: str) -> str:
    """The address as typed, if Salesforce and Zuora will both take it once normalised (UTS-46 domain)."""
    try:
        email = normalise_email(value)
    except InvalidInputError as error:
        raise ValueError(error.message) from None
    length = stored_length(email.address)
    if length > EMAIL_MAX_CHARACTERS:
        raise ValueError(
            f"is {length} characters once its domain is in ASCII form ({email.domain}); "
            f"Salesforce and Zuora hold {EMAIL_MAX_CHARACTERS}"
        )
    rules = _input_rules.get() or DEFAULT_INPUT_RULES
    problem = email_local_part_problem(email.local_part, international=rules.email_internationalization)
    if problem:
        raise ValueError(problem)
    return value


def _bounds(*, max_length: int, min_length: int = 0) -> tuple[StringConstraints, _PlainText, AfterValidator]:
    """Typed text for a field of `max_length` characters in Salesforce and Zuora (counted as Salesforce does)."""
    return (
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        PLAIN,
        AfterValidator(fits(max_length)),
    )


# Lengths: Salesforce's Account and Contact fields and Zuora's contact fields (its published OpenAPI), the stricter.
FirstName = Annotated[str, *_bounds(min_length=1, max_length=40)]  # Contact.FirstName 40 (Zuora 100)
LastName = Annotated[str, *_bounds(min_length=1, max_length=80)]  # Contact.LastName 80 (Zuora 100)
CompanyName = Annotated[str, *_bounds(min_length=1, max_length=255)]  # Account.Name 255, Zuora name 255
Phone = Annotated[str, *_bounds(max_length=40)]  # Phone 40, Zuora workPhone 40
StreetLine = Annotated[str, *_bounds(min_length=1, max_length=255)]  # BillingStreet 255, Zuora address1 255
OptionalStreetLine = Annotated[str, *_bounds(max_length=255)]  # Zuora address2 255
City = Annotated[str, *_bounds(min_length=1, max_length=40)]  # BillingCity 40, Zuora city 40
State = Annotated[str, *_bounds(max_length=40)]  # BillingState 80, Zuora state 40
PostalCode = Annotated[str, *_bounds(max_length=20)]  # BillingPostalCode 20, Zuora postalCode 20
ZuoraId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9]{1,64}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,3}$")]

MatchedBy = Literal["contact_email", "person_account_email", "account_domain", "duplicate_rule", "created"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Address(StrictModel):
    line1: StreetLine
    line2: OptionalStreetLine | None = Field(
        None, description="line1 and line2 together hold at most 254 characters (one 255-character Salesforce street)."
    )
    city: City
    state: State | None = None
    postalCode: PostalCode | None = None
    country: CountryCode = Field(description="ISO 3166 country code, e.g. US.")

    @model_validator(mode="after")
    def _street_fits_salesforce(self) -> Address:
        if self.line2 and stored_length(self.line1) + stored_length(self.line2) > 254:
            raise ValueError("line1 and line2 together must not exceed 254 characters (Salesforce's street holds 255)")
        return self


class Customer(StrictModel):
    email: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=3, max_length=EMAIL_MAX_CHARACTERS),
        AfterValidator(_usable_email),
    ] = Field(
        description="The customer's email, matched case-insensitively. Salesforce and Zuora hold 80 characters, "
        "counted with the domain in ASCII form (an internationalised domain is longer in punycode). Before the @, "
        "Salesforce accepts letters, digits and !#$%&'*+-/=?^_`{|}~. (not a leading dot); non-ASCII letters only "
        "with its Email Address Internationalization.",
        json_schema_extra={"format": "email"},
    )
    firstName: FirstName | None = None
    lastName: LastName
    company: CompanyName | None = Field(None, description='Account Name; falls back to "First Last".')
    phone: Phone | None = None
    address: Address


class RatePlan(StrictModel):
    productRatePlanId: ZuoraId = Field(description="A product rate plan of the Zuora catalog.")
    quantity: Annotated[int, Field(gt=0, le=1_000_000)] | None = Field(
        None,
        description='Units of this rate plan ("3 seats"): set on each of its per-unit charges (per unit, tiered or '
        "volume pricing); flat-fee charges are unaffected. Leave it out to take the catalog's default quantities.",
    )
    productRatePlanChargeId: ZuoraId | None = Field(
        None, description="Put `quantity` on this one charge of the rate plan only, instead of on every per-unit one."
    )


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
    zuoraAccountNumber: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,70}$")] | None = Field(
        None,
        description="Your logged-in customer's own Zuora billing account: the order is placed on it, with the payment "
        "method given. Without it every checkout gets a new billing account, whatever Salesforce Account matched.",
    )
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
