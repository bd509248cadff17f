"""Send to Zuora button (`/sfdccpq`): sign the user in to Salesforce, preview the record, push it on POST."""

import warnings
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Form, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sfzsync.observability import logger, metrics, tracer
from sfzsync.send_to_zuora.cookies import read_cookies
from sfzsync.send_to_zuora.http_errors import (
    REDIRECT_HEADERS,
    RETRY_AFTER_HEADER,
    documented_page,
    html_response,
    register_page_error_handlers,
)
from sfzsync.send_to_zuora.service import HttpRequest, PageResponse, SendToZuoraService
from sfzsync.snapstart import register_snapshot_hooks

# A request that fails before any business metric still flushes; that is expected, not worth a warning.
warnings.filterwarnings("ignore", "No application metrics to publish")
app = APIGatewayRestResolver(enable_validation=True)
service = SendToZuoraService.from_environment()
register_page_error_handlers(app)
register_snapshot_hooks(service.forget_connections_and_tokens, service.after_restore)

Param = Annotated[str | None, Query(max_length=255)]
FormField = Annotated[str | None, Form(max_length=255)]
BAD_LINK = documented_page("The link or form is malformed, or points at an org or record this service does not serve")
FAILED = {
    500: documented_page("Unexpected error"),
    502: documented_page("Salesforce or Zuora refused the call"),
    504: documented_page("Salesforce or Zuora did not answer in time"),
}


def _request() -> HttpRequest:
    event = app.current_event
    context = event.request_context
    full_path = context.path or f"/{context.stage}{event.path}"
    base = full_path[: -len(event.path)] if full_path.endswith(event.path) else f"/{context.stage}"
    fallback = f"https://{context.domain_name}{base}/sfdccpq/callback"
    return HttpRequest(
        base_path=base,
        callback_url=service.callback_url(fallback),
        cookies=read_cookies(event.headers.get("cookie")),
        origin=event.headers.get("origin"),
        host=event.headers.get("host"),
    )


def _respond(page: PageResponse) -> Response[str]:
    headers: dict[str, Any] = {}
    if page.location:
        headers["Location"] = page.location
    if page.cookies:
        headers["Set-Cookie"] = page.cookies
    return html_response(page.status, page.html or "", headers)


def _scope() -> Any:
    return service.scope(
        app.lambda_context.get_remaining_time_in_millis() / 1000, app.current_event.request_context.request_id
    )


@app.get(
    "/sfdccpq",
    summary="Open the button: sign in to Salesforce if needed, then preview the record",
    responses={
        200: documented_page("Preview of what Zuora will get, with the Send to Zuora form"),
        302: documented_page("Not signed in: redirect to Salesforce sign-in (OAuth 2.0 with PKCE)", REDIRECT_HEADERS),
        400: BAD_LINK,
        404: documented_page("The record does not exist or the user may not see it"),
        **FAILED,
    },
)
def open_button(sfdc: Param = None, accountId: Param = None, orderId: Param = None) -> Response[str]:
    with _scope():
        return _respond(
            service.open({"sfdc": sfdc or "", "accountId": accountId or "", "orderId": orderId or ""}, _request())
        )


@app.get(
    "/sfdccpq/callback",
    summary="Salesforce OAuth callback (authorization code + PKCE)",
    responses={
        303: documented_page("Signed in: back to the button URL with a session cookie", REDIRECT_HEADERS),
        400: documented_page("Sign-in refused, expired, or not started here"),
        403: documented_page("Signed in to an org this service does not serve"),
        **FAILED,
    },
)
def oauth_callback(code: Param = None, state: Param = None, error: Param = None) -> Response[str]:
    with _scope():
        return _respond(service.callback({"code": code or "", "state": state or "", "error": error or ""}, _request()))


@app.post(
    "/sfdccpq",
    summary="Push the previewed record to Zuora (CSRF-protected form post)",
    responses={
        200: documented_page(
            "Result: the Zuora account, order and subscription numbers (and whether Salesforce got them back)"
        ),
        400: BAD_LINK,
        403: documented_page(
            "No session, another site, a CSRF token not valid for this record, or a user who may not send it "
            "(no edit access to the record, or not the configured Custom Permission)"
        ),
        404: documented_page("The record does not exist or the user may not see it"),
        409: documented_page("Blocked by a problem to fix in Salesforce, or already being sent", RETRY_AFTER_HEADER),
        **FAILED,
    },
)
def push(
    sfdc: FormField = None,
    accountId: FormField = None,
    orderId: FormField = None,
    csrf: FormField = None,
) -> Response[str]:
    form = {"sfdc": sfdc or "", "accountId": accountId or "", "orderId": orderId or "", "csrf": csrf or ""}
    with _scope():
        return _respond(service.push(form, _request()))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
