"""The Send to Zuora button as a web app: validate the URL, sign the user in (PKCE), preview, push on POST."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from urllib.parse import urlencode

from aws_lambda_powertools import Logger

from . import pages
from .config import Settings, load_settings
from .errors import ConfigurationError, SyncError
from .http import RESPONSE_MARGIN_SECONDS, TimeoutSession, invocation_scope
from .ids import is_salesforce_id, to_18
from .salesforce_user import LoginRefusedError, LoginRequiredError, SalesforceUserGateway, SalesforceWebGateway
from .send_to_zuora import AccountPlan, ButtonInputError, OrderPlan, PushOutcome, SendToZuoraFlow
from .store import DynamoDBPushStore, dynamodb_client
from .web import (
    OAUTH_COOKIE,
    OAUTH_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    CookieSealer,
    PendingLogin,
    UserSession,
    clear_cookie,
    new_id,
    new_pkce_pair,
    set_cookie,
)
from .zuora import ZuoraRestGateway

logger = Logger(child=True)

RECORD_PARAMS = {"accountId": ("001", "Account"), "orderId": ("801", "Order")}


class ForbiddenError(SyncError):
    """Signed in, but not allowed: another org, no session on a POST, or a bad CSRF token."""


class RecordNotVisibleError(SyncError):
    """The record does not exist or the signed-in user may not see it."""


@dataclass(frozen=True)
class ButtonTarget:
    domain: str
    param: str
    record_id: str

    @property
    def kind(self) -> str:
        return RECORD_PARAMS[self.param][1]

    def query(self) -> str:
        return urlencode({"sfdc": self.domain, self.param: self.record_id})


@dataclass(frozen=True)
class HttpRequest:
    """What the handler passes in: where the API lives (for redirects) and the browser's cookies."""

    base_path: str
    callback_url: str
    cookies: dict[str, str]
    origin: str | None = None
    host: str | None = None


@dataclass
class PageResponse:
    status: int
    html: str | None = None
    location: str | None = None
    cookies: list[str] = field(default_factory=list)


def parse_target(params: dict[str, str], allowed_domains: list[str]) -> ButtonTarget:
    """The button URL's `sfdc` must be an allowed domain, and exactly one well-formed Account or Order Id given."""
    domain = (params.get("sfdc") or "").strip().lower()
    if domain not in {d.lower() for d in allowed_domains}:
        raise ButtonInputError(
            "This button points at a Salesforce org this service does not serve "
            f"(sfdc={domain or 'missing'}). Check the button URL and the allowedDomains setting."
        )
    given = [name for name in RECORD_PARAMS if params.get(name)]
    if len(given) != 1:
        raise ButtonInputError("The button URL needs exactly one of accountId or orderId.")
    name = given[0]
    raw = params[name].strip()
    prefix, kind = RECORD_PARAMS[name]
    if not is_salesforce_id(raw) or not raw.startswith(prefix):
        raise ButtonInputError(f"{name} is not a Salesforce {kind} Id (15 or 18 characters starting with {prefix}).")
    try:
        record_id = to_18(raw)
    except ValueError:
        raise ButtonInputError(f"{name} is not a valid Salesforce Id (its checksum does not match).") from None
    return ButtonTarget(domain, name, record_id)


