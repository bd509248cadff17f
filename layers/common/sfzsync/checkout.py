"""The checkout flow: match or create the Salesforce Account, then Zuora "Create order" with it as crmId."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from .errors import UpstreamError
from .matching import (
    Candidate,
    CustomerEmail,
    account_domain_soql,
    candidates_from_accounts,
    candidates_from_contacts,
    company_domain,
    contact_email_soql,
    normalise_email,
    person_account_soql,
    pick_oldest,
)
from .models import CheckoutRequest, CheckoutResult
from .orders import account_name, build_order_body
from .salesforce import SalesforceGateway
from .store import CheckoutStore, Checkpoint
from .zuora import ZuoraGateway

logger = Logger(child=True)
tracer = Tracer()
metrics = Metrics()


@dataclass(frozen=True)
class CheckoutServices:
    """Everything the flow talks to, built once per cold start."""

    salesforce: SalesforceGateway
    zuora: ZuoraGateway
    store: CheckoutStore
    rules: tuple[str, ...]
    domain_field: str | None
    account_defaults: dict[str, Any]
    lock_wait_seconds: float


def zuora_idempotency_key(checkout_key: str, attempt: int) -> str:
    """Derived from the checkout's key; a new attempt number only after Zuora stored a failure for the last one."""
    return f"checkout-{hashlib.sha256(checkout_key.encode('utf-8')).hexdigest()[:40]}-{attempt}"


def run_checkout(
    request: CheckoutRequest, idempotency_key: str, services: CheckoutServices, today: dt.date | None = None
) -> CheckoutResult:
    """Resolve the customer in Salesforce (or reuse the checkpoint of an earlier attempt), then order in Zuora."""
    email = normalise_email(request.customer.email)
    logger.append_keys(customer=email.masked)
    checkpoint = services.store.get_checkpoint(idempotency_key)
    if checkpoint is None:
        order_date = request.order.orderDate or today or dt.datetime.now(dt.UTC).date()
        checkpoint = _resolve_customer(request, email, idempotency_key, services, order_date)
    else:
        logger.info("resuming checkout from checkpoint", extra={"matched_by": checkpoint.matched_by})
    tracer.put_annotation("matchedBy", checkpoint.matched_by)
    body = build_order_body(
        request,
        email.address,
        checkpoint.account_id,
        checkpoint.existing_account_number,
        # A retry sends Zuora the very body of the first try (its Idempotency-Key replays only an equal body),
        # even after midnight UTC when the request left orderDate to "today".
        dt.date.fromisoformat(checkpoint.order_date) if checkpoint.order_date else dt.datetime.now(dt.UTC).date(),
    )
    attempt = checkpoint.zuora_attempt
    try:
        order = services.zuora.create_order(body, zuora_idempotency_key(idempotency_key, attempt))
    except UpstreamError as error:
        if error.definitive:
            services.store.bump_zuora_attempt(idempotency_key)
        raise
    metrics.add_metric(name="OrdersCreated", unit=MetricUnit.Count, value=1)
    tracer.put_annotation("outcome", "ordered")
    logger.info(
        "checkout completed",
        extra={
            "salesforce_account_id": checkpoint.account_id,
            "matched_by": checkpoint.matched_by,
            "zuora_order_number": order.order_number,
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


def _resolve_customer(
    request: CheckoutRequest,
    email: CustomerEmail,
    idempotency_key: str,
    services: CheckoutServices,
    order_date: dt.date,
) -> Checkpoint:
    lock = services.store.acquire_lock(email.address.lower(), services.lock_wait_seconds, idempotency_key)
    checkpoint: Checkpoint | None = None
    try:
        account_id, matched_by = _match_or_create(request, email, services)
        existing = None if matched_by == "created" else _existing_zuora_account(account_id, request, services)
        checkpoint = Checkpoint(account_id, matched_by, existing, order_date=order_date.isoformat())
    finally:
        services.store.release_lock(lock, idempotency_key, checkpoint)
    return checkpoint


def _lookup_queries(email: CustomerEmail, services: CheckoutServices) -> dict[str, str]:
    queries: dict[str, str] = {}
    domain = company_domain(email)
    for rule in services.rules:
        if rule == "contact_email":
            queries[rule] = contact_email_soql(email)
        elif rule == "person_account_email":
            queries[rule] = person_account_soql(email)
        elif rule == "account_domain" and domain is not None:
            queries[rule] = account_domain_soql(domain, services.domain_field)
    return queries


def _match_or_create(request: CheckoutRequest, email: CustomerEmail, services: CheckoutServices) -> tuple[str, str]:
    results = services.salesforce.run_queries(_lookup_queries(email, services))
    domain = company_domain(email)
    for rule in services.rules:
        records = results.get(rule)
        if records is None:
            continue
        candidates: list[Candidate]
        if rule == "contact_email":
            candidates = candidates_from_contacts(records)
        else:
            candidates = candidates_from_accounts(
                records, domain if rule == "account_domain" else None, services.domain_field
            )
        winner = pick_oldest(candidates)
        if winner is not None:
            ids = sorted(candidate.account_id for candidate in candidates)
            logger.info(
                "salesforce account matched", extra={"rule": rule, "account_id": winner.account_id, "candidates": ids}
            )
            tracer.put_metadata("candidates", ids)
            _count("CustomerMatched", rule)
            return winner.account_id, rule
    created = services.salesforce.create_account_with_contact(
        _account_fields(request, domain, services.account_defaults), _contact_fields(request, email)
    )
    if created.duplicate_of_existing:
        logger.info(
            "salesforce duplicate rule pointed at an existing account", extra={"account_id": created.account_id}
        )
        _count("CustomerMatched", "duplicate_rule")
        return created.account_id, "duplicate_rule"
    logger.info("salesforce account created", extra={"account_id": created.account_id})
    metrics.add_metric(name="AccountsCreated", unit=MetricUnit.Count, value=1)
    return created.account_id, "created"


def _existing_zuora_account(account_id: str, request: CheckoutRequest, services: CheckoutServices) -> str | None:
    """A returning customer's Zuora account in the order's currency (oldest number first), if any."""
    accounts = services.zuora.find_accounts_by_crm_id(account_id)
    usable = sorted(
        a.account_number for a in accounts if a.currency == request.order.currency and a.status.lower() != "canceled"
    )
    if usable:
        logger.info("zuora account reused", extra={"zuora_account_number": usable[0], "candidates": usable})
    return usable[0] if usable else None


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


def _count(name: str, rule: str) -> None:
    from aws_lambda_powertools.metrics import single_metric

    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
        metric.add_dimension(name="rule", value=rule)
