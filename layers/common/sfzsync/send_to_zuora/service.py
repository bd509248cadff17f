"""The Send to Zuora button as a web app: validate the URL, sign the user in (PKCE), preview, push on POST."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from sfzsync.clients import Clients, build_clients
from sfzsync.errors import (
    ConfigurationError,
    ForbiddenError,
    LoginRefusedError,
    LoginRequiredError,
    RecordNotVisibleError,
)
from sfzsync.gateways.salesforce import SalesforceRestGateway
from sfzsync.gateways.salesforce_user import SalesforceUserGateway, SalesforceWebGateway
from sfzsync.gateways.transport import RESPONSE_MARGIN_SECONDS, invocation_scope
from sfzsync.ids import to_18
from sfzsync.observability import logger
from sfzsync.operations.ledger import failure_of
from sfzsync.send_to_zuora.cookies import (
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
from sfzsync.send_to_zuora.flow import SendToZuoraFlow
from sfzsync.send_to_zuora.plans import PushOutcome
from sfzsync.send_to_zuora.store import DynamoDBPushStore, PushStore
from sfzsync.send_to_zuora.target import ButtonTarget, parse_target
from sfzsync.send_to_zuora.views import render_account_preview, render_order_preview, render_result
from sfzsync.settings import Settings, SettingsSource


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


@dataclass(frozen=True)
class ButtonParts:
    """What the button builds from one version of the settings (again after a rotated secret)."""

    org_id: str
    allowed_domains: list[str]
    sealer: CookieSealer
    salesforce: SalesforceUserGateway
    flow: SendToZuoraFlow
    store: PushStore


def build_parts(settings: Settings, clients: Clients) -> ButtonParts:
    """The button's gateways and flow over the container's clients; refuses settings the button cannot run on."""
    runtime, secret = settings.runtime, settings.secret
    org, send = secret.salesforce, secret.sendToZuora
    if send.sessionKey is None or len(send.sessionKey.get_secret_value()) < 32:
        raise ConfigurationError("sendToZuora.sessionKey must hold at least 32 random characters")
    if not org.orgId or not org.allowedDomains:
        raise ConfigurationError("salesforce.orgId and salesforce.allowedDomains are required for the button")
    store = DynamoDBPushStore(clients.dynamodb, runtime.idempotency_table)
    flow = SendToZuoraFlow(
        clients.zuora,
        store,
        send,
        to_18(org.orgId),
        SalesforceRestGateway(org, clients.http),  # the write-back, as the integration user
        lock_wait_seconds=runtime.lock_wait_seconds * 2,
    )
    sealer = CookieSealer(send.sessionKey.get_secret_value())
    user_gateway = SalesforceWebGateway(org, clients.http, send)
    return ButtonParts(to_18(org.orgId), org.allowedDomains, sealer, user_gateway, flow, store)


class SendToZuoraService:
    """Built once per cold start; each method turns one browser request into one page or redirect."""

    def __init__(
        self,
        settings: Settings,
        parts: ButtonParts,
        rebuild: Callable[[Settings], ButtonParts] | None = None,
        source: SettingsSource | None = None,
    ) -> None:
        self._settings = settings
        self._parts = parts
        self._rebuild = rebuild
        self._source = source

    @property
    def _org_id(self) -> str:
        return self._parts.org_id

    @property
    def _allowed(self) -> list[str]:
        return self._parts.allowed_domains

    @property
    def _sealer(self) -> CookieSealer:
        return self._parts.sealer

    @property
    def _salesforce(self) -> SalesforceUserGateway:
        return self._parts.salesforce

    @property
    def _flow(self) -> SendToZuoraFlow:
        return self._parts.flow

    @classmethod
    def from_environment(cls) -> SendToZuoraService:
        """Cold start: validate configuration and build the clients once."""
        source = SettingsSource()
        settings = source.load()
        clients = build_clients(settings)
        return cls(settings, build_parts(settings, clients), lambda s: build_parts(s, clients), source)

    def refresh(self) -> None:
        """Pick up a rotated secret (client secrets, session key, button settings) without a cold start."""
        changed = self._source.changed(self._settings) if self._source else None
        if changed is None or self._rebuild is None:
            return
        try:
            parts = self._rebuild(changed)
        except ConfigurationError as exc:  # the settings that worked a moment ago still do
            logger.warning("rotated secret not usable by the button; keeping the last", extra={"reason": str(exc)})
            return
        self._settings, self._parts = changed, parts

    def forget_connections_and_tokens(self) -> None:
        """SnapStart, before the snapshot and after each restore: new clients and gateways, so no pooled connection
        (its socket does not survive a restore) and no access token (every restored environment would share it)."""
        clients = build_clients(self._settings)
        self._parts = build_parts(self._settings, clients)
        self._rebuild = lambda settings: build_parts(settings, clients)

    def after_restore(self) -> None:
        """SnapStart: the secret read again (it may have rotated since the snapshot), then no connection or token."""
        if self._source is not None:
            self._settings = self._source.load()
        self.forget_connections_and_tokens()

    def callback_url(self, fallback: str) -> str:
        return self._settings.secret.sendToZuora.callbackUrl or fallback

    def scope(self, remaining_seconds: float, track_id: str | None) -> AbstractContextManager[None]:
        """Outbound calls inside are bounded by the invocation's remaining time and tagged with its request id."""
        self.refresh()
        self._parts.store.begin_push()
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
        location = self._salesforce.authorize_url(
            target.domain, request.callback_url, self._sealer.sign_state(login.nonce), challenge
        )
        cookie = set_cookie(OAUTH_COOKIE, self._sealer.seal_login(login), OAUTH_SECONDS, self._cookie_path(request))
        return PageResponse(302, location=location, cookies=[cookie])

    # --- GET /sfdccpq/callback -------------------------------------------------------------------
    def callback(self, params: dict[str, str], request: HttpRequest) -> PageResponse:
        if params.get("error"):  # Salesforce's own code, or anybody's text: never shown back
            logger.info("sign-in not completed", extra={"oauth_error": params["error"][:64]})
            raise LoginRefusedError("Salesforce sign-in did not complete; open the button again.")
        login = self._sealer.open_login(request.cookies.get(OAUTH_COOKIE))
        nonce = self._sealer.state_nonce(params.get("state"))
        if login is None or nonce is None or nonce != login.nonce or not params.get("code"):
            raise LoginRefusedError("This sign-in was not started here or has expired; open the button again.")
        identity, token, instance_url = self._salesforce.sign_in(
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
        store = self._parts.store
        try:
            outcome, title = self._push(target, session)
        except LoginRequiredError:
            raise ForbiddenError("Your Salesforce session expired; open the button in Salesforce again.") from None
        except Exception as error:
            failure = failure_of(error)
            if failure is not None:
                store.record_failure(self._org_id, target.record_id, failure)
            raise
        store.resolve_failure(self._org_id, target.record_id)
        return PageResponse(200, render_result(title, outcome))

    def _push(self, target: ButtonTarget, session: UserSession) -> tuple[PushOutcome, str]:
        user = session.user_id
        if target.param == "accountId":
            account = self._salesforce.read_account(session, target.record_id)
            if account is None:
                raise RecordNotVisibleError(target.kind)
            return self._flow.push_account(account, user), account.name
        found = self._salesforce.read_order(session, target.record_id)
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
            account = self._salesforce.read_account(session, target.record_id)
            if account is None:
                raise RecordNotVisibleError(target.kind)
            return render_account_preview(self._flow.plan_account(account), form, session)
        found = self._salesforce.read_order(session, target.record_id)
        if found is None:
            raise RecordNotVisibleError(target.kind)
        return render_order_preview(self._flow.plan_order(*found), form, session)

    @staticmethod
    def _cookie_path(request: HttpRequest) -> str:
        return "/"  # the `__Host-` prefix: Secure, no Domain, Path=/ (RFC 6265bis "The __Host- Prefix")