class SendToZuoraService:
    """Built once per cold start; each method turns one browser request into one page or redirect."""

    def __init__(self, settings: Settings, web: SalesforceUserGateway, flow: SendToZuoraFlow) -> None:
        salesforce, send = settings.secret.salesforce, settings.secret.sendToZuora
        if send.sessionKey is None or len(send.sessionKey.get_secret_value()) < 32:
            raise ConfigurationError("sendToZuora.sessionKey must hold at least 32 random characters")
        if not salesforce.orgId or not salesforce.allowedDomains:
            raise ConfigurationError("salesforce.orgId and salesforce.allowedDomains are required for the button")
        self._settings = settings
        self._org_id = to_18(salesforce.orgId)
        self._allowed = salesforce.allowedDomains
        self._sealer = CookieSealer(send.sessionKey.get_secret_value())
        self._web = web
        self._flow = flow

    @classmethod
    def from_environment(cls) -> SendToZuoraService:
        settings = load_settings()
        runtime, secret = settings.runtime, settings.secret
        session = TimeoutSession(runtime.connect_timeout, runtime.read_timeout)
        dynamodb = dynamodb_client(runtime.connect_timeout, runtime.read_timeout)
        send = secret.sendToZuora
        web = SalesforceWebGateway(
            secret.salesforce, session, send.productRatePlanField, send.productRatePlanChargeField, send.multiCurrency
        )
        flow = SendToZuoraFlow(
            ZuoraRestGateway(secret.zuora, session),
            DynamoDBPushStore(dynamodb, runtime.idempotency_table),
            send,
            to_18(secret.salesforce.orgId or ""),
            runtime.lock_wait_seconds * 2,
        )
        return cls(settings, web, flow)

    def callback_url(self, fallback: str) -> str:
        return self._settings.secret.sendToZuora.callbackUrl or fallback

    def scope(self, remaining_seconds: float, track_id: str | None) -> AbstractContextManager[None]:
        """Outbound calls inside are bounded by the invocation's remaining time and tagged with its request id."""
        return invocation_scope(remaining_seconds - RESPONSE_MARGIN_SECONDS, track_id)

    # --- GET /sfdccpq ----------------------------------------------------------------------------
    def open(self, params: dict[str, str], request: HttpRequest) -> PageResponse:
        target = parse_target(params, self._allowed)
        session = self._session(request, target.domain)
        if session is None:
            return self._start_login(target, request)
        try:
            return PageResponse(200, self._preview(target, session))
        except LoginRequiredError:
            return self._start_login(target, request)

    def _start_login(self, target: ButtonTarget, request: HttpRequest) -> PageResponse:
        verifier, challenge = new_pkce_pair()
        login = PendingLogin(
            new_id(), verifier, target.domain, target.param, target.record_id, time.time() + OAUTH_SECONDS
        )
        location = self._web.authorize_url(
            target.domain, request.callback_url, self._sealer.sign_state(login.nonce), challenge
        )
        cookie = set_cookie(OAUTH_COOKIE, self._sealer.seal_login(login), OAUTH_SECONDS, self._cookie_path(request))
        return PageResponse(302, location=location, cookies=[cookie])

    # --- GET /sfdccpq/callback -------------------------------------------------------------------
    def callback(self, params: dict[str, str], request: HttpRequest) -> PageResponse:
        if params.get("error"):
            raise LoginRefusedError(f"Salesforce sign-in did not complete ({params['error']}); open the button again.")
        login = self._sealer.open_login(request.cookies.get(OAUTH_COOKIE))
        nonce = self._sealer.state_nonce(params.get("state"))
        if login is None or nonce is None or nonce != login.nonce or not params.get("code"):
            raise LoginRefusedError("This sign-in was not started here or has expired; open the button again.")
        identity, token, instance_url = self._web.sign_in(
            login.domain, params["code"], login.code_verifier, request.callback_url
        )
        if identity.org_id != self._org_id:
            logger.warning("sign-in from another org refused", extra={"org_id": identity.org_id})
            raise ForbiddenError("You signed in to a Salesforce org this service does not serve.")
        session = UserSession(
            new_id(),
            identity.user_id,
            identity.org_id,
            login.domain,
            token,
            instance_url,
            identity.name,
            time.time() + SESSION_SECONDS,
        )
        path = self._cookie_path(request)
        target = ButtonTarget(login.domain, login.record_param, login.record_id)
        cookies = [
            set_cookie(SESSION_COOKIE, self._sealer.seal_session(session), SESSION_SECONDS, path),
            clear_cookie(OAUTH_COOKIE, path),
        ]
        return PageResponse(303, location=f"{request.base_path}/sfdccpq?{target.query()}", cookies=cookies)

    # --- POST /sfdccpq ---------------------------------------------------------------------------
    def push(self, form: dict[str, str], request: HttpRequest) -> PageResponse:
        if request.origin and request.host and request.origin.split("://")[-1] != request.host:
            raise ForbiddenError("This request came from another site; use the button in Salesforce.")
        target = parse_target(form, self._allowed)
        session = self._session(request, target.domain)
        if session is None:
            raise ForbiddenError("Your session expired; open the button in Salesforce again.")
        if not self._sealer.csrf_valid(session, target.record_id, form.get("csrf")):
            raise ForbiddenError("This form is not valid for this record any more; open the button again.")
        try:
            outcome, title = self._push(target, session)
        except LoginRequiredError:
            raise ForbiddenError("Your Salesforce session expired; open the button in Salesforce again.") from None
        return PageResponse(200, render_result(title, outcome))

    def _push(self, target: ButtonTarget, session: UserSession) -> tuple[PushOutcome, str]:
        user = session.user_id
        if target.param == "accountId":
            account = self._web.read_account(session, target.record_id)
            if account is None:
                raise RecordNotVisibleError(target.kind)
            return self._flow.push_account(account, user), account.name
        found = self._web.read_order(session, target.record_id)
        if found is None:
            raise RecordNotVisibleError(target.kind)
        order, account = found
        return self._flow.push_order(order, account, user), f"Order {order.order_number}"

    # --- helpers ---------------------------------------------------------------------------------
    def _session(self, request: HttpRequest, domain: str) -> UserSession | None:
        session = self._sealer.open_session(request.cookies.get(SESSION_COOKIE))
        if session is None or session.domain != domain or session.org_id != self._org_id:
            return None
        return session

    def _preview(self, target: ButtonTarget, session: UserSession) -> str:
        csrf = self._sealer.csrf_token(session, target.record_id)
        form = {"sfdc": target.domain, target.param: target.record_id, "csrf": csrf}
        if target.param == "accountId":
            account = self._web.read_account(session, target.record_id)
            if account is None:
                raise RecordNotVisibleError(target.kind)
            return render_account_preview(self._flow.plan_account(account), form, session)
        found = self._web.read_order(session, target.record_id)
        if found is None:
            raise RecordNotVisibleError(target.kind)
        return render_order_preview(self._flow.plan_order(*found), form, session)

    @staticmethod
    def _cookie_path(request: HttpRequest) -> str:
        return f"{request.base_path}/sfdccpq"


