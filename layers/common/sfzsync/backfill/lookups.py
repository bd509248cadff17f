"""The Salesforce side of a batch, in few calls: the checkout's lookup rules asked about many emails (or domains) per
query, up to 5 queries per Composite call, and the crmIds checked with queryAll.

Each rule of the checkout (`sfzsync.matching.MATCH_RULES`) has its batch form here (`BATCH_RULES`, by the same name):
the same filter with `IN (...)` (or ORed `LIKE`s) over many values, the same order, and a way back from the rows to
what the checkout's own query for one email would have returned (its rows, in its order, cut at its LIMIT). The
checkout's `choose_account` then decides, email by email: the same rules, the same choice.

Sizes: a query's URL stays under the 16,384 bytes Salesforce allows a REST call's URI (Salesforce Help 000386264,
"Maximum number of rows returned by SOQL queries over the REST API", which also puts a page at 2,000 rows), so well
under the 100,000 characters of a SOQL statement. A query that comes back with a full page (or `done: false`) may have
been cut short: its values are split in two and asked again, so no email loses a candidate.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol
from urllib.parse import urlencode

from simple_salesforce.format import format_soql

from sfzsync.backfill.crm_ids import IdCheck, id_check_soql, masters_to_ask, resolve_ids
from sfzsync.backfill.models import CrmIdState
from sfzsync.backfill.pacing import Patience
from sfzsync.gateways.salesforce import MAX_COMPOSITE_QUERIES, QueryPage, Soql
from sfzsync.ids import to_18
from sfzsync.matching import (
    CANDIDATE_LIMIT,
    WEBSITE_CANDIDATE_LIMIT,
    CustomerEmail,
    Match,
    accounts_at_soql,
    choose_account,
    company_domain,
    domain_spellings,
)

MAX_URL_CHARACTERS = 16_000  # of the subrequest's URL, below the 16,384-byte URI limit
PAGE_ROWS = 2_000  # a query's first page holds at most this many rows
Records = list[dict[str, Any]]


class BatchQueries(Protocol):
    def run_batch_queries(self, queries: dict[str, Soql]) -> dict[str, QueryPage]: ...


@dataclass(frozen=True)
class BatchRule:
    """A lookup rule over many values: which value an email is looked up by, the SOQL for many values, and, from the
    rows, those the checkout's query for one value would have returned."""

    value_of: Callable[[CustomerEmail, str | None], str | None]
    soql: Callable[[Sequence[str], str | None], str]
    rows_for: Callable[[Records, str, str | None], Records]


def _by_field(name: str, limit: int) -> Callable[[Records, str, str | None], Records]:
    def rows_for(records: Records, value: str, _field: str | None) -> Records:
        wanted = value.lower()  # SOQL's equality ignores case
        return [r for r in records if str(r.get(name) or "").lower() == wanted][:limit]

    return rows_for


def _domain_rows(records: Records, domain: str, domain_field: str | None) -> Records:
    spellings = [spelling.lower() for spelling in domain_spellings(domain)]
    if domain_field:
        return [r for r in records if str(r.get(domain_field) or "").lower() in spellings][:CANDIDATE_LIMIT]
    matching = [r for r in records if any(s in str(r.get("Website") or "").lower() for s in spellings)]
    return matching[:WEBSITE_CANDIDATE_LIMIT]  # LIKE '%domain%', as the checkout's query, before its exact filter


def _domain_soql(domains: Sequence[str], domain_field: str | None) -> str:
    spellings = [spelling for domain in domains for spelling in domain_spellings(domain)]
    return accounts_at_soql(spellings, domain_field, PAGE_ROWS)


BATCH_RULES: dict[str, BatchRule] = {
    "contact_email": BatchRule(
        value_of=lambda email, _domain: email.address,
        soql=lambda emails, _field: format_soql(
            "SELECT Id, Email, AccountId, Account.CreatedDate FROM Contact WHERE Email IN {} AND AccountId != null "
            "ORDER BY CreatedDate ASC, Id ASC LIMIT {:literal}",
            list(emails),
            str(PAGE_ROWS),
        ),
        rows_for=_by_field("Email", CANDIDATE_LIMIT),
    ),
    "person_account_email": BatchRule(
        value_of=lambda email, _domain: email.address,
        soql=lambda emails, _field: format_soql(
            "SELECT Id, CreatedDate, PersonEmail FROM Account WHERE IsPersonAccount = true AND PersonEmail IN {} "
            "ORDER BY CreatedDate ASC, Id ASC LIMIT {:literal}",
            list(emails),
            str(PAGE_ROWS),
        ),
        rows_for=_by_field("PersonEmail", CANDIDATE_LIMIT),
    ),
    "account_domain": BatchRule(
        value_of=lambda _email, domain: domain,
        soql=_domain_soql,
        rows_for=_domain_rows,
    ),
}


