"""Every exception the package raises on purpose, and the HTTP status each becomes.

The checkout API maps them to JSON errors in `sfzsync.checkout.http_errors`, the button to HTML pages in
`sfzsync.send_to_zuora.http_errors`; each class's docstring opens with its status. The backfill answers no HTTP: its
two say what the state machine (or the local command) does with them.

    SyncError
    ├── ConfigurationError          500
    ├── SignatureError              401
    ├── InvalidInputError           422  (every bad field, in `problems`)
    ├── RequestTooLargeError        413
    ├── IdempotencyKeyReusedError   422
    ├── AccountConflictError        409
    ├── CustomerBusyError           409 + Retry-After
    ├── UpstreamError               502, 504 on a timeout
    │   └── AllowanceExhaustedError 503 + Retry-After
    ├── StorageTimeoutError         504
    ├── ButtonLinkError             400 (page)
    ├── LoginRequiredError          302 to Salesforce sign-in (a GET) or 403 (a POST)
    ├── LoginRefusedError           400 (page)
    ├── ForbiddenError              403 (page)
    ├── RecordNotVisibleError       404 (page)
    ├── PushBlockedError            409 (page)
    ├── DataQueryFailedError        backfill: the state machine ends in QueryFailed; the command exits 1
    └── BatchIncompleteError        backfill: Step Functions runs the batch again (its Retry), then redrive
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    """One bad field of a request: its dotted path (`order.subscriptions.0.ratePlans.1.productRatePlanId`) and why."""

    field: str
    message: str


class SyncError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(SyncError):
    """500: the environment or the secret is missing something or holds something invalid."""


class SignatureError(SyncError):
    """401: the checkout request's X-Signature is missing, malformed, stale or wrong."""


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


class RequestTooLargeError(SyncError):
    """413: the request body is far larger than any valid checkout."""


class IdempotencyKeyReusedError(SyncError):
    """422: an earlier attempt with this Idempotency-Key carried another body; a retry resumes only its own checkout."""


class AccountConflictError(SyncError):
    """409: the Zuora billing account named in the request is linked to another Salesforce Account."""


class CustomerBusyError(SyncError):
    """409 with Retry-After: another checkout (or push) for the same customer holds its lock."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("another checkout for this customer is in progress")
        self.retry_after_seconds = retry_after_seconds


class UpstreamError(SyncError):
    """502 (504 on a timeout): Salesforce or Zuora refused or failed a call.

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


class AllowanceExhaustedError(UpstreamError):
    """503 with Retry-After: Salesforce's daily API allowance is (nearly) spent; nothing was called."""

    def __init__(self, stage: str, retry_after_seconds: float) -> None:
        super().__init__(
            stage,
            "SALESFORCE_ALLOWANCE_LOW",
            "Salesforce's daily API allowance is nearly spent; calls are paused until it recovers",
            retryable=True,
            retry_after_seconds=retry_after_seconds,
        )


class StorageTimeoutError(SyncError):
    """504: DynamoDB did not answer in time, or no time was left in the invocation for another call to it."""


class ButtonLinkError(SyncError):
    """400 (page): the button URL is not one this deployment serves (unknown org domain, malformed or wrong-type Id)."""


class LoginRequiredError(SyncError):
    """302 to sign-in (GET) or 403 (POST): the user's Salesforce session is missing or expired."""


class LoginRefusedError(SyncError):
    """400 (page): Salesforce refused the authorization code exchange (expired, reused, or PKCE mismatch)."""


class ForbiddenError(SyncError):
    """403 (page): signed in, but not allowed: another org, no session on a POST, or a bad CSRF token."""


class RecordNotVisibleError(SyncError):
    """404 (page): the record does not exist or the signed-in user may not see it."""


class PushBlockedError(SyncError):
    """409 (page): the records changed since the preview and now have a blocking problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class DataQueryFailedError(SyncError):
    """Backfill (no HTTP): Zuora's Data Query job ended failed or cancelled; nothing was linked. The state machine
    ends in its QueryFailed state, the local command exits 1; both say Zuora's reason."""

    def __init__(self, job_id: str, status: str, reason: str | None) -> None:
        super().__init__(f"Data Query job {job_id} {status}: {reason or 'Zuora gave no reason'}")
        self.job_id = job_id
        self.status = status
        self.reason = reason


class BatchIncompleteError(SyncError):
    """Backfill (no HTTP): some accounts of a batch failed in a way a later attempt may get past (rate limits,
    timeouts). The batch's rows are stored; Step Functions runs the batch again (the task's Retry), which writes
    nothing twice; accounts still failing after the last attempt are in the report, and a redrive tries again."""

    def __init__(self, failed: int, reasons: list[str]) -> None:
        super().__init__(f"{failed} account(s) of the batch not done yet: {', '.join(sorted(set(reasons)))}")
        self.failed = failed
        self.reasons = reasons