# --- pages --------------------------------------------------------------------------------------


def _account_section(plan: AccountPlan) -> str:
    account, contact = plan.account, plan.account.contact
    billing = account.billing
    address = ", ".join(
        p for p in (billing.street, billing.city, billing.state, billing.postal_code, billing.country) if p
    )
    rows = [
        ("Zuora will", plan.action),
        ("Name", account.name),
        ("Currency", plan.currency),
        ("CRM Account ID", account.account_id),
        ("Bill-to contact", f"{contact.first_name or ''} {contact.last_name}".strip() if contact else None),
        ("Bill-to email", contact.email if contact else None),
        ("Bill-to address", address),
    ]
    return "<h2>Zuora account</h2>" + pages.definition_list(rows, "zuora-account")


def render_account_preview(plan: AccountPlan, form: dict[str, str], session: UserSession) -> str:
    body = (
        pages.problems_box(plan.problems)
        + _account_section(plan)
        + pages.send_form("sfdccpq", form, not plan.problems, "Send to Zuora")
        + f'<p class="muted">Signed in to Salesforce as {pages.e(session.user_name)}.</p>'
    )
    return pages.page(f"Send {plan.account.name} to Zuora", body, "Preview: nothing has been sent yet.")


def render_order_preview(plan: OrderPlan, form: dict[str, str], session: UserSession) -> str:
    order = plan.order
    subscription = pages.definition_list(
        [
            ("Zuora will", "create one subscription"),
            ("Term", plan.term_label),
            ("Start", plan.start.isoformat()),
            ("Order status", order.status),
        ],
        "zuora-subscription",
    )
    lines = pages.table(
        ["Product", "Zuora rate plan", "Quantity", "Start", "Term", "Charge", "Billing"],
        [
            (
                lp.line.product_name,
                lp.line.rate_plan_id,
                f"{lp.line.quantity:g}",
                lp.start,
                lp.term,
                lp.line.charge_type,
                lp.line.billing_frequency,
            )
            for lp in plan.lines
        ],
        "order-lines",
    )
    body = (
        pages.problems_box(plan.problems)
        + _account_section(plan.account_plan)
        + "<h2>Subscription</h2>"
        + subscription
        + lines
        + pages.send_form("sfdccpq", form, not plan.problems, "Send to Zuora")
        + f'<p class="muted">Signed in to Salesforce as {pages.e(session.user_name)}.</p>'
    )
    return pages.page(f"Send Order {order.order_number} to Zuora", body, "Preview: nothing has been sent yet.")


def render_result(title: str, outcome: PushOutcome) -> str:
    numbers = (
        f'<dl id="result-numbers"><dt>Zuora account</dt><dd id="zuora-account-number">'
        f"{pages.e(outcome.zuora_account_number)}</dd>"
    )
    if outcome.order_number:
        numbers += (
            f'<dt>Zuora order</dt><dd id="zuora-order-number">{pages.e(outcome.order_number)}</dd>'
            f'<dt>Subscriptions</dt><dd id="subscription-numbers">'
            f"{pages.e(', '.join(outcome.subscription_numbers))}</dd>"
        )
    numbers += "</dl>"
    if outcome.already_sent:
        sent = outcome.already_sent
        message = f"This Order was already sent to Zuora on {sent.sent_at[:10]}; nothing new was created."
        box = f'<div class="ok" id="result" data-outcome="already-sent"><p>{pages.e(message)}</p>{numbers}</div>'
    else:
        account = f"Zuora account {outcome.zuora_account_number} {outcome.account_action}"
        message = f"Sent to Zuora: {account}" + (", order and subscription created." if outcome.order_number else ".")
        box = f'<div class="ok" id="result" data-outcome="sent"><p>{pages.e(message)}</p>{numbers}</div>'
    return pages.page(f"{title}: sent to Zuora" if not outcome.already_sent else f"{title}: already in Zuora", box)
