"""Salesforce as the person who pressed the button: OAuth web-server flow with PKCE, and reads with their token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession

from sfzsync.errors import LoginRefusedError, LoginRequiredError
from sfzsync.gateways.cpq_queries import CpqQueries, account
from sfzsync.gateways.salesforce import composite_query_body, composite_query_records, salesforce_error
from sfzsync.gateways.salesforce_records import (
    AccountRecord,
    Address,
    ContactRecord,
    LineWriteBack,
    OrderLine,
    OrderRecord,
    OriginLine,
    RecordAccess,
)
from sfzsync.gateways.transport import TimeoutSession, transport_error
from sfzsync.ids import to_18
from sfzsync.observability import logger, tracer
from sfzsync.send_to_zuora.cookies import UserSession
from sfzsync.settings import SalesforceSettings, SendToZuoraSettings

__all__ = [
    "AccountRecord",
    "Address",
    "ContactRecord",
    "Identity",
    "LineWriteBack",
    "OrderLine",
    "OrderRecord",
    "OriginLine",
    "RecordAccess",
    "SalesforceUserGateway",
    "SalesforceWebGateway",
]


@dataclass(frozen=True)
class Identity:
    user_id: str
    org_id: str
    name: str


class SalesforceUserGateway(Protocol):
    def authorize_url(self, domain: str, redirect_uri: str, state: str, code_challenge: str) -> str: ...

    def sign_in(self, domain: str, code: str, code_verifier: str, redirect_uri: str) -> tuple[Identity, str, str]:
        """(identity, access_token, instance_url) for an authorization code."""
        ...

    def read_account(self, session: UserSession, account_id: str) -> AccountRecord | None:
        """The Account (with the user's access to it) as the user sees it; None if they may not see it."""
        ...

    def read_order(self, session: UserSession, order_id: str) -> tuple[OrderRecord, AccountRecord] | None:
        """The Order with its order products, what they revise or renew, and its Account, as the user sees them."""
        ...


class SalesforceWebGateway:
    """The real gateway; `domain` is always one of the configured allowedDomains (checked by the caller)."""

    def __init__(self, settings: SalesforceSettings, session: TimeoutSession, button: SendToZuoraSettings) -> None:
        self._settings = settings
        self._session = session
        self._cpq = CpqQueries(button)
        self._multi_currency = button.multiCurrency
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
        queries = {
            **self._cpq.account(account_id, self._multi_currency),
            **self._cpq.access(session.user_id, account_id),
        }
        results = self._queries(session, queries)
        return account(results, self._cpq.access_of(results))

    def read_order(self, session: UserSession, order_id: str) -> tuple[OrderRecord, AccountRecord] | None:
        first = self._queries(session, {**self._cpq.order(order_id), **self._cpq.access(session.user_id, order_id)})
        if not first["order"]:
            return None
        row = first["order"][0]
        lines = [self._cpq.line(item) for item in first["items"]]
        contacts = [to_18(str(row[f])) for f in ("BillToContactId", "ShipToContactId") if row.get(f)]
        origins = sorted({line.origin_id for line in lines if line.origin_id})
        account_id = to_18(str(row["AccountId"]))
        queries = {
            **self._cpq.account(account_id, self._multi_currency),
            **self._cpq.related(to_18(str(row["Id"])), sorted(set(contacts)), origins),
        }
        second = self._queries(session, queries)
        order = self._cpq.order_record(row, lines, second, self._cpq.access_of(first))
        found = account(second)
        return (order, found) if found else None

    # --- helpers -------------------------------------------------------------------------------
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