def url_length(soql: Soql) -> int:
    """Characters of the Composite subrequest's URL that would carry `soql`."""
    return len("/services/data/v99.0/queryAll?") + len(urlencode({"q": soql.text}))


def chunked(values: Sequence[str], build: Callable[[Sequence[str]], Soql]) -> list[list[str]]:
    """`values` in runs whose query fits a URL (greedy, in order)."""
    runs: list[list[str]] = []
    current: list[str] = []
    for value in values:
        if current and url_length(build([*current, value])) > MAX_URL_CHARACTERS:
            runs.append(current)
            current = []
        current.append(value)
    if current:
        runs.append(current)
    return runs


class BatchLookup:
    """Asks Salesforce about one batch of accounts; counts its Composite calls."""

    def __init__(self, salesforce: BatchQueries, rules: Sequence[str], domain_field: str | None, patience: Patience):
        self._salesforce = salesforce
        self._rules = tuple(rules)
        self._domain_field = domain_field
        self._patience = patience
        self.calls = 0

    def check_ids(self, account_ids: Collection[str]) -> dict[str, IdCheck]:
        """Live, deleted, merged (into which live Account) or unknown to this org: each Id, by queryAll."""
        known: dict[str, dict[str, Any]] = {}
        ask = set(account_ids)
        for _ in range(4):  # the Ids, then masters of merged ones (a merged master's master after that)
            if not ask:
                break
            for records in self._fetch(sorted(ask), lambda ids: Soql(id_check_soql(ids), all_rows=True)).values():
                known.update({to_18(str(r["Id"])): r for r in records})
            ask = masters_to_ask(account_ids, known)
        checks = resolve_ids(account_ids, known)
        return {account_id: checks.get(account_id, IdCheck(CrmIdState.DELETED)) for account_id in account_ids}

    def match(self, emails: Iterable[CustomerEmail]) -> dict[str, Match | None]:
        """The checkout's match for each email (by `address`), rule by rule, in the configured order."""
        pending = {email.address: email for email in emails}
        found: dict[str, Match | None] = dict.fromkeys(pending)
        domains = {address: company_domain(email) for address, email in pending.items()}
        for rule_name in self._rules:
            rule = BATCH_RULES[rule_name]
            by_value: dict[str, list[str]] = {}
            for address, email in pending.items():
                value = rule.value_of(email, domains[address])
                if value is not None:
                    by_value.setdefault(value, []).append(address)
            if not by_value:
                continue
            build = self._rule_query(rule)
            for values, records in self._fetch(sorted(by_value), build).items():
                for value in values:
                    rows = rule.rows_for(records, value, self._domain_field)
                    for address in by_value[value]:
                        email = pending[address]
                        found[address] = choose_account({rule_name: rows}, email, [rule_name], self._domain_field)
            pending = {address: email for address, email in pending.items() if found[address] is None}
            if not pending:
                break
        return found

    def _rule_query(self, rule: BatchRule) -> Callable[[Sequence[str]], Soql]:
        return lambda values: Soql(rule.soql(values, self._domain_field))

    def _fetch(self, values: Sequence[str], build: Callable[[Sequence[str]], Soql]) -> dict[tuple[str, ...], Records]:
        """The rows of each run of `values` (at most 5 queries per call); a run whose page came back full is split."""
        queue = [tuple(run) for run in chunked(values, build)]
        answers: dict[tuple[str, ...], Records] = {}
        while queue:
            group, queue = queue[:MAX_COMPOSITE_QUERIES], queue[MAX_COMPOSITE_QUERIES:]
            queries = {f"q{index}": build(run) for index, run in enumerate(group)}
            self.calls += 1
            pages = self._patience.run(partial(self._salesforce.run_batch_queries, queries))
            for index, run in enumerate(group):
                page = pages[f"q{index}"]
                if (not page.complete or len(page.records) >= PAGE_ROWS) and len(run) > 1:
                    middle = len(run) // 2
                    queue.extend([run[:middle], run[middle:]])
                else:
                    answers[run] = page.records
        return answers
