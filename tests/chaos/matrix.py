"""The fault matrix: every outbound call of both flows crossed with every fault the sandbox can inject.

A cell is (call, fault). `not_applicable` names, with the reason, the cells that cannot happen; every other
cell runs. `expected` is the first answer a cell must get (the README's response table: 502 with `retryable` by
status or Zuora category, 504 on a timeout; the button answers HTML pages with the same statuses). After it, the caller
retries with the same Idempotency-Key (or presses the button again) with the fault cleared, until it succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.aws_proxy import DYNAMODB, dynamodb_error
from sandbox.core import Fault
from sandbox.zuora import zuora_failure

TIMEOUT_DELAY = 1.0  # what a "timeout" fault sleeps; the handlers under test read with a 0.5 s timeout
COMPOSITE = r"^/services/data/v[0-9.]+/composite$"
QUERY = r"^/object-query/accounts$"
CATALOG = r"^/object-query/product-rate-plans/[^/]+$"
ACCOUNT = r"^/v1/accounts/[^/]+$"


@dataclass(frozen=True)
class Call:
    """One outbound call: where a fault is injected and how the flow reaches it."""

    flow: str  # "checkout" (POST /orders) or "push" (the Send to Zuora button, an Order)
    name: str
    system: str  # "salesforce", "zuora" or "dynamodb" (through the fault proxy in front of moto)
    role: str  # "token", "read" or "write"
    path: str
    method: str | None = None
    match: str | None = None  # regex on the request body
    stage: str | None = None  # the checkout error's `stage` when this call fails
    named_account: bool = False  # the checkout names an unlinked billing account (the only way to reach this call)
    cold_catalog: bool = False  # reached only when the container has not read the rate plan yet
    zuora_account: bool = False  # the Salesforce Account already has a Zuora account (push: update it)
    after_refusal: bool = False  # reached only after Zuora refused the order (stored under its key)

    @property
    def id(self) -> str:
        return f"{self.flow}:{self.system}-{self.name}"


def _ddb(op: str) -> str:
    return rf"^/{DYNAMODB}\.{op}$"


CHECKOUT_CALLS = [
    Call("checkout", "token", "salesforce", "token", r"^/services/oauth2/token$", "POST", stage="salesforce_lookup"),
    Call("checkout", "lookup", "salesforce", "read", COMPOSITE, "POST", r'"allOrNone": false', "salesforce_lookup"),
    Call("checkout", "create", "salesforce", "write", COMPOSITE, "POST", r'"allOrNone": true', "salesforce_create"),
    Call("checkout", "token", "zuora", "token", r"^/oauth/token$", "POST", stage="zuora_lookup"),
    Call("checkout", "catalog", "zuora", "read", CATALOG, "GET", stage="zuora_lookup", cold_catalog=True),
    Call("checkout", "payment-method", "zuora", "read", r"^/v1/payment-methods/[^/]+$", "GET", stage="zuora_lookup"),
    Call("checkout", "account", "zuora", "read", ACCOUNT, "GET", stage="zuora_lookup", named_account=True),
    Call("checkout", "account-link", "zuora", "write", ACCOUNT, "PUT", stage="zuora_order", named_account=True),
    Call("checkout", "order", "zuora", "write", r"^/v1/orders$", "POST", stage="zuora_order"),
    # The claim takes the customer's lock in the same transaction; the checkpoint is saved as the lock goes (before
    # Zuora); the completion is one UpdateItem; after a refusal, the checkpoint's next Zuora attempt is saved.
    Call("checkout", "claim+lock", "dynamodb", "write", _ddb("TransactWriteItems"), "POST", "INPROGRESS"),
    Call(
        "checkout", "lock-release+checkpoint", "dynamodb", "write", _ddb("TransactWriteItems"), "POST", "SET account_id"
    ),
    Call(
        "checkout", "attempt-save", "dynamodb", "write", _ddb("UpdateItem"), "POST", "zuora_attempt", after_refusal=True
    ),
    Call("checkout", "idempotency-save", "dynamodb", "write", _ddb("UpdateItem"), "POST", "COMPLETED"),
]

PUSH_CALLS = [
    Call("push", "lookup", "zuora", "read", QUERY, "GET"),
    Call("push", "account-create", "zuora", "write", r"^/v1/accounts$", "POST"),
    Call("push", "account-update", "zuora", "write", r"^/v1/accounts/[^/]+$", "PUT", zuora_account=True),
    Call("push", "order", "zuora", "write", r"^/v1/orders$", "POST"),
    Call("push", "records-get", "dynamodb", "read", _ddb("BatchGetItem"), "POST", "push#"),
    Call("push", "mark-sent", "dynamodb", "write", _ddb("UpdateItem"), "POST", "order_number"),
    Call("push", "lock-release", "dynamodb", "write", _ddb("DeleteItem"), "POST", "lock#"),
]


@dataclass(frozen=True)
class FaultKind:
    id: str
    label: str


FAULTS = [
    FaultKind("http-500", "HTTP 500"),
    FaultKind("http-502", "HTTP 502"),
    FaultKind("http-503", "HTTP 503"),
    FaultKind("http-429", "HTTP 429 + Retry-After (DynamoDB: throttled)"),
    FaultKind("read-timeout", "read timeout"),
    FaultKind("connection-reset", "connection reset"),
    FaultKind("expired-token", "token expired mid-flow (401)"),
    FaultKind("sf-unable-to-lock-row", "Salesforce UNABLE_TO_LOCK_ROW"),
    FaultKind("sf-request-limit", "Salesforce REQUEST_LIMIT_EXCEEDED"),
    *(FaultKind(f"zuora-{c}", f"Zuora success:false, category {c}") for c in (20, 30, 50, 61, 70)),
    FaultKind("commit-then-timeout", "commits, then the answer times out"),
    FaultKind("commit-then-reset", "commits, then the connection resets"),
]

RETRYABLE_ZUORA_CATEGORIES = {50, 61, 70}
_LOST_ANSWER = "a read changes nothing: a lost answer is the read-timeout / connection-reset cell"


def not_applicable(call: Call, kind: FaultKind) -> str | None:
    """Why this cell cannot happen, or None when it runs."""
    fault, system = kind.id, call.system
    if fault.startswith("sf-") and system != "salesforce":
        return "a Salesforce error code"
    if fault.startswith("zuora-") and system != "zuora":
        return "a Zuora success:false body"
    if system == "dynamodb" and fault == "expired-token":
        return "every AWS request is signed on its own (SigV4): no session token expires mid-flow"
    if call.role == "token":
        if fault == "expired-token":
            return "a token request carries no token that could expire"
        if fault.startswith("sf-"):
            return "the OAuth endpoint locks no rows and does not count against the API request limit"
        if fault.startswith("zuora-"):
            return "the OAuth endpoint answers OAuth errors, never success:false"
        if fault.startswith("commit-"):
            return "issuing a token changes no data: a lost answer is the read-timeout / connection-reset cell"
    if call.role == "read":
        if fault == "sf-unable-to-lock-row":
            return "a SOQL query takes no row locks (no FOR UPDATE)"
        if fault.startswith("commit-"):
            return _LOST_ANSWER
    return None


def cells(calls: list[Call]) -> list[tuple[Call, FaultKind]]:
    return [(call, kind) for call in calls for kind in FAULTS if not_applicable(call, kind) is None]


def na_cells(calls: list[Call]) -> list[tuple[Call, FaultKind, str]]:
    return [(c, k, reason) for c in calls for k in FAULTS if (reason := not_applicable(c, k)) is not None]


# --- what the fault looks like on the wire ---------------------------------------------------------------


def _salesforce_body(call: Call, status: int, code: str, message: str) -> Any:
    if call.role == "token":
        return {"error": code.lower(), "error_description": message}
    return [{"message": message, "errorCode": code}]


_HTTP = {
    500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred", "InternalServerError"),
    502: ("BAD_GATEWAY", "Bad Gateway", "BadGateway"),
    503: ("SERVER_UNAVAILABLE", "Service Unavailable", "ServiceUnavailable"),
    429: ("TOO_MANY_REQUESTS", "Too Many Requests", "ThrottlingException"),
}


def fault_for(call: Call, kind: FaultKind) -> Fault:
    """The Fault that plays `kind` on `call`; persistent (times=-1) unless the fault is one lost answer."""
    where: dict[str, Any] = {"path": call.path, "method": call.method, "match": call.match, "times": -1}
    fault = kind.id
    if fault.startswith("http-"):
        status = int(fault.removeprefix("http-"))
        code, message, aws_code = _HTTP[status]
        if call.system == "dynamodb":
            return Fault(**where, status=400 if status == 429 else status, body=dynamodb_error(aws_code, message))
        headers = {"Retry-After": "1"} if status == 429 else {}
        body = _salesforce_body(call, status, code, message) if call.system == "salesforce" else {"message": message}
        return Fault(**where, status=status, body=body, headers=headers)
    if fault == "read-timeout":
        return Fault(**where, action="timeout", delay=TIMEOUT_DELAY)
    if fault == "connection-reset":
        return Fault(**where, action="reset")
    if fault == "expired-token":
        body = (
            [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            if call.system == "salesforce"
            else {"message": "Authentication error"}
        )
        return Fault(**{**where, "times": 1}, status=401, body=body)
    if fault == "sf-unable-to-lock-row":
        halted = "The transaction was rolled back since another operation in the same transaction failed."
        body = {
            "compositeResponse": [
                {
                    "body": [{"errorCode": "UNABLE_TO_LOCK_ROW", "message": "unable to obtain exclusive access"}],
                    "httpHeaders": {},
                    "httpStatusCode": 400,
                    "referenceId": "newAccount",
                },
                {
                    "body": [{"errorCode": "PROCESSING_HALTED", "message": halted}],
                    "httpHeaders": {},
                    "httpStatusCode": 400,
                    "referenceId": "newContact",
                },
            ]
        }
        return Fault(**where, status=200, body=body)
    if fault == "sf-request-limit":
        return Fault(**where, status=403, body=_salesforce_body(call, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests"))
    if fault.startswith("zuora-"):
        category = int(fault.removeprefix("zuora-"))
        return Fault(**where, action="refuse", status=200, body=zuora_failure(category, f"refused ({category})"))
    if fault == "commit-then-timeout":
        return Fault(**{**where, "times": 1}, action="timeout_after_commit", delay=TIMEOUT_DELAY)
    if fault == "commit-then-reset":
        return Fault(**{**where, "times": 1}, action="reset_after_commit")
    raise ValueError(kind.id)


# --- the first answer --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    status: int
    retryable: bool | None = None  # of an error answer
    code: str | None = None  # the error code, where the status alone does not say enough
    stage: str | None = None

    def __str__(self) -> str:
        parts = [str(self.status)]
        if self.code:
            parts.append(self.code)
        if self.retryable is not None:
            parts.append("retryable" if self.retryable else "not retryable")
        return " ".join(parts)


PERSISTENT_DYNAMODB_FAULTS = {"http-500", "http-502", "http-503", "http-429", "read-timeout", "connection-reset"}


def expected(call: Call, kind: FaultKind) -> Expect:
    fault = kind.id
    ok = 201 if call.flow == "checkout" else 200
    if call.system == "dynamodb":
        if fault in PERSISTENT_DYNAMODB_FAULTS:
            if call.name == "lock-release":
                return Expect(ok)  # released on a best-effort basis: the pushed Order stands, the lease lapses
            # botocore retries 3 times, then the request fails as a whole; nothing half-done blocks the retry. A
            # DynamoDB that does not answer is the documented 504, inside the deadline; other faults are 500.
            if fault == "read-timeout":
                return Expect(504, True, "storage_timeout") if call.flow == "checkout" else Expect(504, True)
            return Expect(500, True, "internal_error") if call.flow == "checkout" else Expect(500)
        # One answer lost after the write: botocore repeats the request, and the repeat must do no harm.
        if call.name == "claim+lock":
            return Expect(409, True, "in_progress")  # Powertools meets its own record: the caller retries later
        if call.after_refusal:
            return Expect(502, True, stage="zuora_order")  # the order's own (stored) refusal
        return Expect(ok)
    if fault == "expired-token":
        return Expect(ok)  # renewed once, in place
    if fault == "sf-request-limit" and call.flow == "checkout":
        # the allowance breaker opens: 503 with Retry-After, and every container pauses its Salesforce calls
        return Expect(503, True, "SALESFORCE_ALLOWANCE_LOW", stage=call.stage)
    if fault in ("read-timeout", "commit-then-timeout"):
        return Expect(504, True, stage=call.stage)
    if fault.startswith("zuora-"):
        return Expect(502, int(fault.removeprefix("zuora-")) in RETRYABLE_ZUORA_CATEGORIES, stage=call.stage)
    return Expect(502, True, stage=call.stage)
