"""Domain exceptions; the handlers map them to HTTP responses in one place (`sfzsync.api`)."""

from __future__ import annotations


class SyncError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(SyncError):
    """The environment or the secret is missing something or holds something invalid."""


class InvalidInputError(SyncError):
    """The request is well-formed JSON but a value cannot be used (e.g. an email without a domain)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class SignatureError(SyncError):
    """The checkout request's X-Signature is missing, stale or wrong."""


class CustomerBusyError(SyncError):
    """Another checkout for the same customer holds the per-customer lock."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("another checkout for this customer is in progress")
        self.retry_after_seconds = retry_after_seconds


class UpstreamError(SyncError):
    """Salesforce or Zuora refused or failed a call.

    `stage` names the step (salesforce_lookup, salesforce_create, zuora_lookup, zuora_order, ...),
    `retryable` says whether the same request may succeed later, `timeout` marks a call that
    got no answer in time (the outcome upstream is unknown), `definitive` marks an answer the upstream
    processed and stored (Zuora keeps it under the Idempotency-Key, so a retry needs a fresh key).
    """

    def __init__(
        self,
        stage: str,
        code: str,
        message: str,
        *,
        retryable: bool,
        timeout: bool = False,
        upstream_request_id: str | None = None,
        retry_after_seconds: float | None = None,
        definitive: bool = False,
    ) -> None:
        super().__init__(f"{stage}: {code}: {message}")
        self.stage = stage
        self.code = code
        self.message = message
        self.retryable = retryable
        self.timeout = timeout
        self.upstream_request_id = upstream_request_id
        self.retry_after_seconds = retry_after_seconds
        self.definitive = definitive
