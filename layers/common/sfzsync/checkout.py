"""The checkout flow: match or create the Salesforce Account, then Zuora "Create order" with it as crmId."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from .catalog import ProductCatalog
from .errors import AccountConflictError, IdempotencyKeyReusedError, UpstreamError
from .ids import is_salesforce_id, to_18
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
from .preflight import check_order
from .salesforce import SalesforceGateway
from .store import CheckoutStore, Checkpoint
from .zuora import ZuoraAccount, ZuoraGateway

logger = Logger(child=True)
tracer = Tracer()
metrics = Metrics()


@dataclass(frozen=True)
class CheckoutServices:
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


def run_checkout(
    request: CheckoutRequest, idempotency_key: str, services: CheckoutServices, today: dt.date | None = None
) -> CheckoutResult:
    """Resolve the customer in Salesforce (or resume an earlier attempt of this body), then order in Zuora.

    Everything a client can get wrong is found by reads (catalog, the named billing account) before any write.
    """
    email = normalise_email(request.customer.email)
    logger.append_keys(customer=email.masked)
    fingerprint = request_fingerprint(request)
    checkpoint = services.store.get_checkpoint(idempotency_key)
    if checkpoint is not None and checkpoint.request_hash != fingerprint:
        raise IdempotencyKeyReusedError("this Idempotency-Key was used with a different body")
    checked = check_order(request.order, services.catalog, services.zuora, resuming=checkpoint is not None)
    subscriptions, billing_account = checked.subscriptions, checked.billing_account
    if checkpoint is None:
        order_date = request.order.orderDate or today or dt.datetime.now(dt.UTC).date()
        checkpoint = _resolve_customer(
            request, email, idempotency_key, services, order_date=order_date, billing_account=billing_account
        )
    else:
        logger.info("resuming checkout from checkpoint", extra={"matched_by": checkpoint.matched_by})
    tracer.put_annotation("matchedBy", checkpoint.matched_by)
    if billing_account is not None:
        _link_billing_account(billing_account, checkpoint.account_id, services)
    # A retry sends Zuora the very body of the first try (its Idempotency-Key replays only an equal body), even after
    # midnight UTC when the request left orderDate to "today".
    body = build_order_body(
        request, email.address, checkpoint.account_id, subscriptions, dt.date.fromisoformat(checkpoint.order_date)
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


def _link_billing_account(account: ZuoraAccount, salesforce_account_id: str, services: CheckoutServices) -> None:
    _refuse_other_link(account, salesforce_account_id)
    if account.crm_id is None:
        # Part of placing the order (the stage a client sees): the account is linked, then ordered on.
        services.zuora.update_account(account.account_number, {"crmId": salesforce_account_id}, stage="zuora_order")
        logger.info("named billing account linked", extra={"zuora_account_number": account.account_number})


def _resolve_customer(
    request: CheckoutRequest,
    email: CustomerEmail,
    idempotency_key: str,
    services: CheckoutServices,
    *,
    order_date: dt.date,
    billing_account: ZuoraAccount | None,
) -> Checkpoint:
    lock = services.store.acquire_lock(email.address.lower(), services.lock_wait_seconds, idempotency_key)
    checkpoint: Checkpoint | None = None
    try:
        account_id, matched_by = _match_or_create(request, email, services, billing_account)
        checkpoint = Checkpoint(account_id, matched_by, request_fingerprint(request), order_date.isoformat())
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


def _match_or_create(
    request: CheckoutRequest, email: CustomerEmail, services: CheckoutServices, billing_account: ZuoraAccount | None
) -> tuple[str, str]:
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
            if billing_account is not None:
                _refuse_other_link(billing_account, winner.account_id)
            ids = sorted(candidate.account_id for candidate in candidates)
            logger.info(
                "salesforce account matched", extra={"rule": rule, "account_id": winner.account_id, "candidates": ids}
            )
            tracer.put_metadata("candidates", ids)
            _count("CustomerMatched", rule)
            return winner.account_id, rule
    if billing_account is not None:
        _refuse_other_link(billing_account, None)  # linked elsewhere, and no match: never create an Account for it
    created = services.salesforce.create_account_with_contact(
        _account_fields(request, domain, services.account_defaults), _contact_fields(request, email)
    )
    if created.duplicate_of_existing:
        if billing_account is not None:
            _refuse_other_link(billing_account, created.account_id)
        logger.info(
            "salesforce duplicate rule pointed at an existing account", extra={"account_id": created.account_id}
        )
        _count("CustomerMatched", "duplicate_rule")
        return created.account_id, "duplicate_rule"
    logger.info("salesforce account created", extra={"account_id": created.account_id})
    metrics.add_metric(name="AccountsCreated", unit=MetricUnit.Count, value=1)
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


def _count(name: str, rule: str) -> None:
    from aws_lambda_powertools.metrics import single_metric

    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
        metric.add_dimension(name="rule", value=rule)
