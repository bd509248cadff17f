"""The checkout flow: match or create the Salesforce Account, then Zuora "Create order" with it as crmId."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

from sfzsync.checkout.catalog import PlannedRatePlan, ProductCatalog
from sfzsync.checkout.models import CheckoutRequest, CheckoutResult
from sfzsync.checkout.order_body import account_name, build_order_body
from sfzsync.checkout.preflight import check_order
from sfzsync.checkout.store import CheckoutStore, Checkpoint
from sfzsync.errors import AccountConflictError, IdempotencyKeyReusedError, UpstreamError
from sfzsync.gateways.dynamodb import HeldLock
from sfzsync.gateways.salesforce import SalesforceGateway
from sfzsync.gateways.zuora import OrderResult, ZuoraAccount, ZuoraGateway
from sfzsync.ids import is_salesforce_id, to_18
from sfzsync.matching import CustomerEmail, choose_account, company_domain, lookup_queries, normalise_email
from sfzsync.observability import count, logger, tracer


@dataclass(frozen=True)
class CheckoutDependencies:
    """Everything the flow talks to, built once per cold start."""

    salesforce: SalesforceGateway
    zuora: ZuoraGateway
    catalog: ProductCatalog
    store: CheckoutStore
    rules: tuple[str, ...]
    domain_field: str | None
    account_defaults: dict[str, Any]
    lock_wait_seconds: float


def zuora_idempotency_key(checkout_key: str, attempt: int) -> str:
    """Derived from the checkout's key; a new attempt number only after Zuora stored a failure for the last one."""
    return f"checkout-{hashlib.sha256(checkout_key.encode('utf-8')).hexdigest()[:40]}-{attempt}"


def request_fingerprint(request: CheckoutRequest) -> str:
    """A hash of the request's content: the saved progress of a checkout belongs to exactly this body."""
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def run_checkout(
    request: CheckoutRequest, idempotency_key: str, deps: CheckoutDependencies, today: dt.date | None = None
) -> CheckoutResult:
    """Resolve the customer in Salesforce (or resume an earlier attempt of this body), then order in Zuora.

    Everything a client can get wrong is found by reads (catalog, the named billing account) before any write.
    """
    email = normalise_email(request.customer.email)
    logger.append_keys(customer=email.masked)
    fingerprint = request_fingerprint(request)
    progress = deps.store.get_progress(idempotency_key)
    lock, checkpoint = progress.lock, progress.checkpoint
    try:
        if checkpoint is not None and checkpoint.request_hash != fingerprint:
            raise IdempotencyKeyReusedError("this Idempotency-Key was used with a different body")
        checked = check_order(request.order, deps.catalog, deps.zuora, resuming=checkpoint is not None)
        if checkpoint is None:
            lock = lock or deps.store.acquire_lock(email.address.lower(), deps.lock_wait_seconds, idempotency_key)
            account_id, matched_by = _match_or_create(request, email, deps, checked.billing_account)
            order_date = request.order.orderDate or today or utc_today()
            checkpoint = Checkpoint(account_id, matched_by, fingerprint, order_date.isoformat())
            # Saved as the lock goes, before Zuora is called: a retry after anything later resumes from here.
            deps.store.release_lock(lock, idempotency_key, checkpoint)
        else:
            logger.info("resuming checkout from checkpoint", extra={"matched_by": checkpoint.matched_by})
        lock = None
    finally:
        if lock is not None:
            _release_after_failure(deps, lock, idempotency_key)
    tracer.put_annotation("matchedBy", checkpoint.matched_by)
    billing_account = checked.billing_account
    try:
        order = _place_order(
            request,
            checkpoint,
            email=email,
            billing_account=billing_account,
            subscriptions=checked.subscriptions,
            idempotency_key=idempotency_key,
            deps=deps,
        )
    except UpstreamError as error:
        if error.definitive:  # Zuora stored this refusal under its key: the retry needs the next one
            deps.store.release_lock(
                None, idempotency_key, replace(checkpoint, zuora_attempt=checkpoint.zuora_attempt + 1)
            )
        raise
    count("OrdersCreated")
    tracer.put_annotation("outcome", "ordered")
    if progress.failure_pending:
        deps.store.resolve_failure(idempotency_key)
    logger.info(
        "checkout completed",
        extra={
            "salesforce_account_id": checkpoint.account_id,
            "matched_by": checkpoint.matched_by,
            "zuora_account_number": order.account_number,
            "zuora_order_number": order.order_number,
            "billing_account": "named" if billing_account else "new",
        },
    )
    return CheckoutResult(
        salesforceAccountId=checkpoint.account_id,
        matchedBy=checkpoint.matched_by,  # type: ignore[arg-type]
        zuoraAccountNumber=order.account_number,
        zuoraOrderNumber=order.order_number,
        subscriptionNumbers=order.subscription_numbers,
        orderStatus=order.status,
    )


def _release_after_failure(deps: CheckoutDependencies, lock: HeldLock, idempotency_key: str) -> None:
    """Best effort: the attempt's own failure is the answer; a lock not deleted lapses with its lease."""
    try:
        deps.store.release_lock(lock, idempotency_key, None)
    except Exception as exc:
        logger.warning("lock not released after a failure", extra={"reason": type(exc).__name__})


