"""Salesforce as the person who pressed the button: OAuth web-server flow with PKCE, and reads with their token."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession
from simple_salesforce.format import format_soql

from sfzsync.errors import LoginRefusedError, LoginRequiredError
from sfzsync.gateways.salesforce import composite_query_body, composite_query_records, salesforce_error
from sfzsync.gateways.transport import TimeoutSession, transport_error
from sfzsync.ids import to_18
from sfzsync.observability import logger, tracer
from sfzsync.send_to_zuora.cookies import UserSession
from sfzsync.settings import SalesforceSettings

MAX_ORDER_ITEMS = 200


@dataclass(frozen=True)
class Identity:
    user_id: str
    org_id: str
    name: str


@dataclass(frozen=True)
class Address:
    street: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str | None


@dataclass(frozen=True)
class ContactRecord:
    first_name: str | None
    last_name: str
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class AccountRecord:
    account_id: str
    name: str
    currency: str | None
    billing: Address
    contact: ContactRecord | None


@dataclass(frozen=True)
class OrderLine:
    item_id: str
    product_name: str
    rate_plan_id: str | None
    charge_id: str | None
    quantity: float
    service_date: dt.date | None
    end_date: dt.date | None
    term_months: int | None
    charge_type: str | None
    billing_frequency: str | None


@dataclass(frozen=True)
class OrderRecord:
    order_id: str
    order_number: str
    account_id: str
    effective_date: dt.date | None
    status: str
    lines: list[OrderLine]


class SalesforceUserGateway(Protocol):
    def authorize_url(self, domain: str, redirect_uri: str, state: str, code_challenge: str) -> str: ...

    def sign_in(self, domain: str, code: str, code_verifier: str, redirect_uri: str) -> tuple[Identity, str, str]:
        """(identity, access_token, instance_url) for an authorization code."""
        ...

    def read_account(self, session: UserSession, account_id: str) -> AccountRecord | None: ...

    def read_order(self, session: UserSession, order_id: str) -> tuple[OrderRecord, AccountRecord] | None: ...


class SalesforceWebGateway:
    """The real gateway; `domain` is always one of the configured allowedDomains (checked by the caller)."""

    def __init__(
        self,
        settings: SalesforceSettings,
        session: TimeoutSession,
        rate_plan_field: str,
        charge_field: str | None,
        multi_currency: bool,
    ) -> None:
        self._settings = settings
        self._session = session
        self._rate_plan_field = rate_plan_field
        self._charge_field = charge_field
        self._multi_currency = multi_currency
        self._api_prefix = f"/services/data/v{settings.apiVersion}"

    def authorize_url(self, domain: str, redirect_uri: str, state: str, code_challenge: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._settings.clientId,
                "redirect_uri": redirect_uri,
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
                "scope": "api id",
            }
        )
        return f"https://{domain}/services/oauth2/authorize?{query}"

    def sign_in(self, domain: str, code: str, code_verifier: str, redirect_uri: str) -> tuple[Identity, str, str]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": self._settings.clientId,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        if self._settings.clientSecret is not None:
            form["client_secret"] = self._settings.clientSecret.get_secret_value()
        with tracer.provider.in_subsegment("salesforce.code_exchange"):
            token_response = self._post_form(f"https://{domain}/services/oauth2/token", form)
        if token_response.status_code != 200:
            logger.warning("authorization code refused", extra={"status": token_response.status_code})
            raise LoginRefusedError("Salesforce refused the sign-in; open the button again")
        body = token_response.json()
        token, instance_url = str(body["access_token"]), str(body["instance_url"])
        with tracer.provider.in_subsegment("salesforce.userinfo"):
            info = self._get(f"https://{domain}/services/oauth2/userinfo", token)
        if info.status_code != 200:
            raise LoginRefusedError("Salesforce did not tell who signed in; open the button again")
        data = info.json()
        identity = Identity(
            to_18(str(data["user_id"])),
            to_18(str(data["organization_id"])),
            str(data.get("name") or data.get("preferred_username") or ""),
        )
        return identity, token, instance_url

    def read_account(self, session: UserSession, account_id: str) -> AccountRecord | None:
        results = self._queries(session, self._account_queries(account_id))
        return _account(results)

    def read_order(self, session: UserSession, order_id: str) -> tuple[OrderRecord, AccountRecord] | None:
        order_fields = "Id, OrderNumber, AccountId, EffectiveDate, Status"
        product = ["Product2.Name", f"Product2.{self._rate_plan_field}"]
        if self._charge_field:
            product.append(f"Product2.{self._charge_field}")
        item_fields = ", ".join(
            [
                "Id",
                "Quantity",
                "ServiceDate",
                "EndDate",
                "SBQQ__SubscriptionTerm__c",
                "SBQQ__ChargeType__c",
                "SBQQ__BillingFrequency__c",
                *product,
            ]
        )
        results = self._queries(
            session,
            {
                "order": format_soql("SELECT {:literal} FROM Order WHERE Id = {} LIMIT 1", order_fields, order_id),
                "items": format_soql(
                    "SELECT {:literal} FROM OrderItem WHERE OrderId = {} "
                    "ORDER BY CreatedDate ASC, Id ASC LIMIT {:literal}",
                    item_fields,
                    order_id,
                    str(MAX_ORDER_ITEMS),
                ),
            },
        )
        if not results["order"]:
            return None
        row = results["order"][0]
        lines = [self._line(item) for item in results["items"]]
        order = OrderRecord(
            to_18(str(row["Id"])),
            str(row.get("OrderNumber") or ""),
            to_18(str(row["AccountId"])),
            _date(row.get("EffectiveDate")),
            str(row.get("Status") or ""),
            lines,
        )
        account = _account(self._queries(session, self._account_queries(order.account_id)))
        return (order, account) if account else None

    # --- helpers -------------------------------------------------------------------------------
    def _account_queries(self, account_id: str) -> dict[str, str]:
        fields = "Id, Name, BillingStreet, BillingCity, BillingState, BillingPostalCode, BillingCountry"
        if self._multi_currency:
            fields += ", CurrencyIsoCode"
        return {
            "account": format_soql("SELECT {:literal} FROM Account WHERE Id = {} LIMIT 1", fields, account_id),
            "contact": format_soql(
                "SELECT Id, FirstName, LastName, Email, Phone FROM Contact WHERE AccountId = {} "
                "ORDER BY CreatedDate ASC, Id ASC LIMIT 1",
                account_id,
            ),
        }

    def _line(self, item: dict[str, Any]) -> OrderLine:
        product = item.get("Product2") or {}
        term = item.get("SBQQ__SubscriptionTerm__c")
        return OrderLine(
            item_id=to_18(str(item["Id"])),
            product_name=str(product.get("Name") or "(no product)"),
            rate_plan_id=_text(product.get(self._rate_plan_field)),
            charge_id=_text(product.get(self._charge_field)) if self._charge_field else None,
            quantity=float(item.get("Quantity") or 0),
            service_date=_date(item.get("ServiceDate")),
            end_date=_date(item.get("EndDate")),
            term_months=int(term) if isinstance(term, int | float) and term > 0 else None,
            charge_type=_text(item.get("SBQQ__ChargeType__c")),
            billing_frequency=_text(item.get("SBQQ__BillingFrequency__c")),
        )

    def _queries(self, session: UserSession, queries: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
        client = Salesforce(
            instance_url=session.instance_url,
            session_id=session.access_token,
            version=self._settings.apiVersion,
            session=self._session,
        )
        body = composite_query_body(self._api_prefix, queries)
        with tracer.provider.in_subsegment("salesforce.user_read"):
            try:
                result = client.restful("composite", method="POST", json=body)
            except SalesforceExpiredSession:
                raise LoginRequiredError("your Salesforce session expired") from None
            except SalesforceError as exc:
                raise salesforce_error("salesforce_read", exc) from None
            except requests.RequestException as exc:
                raise transport_error("Salesforce", "salesforce_read", exc) from None
        return composite_query_records("salesforce_read", result)

    def _post_form(self, url: str, form: dict[str, str]) -> requests.Response:
        return self._sign_in_call("POST", url, data=form)

    def _get(self, url: str, token: str) -> requests.Response:
        return self._sign_in_call("GET", url, headers={"Authorization": f"Bearer {token}"})

    def _sign_in_call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise transport_error("Salesforce", "salesforce_login", exc) from None


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _date(value: object) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None


def _account(results: dict[str, list[dict[str, Any]]]) -> AccountRecord | None:
    if not results.get("account"):
        return None
    row = results["account"][0]
    contact_rows = results.get("contact") or []
    contact = None
    if contact_rows:
        c = contact_rows[0]
        contact = ContactRecord(
            _text(c.get("FirstName")), str(c.get("LastName") or ""), _text(c.get("Email")), _text(c.get("Phone"))
        )
    billing = Address(
        _text(row.get("BillingStreet")),
        _text(row.get("BillingCity")),
        _text(row.get("BillingState")),
        _text(row.get("BillingPostalCode")),
        _text(row.get("BillingCountry")),
    )
    return AccountRecord(
        to_18(str(row["Id"])), str(row.get("Name") or ""), _text(row.get("CurrencyIsoCode")), billing, contact
    )
