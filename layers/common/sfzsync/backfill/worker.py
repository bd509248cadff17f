"""The one worker both engines run (the local command and the state machine's batch step): a batch of Zuora accounts
in, one `AccountResult` per account out.

First the Salesforce side decides, in a few batched calls (`lookups`): a crmId of a live Account stays (a 15-character
one is written in its 18-character form), one of a merged Account becomes its master, everything else (none,
malformed, another object's, deleted, unknown to this org) is matched by the bill-to email with the checkout's rules.
Then `writes` applies the decisions: Zuora's crmId, and new Accounts only with `--create-missing`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from sfzsync.backfill.crm_ids import IdCheck, classify
from sfzsync.backfill.lookups import BatchLookup
from sfzsync.backfill.models import AccountResult, AccountRow, CrmIdState, Options, Outcome, Plan
from sfzsync.backfill.writes import Gateways, apply_plans
from sfzsync.errors import InvalidInputError, UpstreamError
from sfzsync.matching import CustomerEmail, Match, company_domain, normalise_email
from sfzsync.observability import logger

NEEDS_MATCH = frozenset(
    {CrmIdState.NONE, CrmIdState.MALFORMED, CrmIdState.NOT_AN_ACCOUNT, CrmIdState.DELETED, CrmIdState.NOT_IN_ORG}
)


def link_batch(
    rows: Sequence[AccountRow],
    gateways: Gateways,
    options: Options,
    on_result: Callable[[AccountResult], None] | None = None,
) -> list[AccountResult]:
    """Decide and apply every account of the batch; `on_result` hears of each as soon as it is final."""
    lookup = BatchLookup(gateways.salesforce, options.rules, options.domain_field, gateways.patience)
    plans = plan_batch(rows, lookup, options)
    results = apply_plans(plans, gateways, options, on_result)
    gateways.counters.add(salesforce_lookups=lookup.calls)
    logger.info(
        "backfill batch done",
        extra={"accounts": len(rows), "salesforce_lookups": lookup.calls, "dry_run": options.dry_run},
    )
    return results


def plan_batch(rows: Sequence[AccountRow], lookup: BatchLookup, options: Options) -> list[Plan]:
    plans = [_classified(row) for row in rows]
    ids = sorted({plan.target for plan in plans if plan.target})
    try:
        checks = lookup.check_ids(ids) if ids else {}
    except UpstreamError as error:
        return [_failed(plan, error) for plan in plans]
    plans = [_checked(plan, checks) if plan.target else plan for plan in plans]
    needing = [plan for plan in plans if plan.outcome is None]
    if needing:
        try:
            matches = lookup.match({plan.email.address: plan.email for plan in needing if plan.email}.values())
        except UpstreamError as error:
            return [_failed(plan, error) if plan.outcome is None else plan for plan in plans]
        plans = [_matched(plan, matches, options) if plan.outcome is None else plan for plan in plans]
    return _share_new_accounts(plans)


def _classified(row: AccountRow) -> Plan:
    state, account_id = classify(row.crm_id)
    email: CustomerEmail | None = None
    if row.email:
        try:
            email = normalise_email(row.email)
        except InvalidInputError:
            email = None  # not an address Salesforce could hold: no match by email, no Contact email
    return Plan(row, state, target=account_id, email=email)


def _checked(plan: Plan, checks: dict[str, IdCheck]) -> Plan:
    state, live_id = checks[plan.target or ""].state, checks[plan.target or ""].live_id
    if state == CrmIdState.LIVE:
        written = (plan.row.crm_id or "").strip()
        if written == live_id:
            return replace(plan, state=CrmIdState.LIVE, outcome=Outcome.ALREADY_LINKED, target=live_id)
        shown = CrmIdState.SHORT if plan.state == CrmIdState.SHORT else CrmIdState.LIVE
        return replace(plan, state=shown, outcome=Outcome.NORMALISED, target=live_id, rule="id_18")
    if state == CrmIdState.MERGED:
        return replace(plan, state=state, outcome=Outcome.RELINKED_TO_MASTER, target=live_id, rule="master_record")
    return replace(plan, state=state, target=None)


def _matched(plan: Plan, matches: dict[str, Match | None], options: Options) -> Plan:
    match = matches.get(plan.email.address) if plan.email else None
    if match is not None:
        candidates = tuple(match.candidates)
        return replace(plan, outcome=Outcome.LINKED, target=match.account_id, rule=match.rule, candidates=candidates)
    if not options.create_missing:
        return replace(plan, outcome=Outcome.UNMATCHED, target=None)
    return replace(plan, outcome=Outcome.CREATED, target=None, rule="created", create_key=_create_key(plan, options))


def _create_key(plan: Plan, options: Options) -> str:
    """Accounts that one new Account serves, as a checkout would see them after the first one's: the same company
    domain (when `account_domain` is a rule), else the same email; an account without an email gets its own."""
    email = plan.email
    domain = company_domain(email) if email is not None else None
    if domain is not None and "account_domain" in options.rules:
        return f"domain:{domain}"
    if email is not None and "contact_email" in options.rules:
        return f"email:{email.address.lower()}"
    return f"account:{plan.row.account_number}"


def _share_new_accounts(plans: list[Plan]) -> list[Plan]:
    """The first account of each create key creates; the others link to what it creates, by the rule that would
    have found it (its Contact's email, or its Website's domain)."""
    creators: dict[str, Plan] = {}
    shared: list[Plan] = []
    for plan in plans:
        if plan.outcome != Outcome.CREATED or plan.create_key is None:
            shared.append(plan)
            continue
        creator = creators.setdefault(plan.create_key, plan)
        if creator is plan:
            shared.append(plan)
            continue
        same_email = plan.email and creator.email and plan.email.address.lower() == creator.email.address.lower()
        rule = "contact_email" if same_email else "account_domain"
        shared.append(replace(plan, outcome=Outcome.LINKED, rule=rule))
    return shared


def _failed(plan: Plan, error: UpstreamError) -> Plan:
    return replace(plan, outcome=Outcome.FAILED, error=f"{error.code}: {error.message}", retryable=error.retryable)
