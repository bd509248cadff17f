"""The checkout API's resolver and the one place where exceptions become its HTTP answers (the README's
response table): JSON error bodies naming every bad field, `stage` and `retryable` for upstream failures."""

from __future__ import annotations

import math
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from sfzsync.checkout.models import ErrorBody, ErrorDetail
from sfzsync.errors import (
    AccountConflictError,
    AllowanceExhaustedError,
    ConfigurationError,
    CustomerBusyError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    RequestTooLargeError,
    SignatureError,
    UpstreamError,
)
from sfzsync.gateways.dynamodb import STORAGE_TIMEOUTS, caused_by_storage_timeout
from sfzsync.observability import logger, metrics, tracer

NO_STORE = {"Cache-Control": "no-store"}
NO_STORE_HEADER: dict[str, OpenAPIResponseHeader] = {
    "Cache-Control": {"description": "Always `no-store`.", "schema": {"type": "string"}}
}
RETRY_AFTER_HEADER: dict[str, OpenAPIResponseHeader] = {
    "Retry-After": {
        "description": "Seconds to wait before retrying with the same Idempotency-Key.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}


def documented_error(description: str, headers: dict[str, OpenAPIResponseHeader] | None = None) -> OpenAPIResponse:
    """An error response for the OpenAPI document: `ErrorBody` JSON, never cached."""
    return {
        "description": description,
        "headers": {**NO_STORE_HEADER, **(headers or {})},
        "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}},
    }


def error_response(status: int, detail: ErrorDetail, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=ErrorBody(error=detail).model_dump_json(exclude_none=True),
        headers={**NO_STORE, **(headers or {})},
    )


def _field_name(location: Any) -> str:
    parts = [str(part) for part in location]
    return ".".join(parts[1:] if parts and parts[0] == "body" else parts) or "body"


def _field_problem(problem: dict[str, Any]) -> dict[str, str]:
    if problem.get("type") == "json_invalid":
        return {"field": "body", "message": f"not valid JSON: {(problem.get('ctx') or {}).get('error', '')}"}
    return {"field": _field_name(problem.get("loc", ())), "message": str(problem.get("msg", ""))}


def _is_json(content_type: str | None) -> bool:
    """What Powertools parses as JSON: no Content-Type, or application/json (with or without parameters)."""
    return not content_type or content_type.strip().lower().startswith("application/json")


def _unsupported_media_type(content_type: str | None) -> Response[Any]:
    return error_response(
        415,
        ErrorDetail(
            code="unsupported_media_type",
            message=f"Content-Type must be application/json, not {(content_type or '')[:100]!r}",
            fields=[{"field": "Content-Type", "message": "must be application/json"}],
        ),
    )


def _body_problem(status: int, code: str, message: str) -> Response[Any]:
    return error_response(
        status, ErrorDetail(code=code, message=message, fields=[{"field": "body", "message": message}])
    )


def _lacks_idempotency_key(error: RequestValidationError) -> bool:
    return any(
        tuple(p.get("loc", ()))[-1:] == ("idempotency-key",) and p.get("type") == "missing" for p in error.errors()
    )


def _validation_response(error: RequestValidationError, content_type: str | None) -> Response[Any]:
    if not _is_json(content_type):
        return _unsupported_media_type(content_type)
    problems = error.errors()
    fields = [_field_problem(p) for p in problems]
    missing_key = any(tuple(p.get("loc", ()))[-1:] == ("idempotency-key",) for p in problems)
    status = HTTPStatus.BAD_REQUEST if missing_key else HTTPStatus.UNPROCESSABLE_ENTITY
    if missing_key:
        message = "Idempotency-Key header is required (1-255 printable ASCII)"
    elif any(p.get("type") == "json_invalid" for p in problems):
        message = "the request body is not valid JSON"
    else:
        message = "the request body does not match the schema"
    return error_response(status, ErrorDetail(code="invalid_request", message=message, fields=fields))


def register_error_handlers(app: APIGatewayRestResolver, authenticate: Callable[[dict[str, Any]], None]) -> None:
    """Map every domain exception to its response; `authenticate` runs before a schema error is disclosed."""

    def unauthorized(error: SignatureError) -> Response[Any]:
        logger.warning("request signature rejected", extra={"reason": str(error)})
        return error_response(401, ErrorDetail(code="invalid_signature", message=str(error)))

    app.exception_handler(SignatureError)(unauthorized)

    def authenticated(respond: Callable[[], Response[Any]]) -> Response[Any]:
        """What is wrong with a request body is told only to a caller that signed it."""
        try:
            authenticate(app.current_event.raw_event)
        except SignatureError as signature_error:
            return unauthorized(signature_error)
        return respond()

    def content_type() -> str | None:
        return app.current_event.headers.get("content-type")

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported_content_type(_: RequestUnsupportedContentType) -> Response[Any]:
        return authenticated(lambda: _unsupported_media_type(content_type()))

    @app.exception_handler(RequestTooLargeError)
    def _too_large(error: RequestTooLargeError) -> Response[Any]:
        return authenticated(lambda: _body_problem(413, "request_too_large", str(error)))

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(_: UnicodeDecodeError) -> Response[Any]:
        return authenticated(lambda: _body_problem(400, "invalid_request", "the request body is not valid UTF-8"))

    @app.exception_handler(RequestValidationError)
    def _invalid_request(error: RequestValidationError) -> Response[Any]:
        if _lacks_idempotency_key(error) and _is_json(content_type()):
            return _validation_response(error, content_type())  # a missing header discloses nothing: no signature
        return authenticated(lambda: _validation_response(error, content_type()))

    @app.exception_handler(InvalidInputError)
    def _invalid_input(error: InvalidInputError) -> Response[Any]:
        fields = [{"field": problem.field, "message": problem.message} for problem in error.problems]
        message = error.message if len(fields) == 1 else f"{len(fields)} fields cannot be used"
        return error_response(422, ErrorDetail(code="invalid_request", message=message, fields=fields))

    def key_reused(_: Exception) -> Response[Any]:
        return error_response(
            422,
            ErrorDetail(
                code="idempotency_key_reused",
                message="this Idempotency-Key was used with a different body; use a new key for a new checkout",
            ),
        )

    app.exception_handler([IdempotencyValidationError, IdempotencyKeyReusedError])(key_reused)

    @app.exception_handler(AccountConflictError)
    def _account_conflict(error: AccountConflictError) -> Response[Any]:
        return error_response(409, ErrorDetail(code="account_conflict", message=str(error)))

    @app.exception_handler(IdempotencyAlreadyInProgressError)
    def _in_progress(_: IdempotencyAlreadyInProgressError) -> Response[Any]:
        return error_response(
            409,
            ErrorDetail(
                code="in_progress",
                message="a request with this Idempotency-Key is still being processed",
                retryable=True,
            ),
            {"Retry-After": "2"},
        )

    @app.exception_handler(CustomerBusyError)
    def _customer_busy(error: CustomerBusyError) -> Response[Any]:
        return error_response(
            409,
            ErrorDetail(code="customer_busy", message=str(error), retryable=True),
            {"Retry-After": str(error.retry_after_seconds)},
        )

    @app.exception_handler(UpstreamError)
    def _upstream(error: UpstreamError) -> Response[Any]:
        logger.warning(
            "upstream failure",
            extra={
                "stage": error.stage,
                "code": error.code,
                "retryable": error.retryable,
                "timeout": error.timeout,
                "upstream_request_id": error.upstream_request_id,
            },
        )
        tracer.put_annotation("outcome", "upstream_failure")
        tracer.put_annotation("stage", error.stage)
        with single_metric(name="Failures", unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
            metric.add_dimension(name="stage", value=error.stage)
        headers = {}
        if error.retry_after_seconds is not None:
            headers["Retry-After"] = str(max(1, math.ceil(error.retry_after_seconds)))
        return error_response(
            504 if error.timeout else 502,
            ErrorDetail(
                code=error.code,
                message=error.message,
                stage=error.stage,
                retryable=error.retryable,
                upstreamRequestId=error.upstream_request_id,
            ),
            headers,
        )

    @app.exception_handler(AllowanceExhaustedError)
    def _allowance_low(error: AllowanceExhaustedError) -> Response[Any]:
        retry_after = str(max(1, math.ceil(error.retry_after_seconds or 60)))
        return error_response(
            503,
            ErrorDetail(code=error.code, message=error.message, stage=error.stage, retryable=True),
            {"Retry-After": retry_after},
        )

    def storage_timeout(_: Exception) -> Response[Any]:
        logger.warning("dynamodb did not answer in time")
        return error_response(
            504,
            ErrorDetail(
                code="storage_timeout",
                message="the service's own storage did not answer in time; retry with the same Idempotency-Key",
                retryable=True,
            ),
        )

    app.exception_handler(list(STORAGE_TIMEOUTS))(storage_timeout)

    @app.exception_handler(IdempotencyPersistenceLayerError)
    def _idempotency_store(error: IdempotencyPersistenceLayerError) -> Response[Any]:
        """Powertools wraps what DynamoDB raised; a timeout in there is still a timeout."""
        if caused_by_storage_timeout(error):
            return storage_timeout(error)
        return unexpected(error)

    @app.exception_handler(ConfigurationError)
    def _misconfigured(error: ConfigurationError) -> Response[Any]:
        logger.error("configuration error", extra={"reason": str(error)})
        return error_response(
            500, ErrorDetail(code="misconfigured", message="the service is misconfigured; see its logs")
        )

    def unexpected(_: Exception) -> Response[Any]:
        logger.exception("unexpected error")
        return error_response(
            500,
            ErrorDetail(
                code="internal_error",
                message="unexpected error; nothing was stored for this Idempotency-Key, so retrying is safe",
                retryable=True,
            ),
        )

    app.exception_handler(Exception)(unexpected)

    @app.exception_handler(ValueError)
    def _unparsable_body(error: ValueError) -> Response[Any]:
        """Powertools raises a bare ValueError for a multipart body without a boundary: that is a 415."""
        if _is_json(content_type()):
            return unexpected(error)
        return authenticated(lambda: _unsupported_media_type(content_type()))
