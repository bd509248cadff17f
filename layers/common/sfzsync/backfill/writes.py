"""Applying a batch's decisions: new Salesforce Accounts (with `--create-missing`), then each Zuora crmId.

Every Zuora write is idempotent and never blind: the account is read first, and written only if its crmId is still
the one the query saw (`PUT /v1/accounts/{key}` with `crmId`). Already the new value: an earlier, interrupted attempt
wrote it, nothing to do. Something else: a person or a checkout linked it meanwhile, and it is left alone. So a run
interrupted anywhere and started again writes each account at most once, and never undoes a newer link.
`--dry-run` reads and decides, and writes nothing anywhere.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sfzsync.backfill.lookups import BatchQueries
from sfzsync.backfill.models import WRITES, AccountResult, AccountRow, Options, Outcome, Plan
from sfzsync.backfill.pacing import Patience
from sfzsync.errors import UpstreamError
from sfzsync.gateways.salesforce import CreatedAccount
from sfzsync.gateways.zuora import ZuoraAccount
from sfzsync.matching import CustomerEmail, company_domain
from sfzsync.observability import logger

STAGE = "zuora_backfill"


class Salesforce(BatchQueries, Protocol):
    def create_account_with_contact(self, account: dict[str, Any], contact: dict[str, Any]) -> CreatedAccount: ...


class ZuoraAccounts(Protocol):
    def get_account(self, account_key: str) -> ZuoraAccount | None: ...

    def update_account(self, account_key: str, body: dict[str, Any], stage: str = STAGE) -> None: ...


@dataclass
class Counters:
    """Calls made, for the summary and the benchmark (thread-safe)."""

    salesforce_lookups: int = 0
    salesforce_creates: int = 0
    zuora_reads: int = 0
    zuora_writes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


@dataclass
class Gateways:
    salesforce: Salesforce
    zuora: ZuoraAccounts
    patience: Patience
    concurrency: int = 8  # Zuora writes (and Salesforce creates) in flight at once
    counters: Counters = field(default_factory=Counters)


def apply_plans(
    plans: Sequence[Plan],
    gateways: Gateways,
    options: Options,
    on_result: Callable[[AccountResult], None] | None = None,
) -> list[AccountResult]:
    """The result of every plan, in their order; writes run `concurrency` at a time."""
    created = _create_accounts(plans, gateways, options)
    plans = [_with_created(plan, created) for plan in plans]
    with ThreadPoolExecutor(max_workers=max(gateways.concurrency, 1), thread_name_prefix="backfill") as pool:
        futures = [
            pool.submit(contextvars.copy_context().run, _finish, plan, gateways, options, on_result) for plan in plans
        ]
        return [future.result() for future in futures]


def _finish(
    plan: Plan, gateways: Gateways, options: Options, on_result: Callable[[AccountResult], None] | None
) -> AccountResult:
    if plan.outcome in WRITES and plan.target and not options.dry_run:
        plan = _write_crm_id(plan, gateways)
    result = _result(plan, applied=plan.outcome in WRITES and not options.dry_run)
    if on_result is not None:
        on_result(result)
    return result


def _write_crm_id(plan: Plan, gateways: Gateways) -> Plan:
    row, target = plan.row, plan.target
    try:
        gateways.counters.add(zuora_reads=1)
        current = gateways.patience.run(lambda: gateways.zuora.get_account(row.account_number))
        if current is None:
            return replace(plan, outcome=Outcome.FAILED, error="ZUORA_ACCOUNT_GONE: the account no longer exists")
        if (current.crm_id or None) != (row.crm_id or None):
            if current.crm_id == target:
                return plan  # written by an earlier attempt of this run
            logger.warning("zuora account linked since the query: left alone", extra={"account": row.account_number})
            return replace(plan, outcome=Outcome.CHANGED, target=None, error=f"now linked to {current.crm_id}")
        gateways.counters.add(zuora_writes=1)
        gateways.patience.run(lambda: gateways.zuora.update_account(row.account_number, {"crmId": target}, STAGE))
    except UpstreamError as error:
        return _failed(plan, error)
    return plan


def _create_accounts(plans: Sequence[Plan], gateways: Gateways, options: Options) -> dict[str, Plan]:
    """One new Account + Contact per create key (its first account's data); in a dry run, none."""
    creators = [plan for plan in plans if plan.outcome == Outcome.CREATED and plan.create_key]
    if options.dry_run or not creators:
        return {plan.create_key or "": plan for plan in creators}

    def create(plan: Plan) -> Plan:
        account, contact = account_fields(plan, options), contact_fields(plan.row, plan.email)
        try:
            gateways.counters.add(salesforce_creates=1)
            made = gateways.patience.run(lambda: gateways.salesforce.create_account_with_contact(account, contact))
        except UpstreamError as error:
            return _failed(plan, error)
        if made.duplicate_of_existing:
            return replace(plan, outcome=Outcome.LINKED, rule="duplicate_rule", target=made.account_id)
        return replace(plan, target=made.account_id, candidates=(made.account_id,))

    with ThreadPoolExecutor(max_workers=max(gateways.concurrency, 1), thread_name_prefix="backfill-create") as pool:
        done = list(pool.map(lambda plan: contextvars.copy_context().run(create, plan), creators))
    return {plan.create_key or "": plan for plan in done}


def _with_created(plan: Plan, created: dict[str, Plan]) -> Plan:
    """A creator takes its own outcome; an account sharing its new Account takes its Id (or its failure)."""
    if plan.create_key is None or plan.create_key not in created:
        return plan
    creator = created[plan.create_key]
    if creator.row is plan.row:
        return creator
    if creator.outcome == Outcome.FAILED:
        return replace(plan, outcome=Outcome.FAILED, error=creator.error, retryable=creator.retryable)
    return replace(plan, target=creator.target, candidates=(creator.target,) if creator.target else ())


def account_fields(plan: Plan, options: Options) -> dict[str, Any]:
    """A new Account from the Zuora account (Name) and its bill-to contact, as the checkout would create it."""
    row = plan.row
    person = " ".join(part for part in (row.first_name, row.last_name) if part)
    fields: dict[str, Any] = {
        **options.account_defaults,
        "Name": row.name or person or row.account_number,
        "BillingStreet": row.address1,
        "BillingCity": row.city,
        "BillingState": row.state,
        "BillingPostalCode": row.postal_code,
        "BillingCountry": row.country,
    }
    domain = company_domain(plan.email) if plan.email is not None else None
    if domain:
        fields["Website"] = domain
    return {key: value for key, value in fields.items() if value is not None}


def contact_fields(row: AccountRow, email: CustomerEmail | None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "FirstName": row.first_name,
        "LastName": row.last_name or row.name or row.account_number,
        "Email": email.address if email is not None else None,
        "MailingStreet": row.address1,
        "MailingCity": row.city,
        "MailingState": row.state,
        "MailingPostalCode": row.postal_code,
        "MailingCountry": row.country,
    }
    return {key: value for key, value in fields.items() if value is not None}


def _failed(plan: Plan, error: UpstreamError) -> Plan:
    return replace(plan, outcome=Outcome.FAILED, error=f"{error.code}: {error.message}", retryable=error.retryable)


def _result(plan: Plan, applied: bool) -> AccountResult:
    outcome = plan.outcome or Outcome.FAILED
    return AccountResult(
        account_number=plan.row.account_number,
        old_crm_id=plan.row.crm_id or "",
        crm_id_state=plan.state.value,
        outcome=outcome.value,
        new_crm_id=plan.target or "" if outcome in WRITES else "",
        rule=plan.rule,
        candidates=plan.candidates,
        applied=applied and outcome in WRITES,
        error=plan.error,
        retryable=plan.retryable,
    )
