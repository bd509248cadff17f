"""Domain exceptions; the handlers map them to HTTP responses in one place (`sfzsync.api`)."""

from __future__ import annotations

from dataclasses import dataclass


class SyncError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(SyncError):
    """The environment or the secret is missing something or holds something invalid."""


@dataclass(frozen=True)
class FieldProblem:
    """One bad field of a request: its dotted path (`order.subscriptions.0.ratePlans.1.productRatePlanId`) and why."""

    field: str
    message: str


class InvalidInputError(SyncError):
    """422: the body is valid JSON but values cannot be used; `problems` names every bad field found."""

    def __init__(self, field: str, message: str, *more: FieldProblem) -> None:
        self.problems = (FieldProblem(field, message), *more)
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in self.problems))
        self.field = field
        self.message = message

    @classmethod
    def of(cls, problems: list[FieldProblem]) -> InvalidInputError:
        first, *rest = problems
        return cls(first.field, first.message, *rest)


class IdempotencyKeyReusedError(SyncError):
    """422: an earlier attempt with this Idempotency-Key carried another body; a retry resumes only its own checkout."""


class AccountConflictError(SyncError):
    """409: the Zuora billing account named in the request is linked to another Salesforce Account."""


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
