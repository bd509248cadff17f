"""The one place where domain exceptions become HTTP responses (SPEC §4 error contract)."""

from __future__ import annotations

import math
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from .errors import ConfigurationError, CustomerBusyError, InvalidInputError, SignatureError, UpstreamError
from .models import ErrorBody, ErrorDetail

logger = Logger(child=True)
metrics = Metrics()
tracer = Tracer()

NO_STORE = {"Cache-Control": "no-store"}


def error_response(status: int, detail: ErrorDetail, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=ErrorBody(error=detail).model_dump_json(exclude_none=True),
        headers={**NO_STORE, **(headers or {})},
    )


def _field_name(location: Any) -> str:
    parts = [str(part) for part in location]
    return ".".join(parts[1:] if parts and parts[0] == "body" else parts)


def register_error_handlers(app: APIGatewayRestResolver, authenticate: Callable[[dict[str, Any]], None]) -> None:
    """Map every domain exception to its response; `authenticate` runs before a schema error is disclosed."""

    def unauthorized(error: SignatureError) -> Response[Any]:
        logger.warning("request signature rejected", extra={"reason": str(error)})
        return error_response(401, ErrorDetail(code="invalid_signature", message=str(error)))

    app.exception_handler(SignatureError)(unauthorized)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(error: RequestValidationError) -> Response[Any]:
        try:
            authenticate(app.current_event.raw_event)
        except SignatureError as signature_error:
            return unauthorized(signature_error)
        problems = error.errors()
        fields = [{"field": _field_name(p.get("loc", ())), "message": str(p.get("msg", ""))} for p in problems]
        missing_key = any(tuple(p.get("loc", ()))[-1:] == ("idempotency-key",) for p in problems)
        status = HTTPStatus.BAD_REQUEST if missing_key else HTTPStatus.UNPROCESSABLE_ENTITY
        message = (
            "Idempotency-Key header is required (1-255 printable ASCII)"
            if missing_key
            else "the request body does not match the schema"
        )
        return error_response(status, ErrorDetail(code="invalid_request", message=message, fields=fields))

    @app.exception_handler(InvalidInputError)
    def _invalid_input(error: InvalidInputError) -> Response[Any]:
        return error_response(
            400,
            ErrorDetail(
                code="invalid_request", message=error.message, fields=[{"field": error.field, "message": error.message}]
            ),
        )

    @app.exception_handler(IdempotencyValidationError)
    def _key_reused(_: IdempotencyValidationError) -> Response[Any]:
        return error_response(
            422,
            ErrorDetail(
                code="idempotency_key_reused",
                message="this Idempotency-Key was used with a different body; use a new key for a new checkout",
            ),
        )

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

    @app.exception_handler(ConfigurationError)
    def _misconfigured(error: ConfigurationError) -> Response[Any]:
        logger.error("configuration error", extra={"reason": str(error)})
        return error_response(
            500, ErrorDetail(code="misconfigured", message="the service is misconfigured; see its logs")
        )

    @app.exception_handler(Exception)
    def _unexpected(_: Exception) -> Response[Any]:
        logger.exception("unexpected error")
        return error_response(
            500,
            ErrorDetail(
                code="internal_error",
                message="unexpected error; nothing was stored for this Idempotency-Key, so retrying is safe",
                retryable=True,
            ),
        )
