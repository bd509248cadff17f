"""Checkout API (`POST /orders`): match or create the Salesforce Account, then create the Zuora order."""

import warnings
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sfzsync.checkout.http_errors import (
    NO_STORE,
    NO_STORE_HEADER,
    RETRY_AFTER_HEADER,
    documented_error,
    register_error_handlers,
)
from sfzsync.checkout.models import CheckoutRequest, CheckoutResult
from sfzsync.checkout.resolver import CheckoutResolver, read_json_body
from sfzsync.checkout.service import CheckoutService
from sfzsync.observability import logger, metrics, tracer
from sfzsync.snapstart import register_snapshot_hooks

# A request that fails before any business metric still flushes; that is expected, not worth a warning.
warnings.filterwarnings("ignore", "No application metrics to publish")
service = CheckoutService.from_environment()
app = CheckoutResolver(lambda: service.input_rules, enable_validation=True, json_body_deserializer=read_json_body)
register_error_handlers(app, authenticate=service.verify_signature)
register_snapshot_hooks(service.forget_connections_and_tokens, service.after_restore)

IdempotencyKey = Annotated[
    str,
    Header(
        alias="idempotency-key",
        pattern=r"^[\x21-\x7e]{1,255}$",
        description="The checkout's own unique id (1-255 printable ASCII).",
    ),
]
Signature = Annotated[
    str | None,
    Header(
        alias="x-signature",
        description='t=<unix seconds>,v1=<hex HMAC-SHA256(signing secret, "<t>.<Idempotency-Key>.<raw body>")>',
    ),
]


@app.post(
    "/orders",
    summary="Link the customer in Salesforce and create the Zuora order",
    description="Called by the merchant's checkout backend right before it confirms the order. "
    "Retrying with the same Idempotency-Key after any error finishes the same checkout.",
    responses={
        201: {
            "description": "Order created, or the stored response of an earlier request with this key and body",
            "headers": {
                **NO_STORE_HEADER,
                "Idempotent-Replayed": {"description": "`true` on a replay", "schema": {"type": "string"}},
            },
            "content": {content_types.APPLICATION_JSON: {"model": CheckoutResult}},
        },
        400: documented_error("Missing or malformed Idempotency-Key, or a body that is not UTF-8"),
        401: documented_error("Missing, stale or wrong X-Signature"),
        409: documented_error(
            "The key is still in progress, or another checkout holds this customer's lock (both with Retry-After); "
            "or `account_conflict`: the named zuoraAccountNumber is linked to another Salesforce Account",
            RETRY_AFTER_HEADER,
        ),
        413: documented_error("The body is over 256 KiB"),
        415: documented_error("The Content-Type is not application/json"),
        422: documented_error(
            "The body cannot be used (every bad field named: schema, lengths, the catalog, the named billing account), "
            "or the key came with another body"
        ),
        500: documented_error("Misconfigured or unexpected; nothing was stored, so retrying is safe"),
        502: documented_error("Salesforce or Zuora failed (`stage` says where)", RETRY_AFTER_HEADER),
        504: documented_error("Salesforce or Zuora timed out (`stage` says where)"),
    },
)
def create_order(
    order: CheckoutRequest, idempotency_key: IdempotencyKey, x_signature: Signature = None
) -> Response[CheckoutResult]:
    service.verify_signature(app.current_event.raw_event)
    result = service.checkout(order, idempotency_key, app.lambda_context, app.current_event.request_context.request_id)
    headers = {**NO_STORE, **({"Idempotent-Replayed": "true"} if result.replayed else {})}
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=result, headers=headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
