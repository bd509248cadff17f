"""The checkout service as the handler sees it: built once per cold start, idempotent per Idempotency-Key."""

from __future__ import annotations

import base64
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sfzsync.checkout import signature
from sfzsync.checkout.catalog import ProductCatalog
from sfzsync.checkout.flow import CheckoutDependencies, run_checkout
from sfzsync.checkout.models import CheckoutRequest, CheckoutResult, InputRules
from sfzsync.checkout.store import LOCK_REQUEST, CheckoutRecordLayer, DynamoDBCheckoutStore, LockRequest
from sfzsync.clients import Clients, build_clients
from sfzsync.errors import SignatureError, SyncError
from sfzsync.gateways.allowance import ApiAllowance
from sfzsync.gateways.dynamodb import RecordLock, SharedTimestamp
from sfzsync.gateways.salesforce import SalesforceRestGateway
from sfzsync.gateways.transport import RESPONSE_MARGIN_SECONDS, invocation_scope
from sfzsync.gateways.zuora import ZuoraRestGateway
from sfzsync.matching import mask_email, normalise_email
from sfzsync.observability import logger, metrics
from sfzsync.operations.ledger import failure_of
from sfzsync.settings import Settings, SettingsSource

# The error the flow failed with, once in the ledger (the claim's release runs between the flow and the caller).
_RECORDED: ContextVar[BaseException | None] = ContextVar("checkout_failure_recorded", default=None)


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    metrics.add_metric(name="IdempotentReplays", unit=MetricUnit.Count, value=1)
    logger.info("idempotent replay", extra={"idempotency_record_status": idempotent_data.status})
    return response.model_copy(update={"replayed": True})


def build_dependencies(settings: Settings, clients: Clients) -> CheckoutDependencies:
    """The gateways and stores of the flow, from the settings (again after a rotated secret)."""
    runtime, secret = settings.runtime, settings.secret
    allowance = ApiAllowance(
        runtime.salesforce_api_floor_percent,
        runtime.salesforce_allowance_cooldown_seconds,
        SharedTimestamp(clients.dynamodb, runtime.idempotency_table, "salesforce-api-allowance"),
    )
    zuora = ZuoraRestGateway(secret.zuora, clients.http)
    return CheckoutDependencies(
        salesforce=SalesforceRestGateway(secret.salesforce, clients.http, allowance),
        zuora=zuora,
        catalog=ProductCatalog(zuora.get_rate_plan),
        store=DynamoDBCheckoutStore(clients.dynamodb, runtime.idempotency_table),
        rules=tuple(secret.matching.rules),
        domain_field=secret.matching.domainField,
        account_defaults=dict(secret.accountDefaults),
        lock_wait_seconds=runtime.lock_wait_seconds,
    )


class CheckoutService:
    """Signature check and the idempotent checkout flow over clients that live as long as the container."""

    def __init__(
        self, settings: Settings, clients: Clients, deps: CheckoutDependencies, source: SettingsSource | None = None
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.deps = deps
        self._source = source
        self.idempotency_config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="body",
            expires_after_seconds=settings.runtime.idempotency_expiry_seconds,
            response_hook=_mark_replayed,
        )
        table = settings.runtime.idempotency_table
        persistence = CheckoutRecordLayer(clients.dynamodb, table, RecordLock(clients.dynamodb, table))
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
        source = SettingsSource()
        settings = source.load()
        clients = build_clients(settings)
        return cls(settings, clients, build_dependencies(settings, clients), source)

    @property
    def input_rules(self) -> InputRules:
        return InputRules(email_internationalization=self.settings.secret.salesforce.emailInternationalization)

    def refresh(self) -> None:
        """Pick up a rotated secret (signing secrets, client secrets) without a cold start."""
        changed = self._source.changed(self.settings) if self._source else None
        if changed is not None:
            self.settings, self.deps = changed, build_dependencies(changed, self.clients)

    def forget_connections_and_tokens(self) -> None:
        """SnapStart, before the snapshot and after each restore: no pooled connection (its socket does not survive a
        restore) and no access token (every environment restored from the snapshot would share it) is kept."""
        self.clients.http.close()
        self.deps = build_dependencies(self.settings, self.clients)

    def after_restore(self) -> None:
        """SnapStart: the secret read again (it may have rotated since the snapshot), then no connection or token."""
        if self._source is not None:
            self.settings = self._source.load()
        self.forget_connections_and_tokens()

    def verify_signature(self, event: Any) -> None:
        """Check X-Signature against the Idempotency-Key and raw body of an API Gateway proxy event."""
        self.refresh()
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
        customer = normalise_email(request.customer.email).address.lower()
        with invocation_scope(remaining, request_id):
            # The claim of the record takes the customer's lock in the same write (see checkout.store).
            lock_request = LOCK_REQUEST.set(LockRequest(customer, idempotency_key, self.deps.lock_wait_seconds))
            try:
                result: CheckoutResult = self._checkout(payload=payload, request=request)
            except IdempotencyPersistenceLayerError as error:
                flow_error = _RECORDED.get()
                if isinstance(flow_error, Exception):  # the flow failed, then giving its claim up failed too
                    logger.warning(
                        "claim not given up after a failure", extra={"reason": type(error.__cause__).__name__}
                    )
                    raise flow_error from error
                cause = error.__cause__
                failure = cause if isinstance(cause, SyncError) else error  # e.g. the customer busy: 409, not 500
                if _RECORDED.get() not in (error, cause):
                    self._record(failure, request, idempotency_key)
                raise failure from error
            except Exception as error:
                if _RECORDED.get() not in (error, error.__cause__):  # failed around the flow (e.g. the claim)
                    self._record(error, request, idempotency_key)
                raise
            finally:
                _RECORDED.set(None)
                LOCK_REQUEST.reset(lock_request)
        return result

    def _record(self, error: Exception, request: CheckoutRequest, idempotency_key: str) -> None:
        failure = failure_of(error)
        if failure is not None:
            self.deps.store.record_failure(idempotency_key, failure, mask_email(request.customer.email.strip()))
        _RECORDED.set(error)

    def _run(self, payload: dict[str, Any], request: CheckoutRequest) -> CheckoutResult:
        try:
            return run_checkout(request, payload["key"], self.deps)
        except Exception as error:  # recorded here, before Powertools gives the claim up, so the record says so
            self._record(error, request, payload["key"])
            raise