def _place_order(
    request: CheckoutRequest,
    checkpoint: Checkpoint,
    *,
    email: CustomerEmail,
    billing_account: ZuoraAccount | None,
    subscriptions: list[list[PlannedRatePlan]],
    idempotency_key: str,
    deps: CheckoutDependencies,
) -> OrderResult:
    if billing_account is not None:
        _link_billing_account(billing_account, checkpoint.account_id, deps)
    # A retry sends Zuora the very body of the first try (its Idempotency-Key replays only an equal body), even after
    # midnight UTC when the request left orderDate to "today".
    body = build_order_body(
        request, email.address, checkpoint.account_id, subscriptions, dt.date.fromisoformat(checkpoint.order_date)
    )
    return deps.zuora.create_order(body, zuora_idempotency_key(idempotency_key, checkpoint.zuora_attempt))


def _linked_account_id(account: ZuoraAccount) -> str | None:
    """The Salesforce Account a billing account is linked to (18 characters), or its raw crmId if not an Id."""
    if not account.crm_id:
        return None
    return to_18(account.crm_id) if is_salesforce_id(account.crm_id) else account.crm_id


def _refuse_other_link(account: ZuoraAccount, salesforce_account_id: str | None) -> None:
    linked = _linked_account_id(account)
    if linked is not None and linked != salesforce_account_id:
        logger.warning(
            "named billing account is linked to another salesforce account",
            extra={"zuora_account_number": account.account_number, "linked_to": linked},
        )
        raise AccountConflictError(
            f"Zuora billing account {account.account_number} is linked to another Salesforce Account than this "
            "customer's; nothing was written"
        )


def _link_billing_account(account: ZuoraAccount, salesforce_account_id: str, deps: CheckoutDependencies) -> None:
    _refuse_other_link(account, salesforce_account_id)
    if account.crm_id is None:
        # Part of placing the order (the stage a client sees): the account is linked, then ordered on.
        deps.zuora.update_account(account.account_number, {"crmId": salesforce_account_id}, stage="zuora_order")
        logger.info("named billing account linked", extra={"zuora_account_number": account.account_number})


def _match_or_create(
    request: CheckoutRequest, email: CustomerEmail, deps: CheckoutDependencies, billing_account: ZuoraAccount | None
) -> tuple[str, str]:
    results = deps.salesforce.run_queries(lookup_queries(email, deps.rules, deps.domain_field))
    match = choose_account(results, email, deps.rules, deps.domain_field)
    if match is not None:
        if billing_account is not None:
            _refuse_other_link(billing_account, match.account_id)
        logger.info(
            "salesforce account matched",
            extra={"rule": match.rule, "account_id": match.account_id, "candidates": match.candidates},
        )
        tracer.put_metadata("candidates", match.candidates)
        count("CustomerMatched", rule=match.rule)
        return match.account_id, match.rule
    if billing_account is not None:
        _refuse_other_link(billing_account, None)  # linked elsewhere, and no match: never create an Account for it
    created = deps.salesforce.create_account_with_contact(
        _account_fields(request, company_domain(email), deps.account_defaults), _contact_fields(request, email)
    )
    if created.duplicate_of_existing:
        if billing_account is not None:
            _refuse_other_link(billing_account, created.account_id)
        logger.info(
            "salesforce duplicate rule pointed at an existing account", extra={"account_id": created.account_id}
        )
        count("CustomerMatched", rule="duplicate_rule")
        return created.account_id, "duplicate_rule"
    logger.info("salesforce account created", extra={"account_id": created.account_id})
    count("AccountsCreated")
    return created.account_id, "created"


def _street(line1: str, line2: str | None) -> str:
    return f"{line1}\n{line2}" if line2 else line1


def _account_fields(request: CheckoutRequest, domain: str | None, defaults: dict[str, Any]) -> dict[str, Any]:
    customer, address = request.customer, request.customer.address
    fields: dict[str, Any] = {
        **defaults,
        "Name": account_name(customer),
        "BillingStreet": _street(address.line1, address.line2),
        "BillingCity": address.city,
        "BillingState": address.state,
        "BillingPostalCode": address.postalCode,
        "BillingCountry": address.country,
    }
    if domain:
        fields["Website"] = domain
    if customer.phone:
        fields["Phone"] = customer.phone
    return {key: value for key, value in fields.items() if value is not None}


def _contact_fields(request: CheckoutRequest, email: CustomerEmail) -> dict[str, Any]:
    customer, address = request.customer, request.customer.address
    fields: dict[str, Any] = {
        "FirstName": customer.firstName,
        "LastName": customer.lastName,
        "Email": email.address,
        "Phone": customer.phone,
        "MailingStreet": _street(address.line1, address.line2),
        "MailingCity": address.city,
        "MailingState": address.state,
        "MailingPostalCode": address.postalCode,
        "MailingCountry": address.country,
    }
    return {key: value for key, value in fields.items() if value is not None}
