"""The checkout service as the handler sees it: built once per cold start, idempotent per Idempotency-Key."""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sfzsync.checkout import signature
from sfzsync.checkout.catalog import ProductCatalog
from sfzsync.checkout.flow import CheckoutDependencies, run_checkout
from sfzsync.checkout.models import CheckoutRequest, CheckoutResult, InputRules
from sfzsync.checkout.store import DynamoDBCheckoutStore
from sfzsync.clients import build_clients
from sfzsync.errors import SignatureError
from sfzsync.gateways.salesforce import SalesforceRestGateway
from sfzsync.gateways.transport import RESPONSE_MARGIN_SECONDS, invocation_scope
from sfzsync.observability import logger, metrics
from sfzsync.settings import Settings, load_settings


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    metrics.add_metric(name="IdempotentReplays", unit=MetricUnit.Count, value=1)
    logger.info("idempotent replay", extra={"idempotency_record_status": idempotent_data.status})
    return response.model_copy(update={"replayed": True})


class CheckoutService:
    """Signature check and the idempotent checkout flow over clients that live as long as the container."""

    def __init__(self, settings: Settings, deps: CheckoutDependencies, dynamodb: Any) -> None:
        self.settings = settings
        self.deps = deps
        self.input_rules = InputRules(email_internationalization=settings.secret.salesforce.emailInternationalization)
        self.idempotency_config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="body",
            expires_after_seconds=settings.runtime.idempotency_expiry_seconds,
            response_hook=_mark_replayed,
        )
        persistence = DynamoDBPersistenceLayer(table_name=settings.runtime.idempotency_table, boto3_client=dynamodb)
        self._checkout = idempotent_function(
            self._run,
            data_keyword_argument="payload",
            persistence_store=persistence,
            config=self.idempotency_config,
            output_serializer=PydanticSerializer(model=CheckoutResult),
            key_prefix="checkout",
        )

    @classmethod
    def from_environment(cls) -> CheckoutService:
        """Cold start: validate configuration and build the clients once."""
        settings = load_settings()
        runtime, secret = settings.runtime, settings.secret
        clients = build_clients(settings)
        deps = CheckoutDependencies(
            salesforce=SalesforceRestGateway(secret.salesforce, clients.http),
            zuora=clients.zuora,
            catalog=ProductCatalog(clients.zuora.get_rate_plan),
            store=DynamoDBCheckoutStore(clients.dynamodb, runtime.idempotency_table),
            rules=tuple(secret.matching.rules),
            domain_field=secret.matching.domainField,
            account_defaults=dict(secret.accountDefaults),
            lock_wait_seconds=runtime.lock_wait_seconds,
        )
        return cls(settings, deps, clients.dynamodb)

    def verify_signature(self, event: Any) -> None:
        """Check X-Signature against the Idempotency-Key and raw body of an API Gateway proxy event."""
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(body).decode("utf-8", errors="replace")
            except ValueError:
                raise SignatureError("the request body is not valid base64") from None
        headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
        checkout = self.settings.secret.checkout
        signature.verify(
            [secret.get_secret_value() for secret in checkout.signingSecrets],
            str(headers.get("idempotency-key") or ""),
            body,
            headers.get("x-signature"),
            tolerance_seconds=checkout.signatureToleranceSeconds,
        )

    def checkout(
        self, request: CheckoutRequest, idempotency_key: str, context: LambdaContext, request_id: str | None
    ) -> CheckoutResult:
        """Run the flow once per key: a stored result comes back with `replayed` set."""
        self.idempotency_config.register_lambda_context(context)
        remaining = context.get_remaining_time_in_millis() / 1000 - RESPONSE_MARGIN_SECONDS
        payload = {"key": idempotency_key, "body": request.model_dump(mode="json")}
        with invocation_scope(remaining, request_id):
            result: CheckoutResult = self._checkout(payload=payload, request=request)
        return result

    def _run(self, payload: dict[str, Any], request: CheckoutRequest) -> CheckoutResult:
        return run_checkout(request, payload["key"], self.deps)
