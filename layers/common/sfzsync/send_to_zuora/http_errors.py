"""The one place where the button's exceptions become HTML pages (never JSON, never a stack trace)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader

from sfzsync.errors import (
    ButtonLinkError,
    CustomerBusyError,
    ForbiddenError,
    LoginRefusedError,
    PushBlockedError,
    RecordNotVisibleError,
    UpstreamError,
)
from sfzsync.gateways.dynamodb import STORAGE_TIMEOUTS
from sfzsync.observability import count, logger
from sfzsync.send_to_zuora import views

HTML = "text/html; charset=utf-8"
REDIRECT_HEADERS: dict[str, OpenAPIResponseHeader] = {
    "Location": {"description": "Where the browser goes next.", "schema": {"type": "string"}},
    "Set-Cookie": {
        "description": "Sign-in state or session (HttpOnly; Secure; SameSite=Lax).",
        "schema": {"type": "string"},
    },
}
RETRY_AFTER_HEADER: dict[str, OpenAPIResponseHeader] = {
    "Retry-After": {"description": "Seconds to wait before opening the button again.", "schema": {"type": "string"}}
}


def documented_page(description: str, headers: dict[str, OpenAPIResponseHeader] | None = None) -> OpenAPIResponse:
    """A response for the OpenAPI document: an HTML page (empty for a redirect), never cached."""
    return {
        "description": description,
        "headers": {
            "Cache-Control": {"description": "Always `no-store`.", "schema": {"type": "string"}},
            **(headers or {}),
        },
        "content": {"text/html": {"schema": {"type": "string"}}},
    }


def html_response(status: int, html: str, headers: dict[str, Any] | None = None) -> Response[str]:
    return Response(status_code=status, content_type=HTML, body=html, headers={**views.PAGE_HEADERS, **(headers or {})})


def register_page_error_handlers(app: APIGatewayRestResolver) -> None:
    def bad_url(_: Exception) -> Response[str]:
        return html_response(
            400,
            views.error_page(
                "This link is not valid",
                "The button URL is malformed.",
                "Check the Send to Zuora button's URL in Salesforce Setup.",
            ),
        )

    app.exception_handler([RequestValidationError, RequestUnsupportedContentType])(bad_url)

    @app.exception_handler(ButtonLinkError)
    def _bad_button(error: ButtonLinkError) -> Response[str]:
        return html_response(400, views.error_page("This link is not valid", str(error)))

    @app.exception_handler(LoginRefusedError)
    def _login_refused(error: LoginRefusedError) -> Response[str]:
        return html_response(400, views.error_page("Salesforce sign-in failed", str(error)))

    @app.exception_handler(ForbiddenError)
    def _forbidden(error: ForbiddenError) -> Response[str]:
        logger.warning("button request refused", extra={"reason": str(error)})
        return html_response(403, views.error_page("Not allowed", str(error)))

    @app.exception_handler(RecordNotVisibleError)
    def _not_visible(error: RecordNotVisibleError) -> Response[str]:
        return html_response(
            404,
            views.error_page(
                f"{error} not available",
                f"This {error} does not exist, or your Salesforce user may not see it.",
                "Nothing was sent to Zuora. Ask your Salesforce admin for access to the record.",
            ),
        )

    @app.exception_handler(PushBlockedError)
    def _blocked(error: PushBlockedError) -> Response[str]:
        items = "".join(f"<li>{views.e(p)}</li>" for p in error.problems)
        body = f'<div class="error" id="error"><p>Nothing was sent to Zuora.</p><ul>{items}</ul></div>'
        return html_response(409, views.page("Cannot send yet", body))

    @app.exception_handler(CustomerBusyError)
    def _busy(_: CustomerBusyError) -> Response[str]:
        return html_response(
            409,
            views.error_page(
                "Already being sent",
                "Another push of this record is running right now.",
                "Wait a few seconds and open the button again to see its result.",
            ),
            {"Retry-After": "3"},
        )

    def count_failed_push() -> None:
        if app.current_event.http_method == "POST":  # a push, not a preview or the sign-in
            count("PushFailures")

    @app.exception_handler(UpstreamError)
    def _upstream(error: UpstreamError) -> Response[str]:
        count_failed_push()
        logger.warning(
            "upstream failure",
            extra={"stage": error.stage, "code": error.code, "upstream_request_id": error.upstream_request_id},
        )
        system = "Zuora" if error.stage.startswith("zuora") else "Salesforce"
        hint = (
            "This is temporary: try again in a minute; nothing is sent twice."
            if error.retryable
            else f"Fix the record (or the mapping) as {system} says, then press the button again."
        )
        reference = f" (reference {error.upstream_request_id})" if error.upstream_request_id else ""
        return html_response(
            504 if error.timeout else 502,
            views.error_page(
                f"{system} did not accept this", f"{system} answered: {error.code}: {error.message}{reference}", hint
            ),
        )

    @app.exception_handler(list(STORAGE_TIMEOUTS))
    def _storage_timeout(_: Exception) -> Response[str]:
        count_failed_push()
        logger.warning("dynamodb did not answer in time")
        return html_response(
            504,
            views.error_page(
                "This took too long",
                "The service's own storage did not answer in time; nothing was sent twice.",
                "This is temporary: open the button again in a minute.",
            ),
        )

    def unexpected(_: Exception) -> Response[str]:
        count_failed_push()
        logger.exception("unexpected error")
        return html_response(
            500,
            views.error_page(
                "Something went wrong",
                "An unexpected error happened; nothing more than what the page said before was sent to Zuora.",
                "Try again; if it persists, send the time to your admin.",
            ),
        )

    app.exception_handler(Exception)(unexpected)

    @app.exception_handler(ValueError)
    def _unparsable_form(error: ValueError) -> Response[str]:
        """Powertools raises a bare ValueError for a multipart body without a boundary: a bad form, not a bug."""
        if (app.current_event.headers.get("content-type") or "").strip().startswith("multipart/"):
            return bad_url(error)
        return unexpected(error)
