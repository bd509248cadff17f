"""The report: a CSV line per account and a readable summary (Markdown: counts by outcome, by rule and by what the
crmId was, failures grouped by reason), built one result at a time so a million accounts never sit in memory."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

from sfzsync.backfill.models import CSV_COLUMNS, AccountResult, Outcome

EXAMPLES_PER_REASON = 5
_OUTCOME_ORDER = [outcome.value for outcome in Outcome]
_MEANING = {
    Outcome.ALREADY_LINKED: "a live Account of this org already: nothing to do",
    Outcome.NORMALISED: "a 15-character Id of a live Account, written in its 18-character form",
    Outcome.RELINKED_TO_MASTER: "its Account had been merged: now the Account that remained",
    Outcome.LINKED: "matched by the checkout's rules and linked",
    Outcome.CREATED: "no match: a new Account and Contact were created and linked",
    Outcome.UNMATCHED: "no match, nothing created (run with --create-missing, or link by hand)",
    Outcome.CHANGED: "linked by someone else after the query ran: left alone",
    Outcome.FAILED: "not done: see the reasons below; a re-run (or a redrive) tries again",
}


@dataclass
class Summary:
    """Counts of a run, added to one result at a time."""

    dry_run: bool = False
    total: int = 0
    by_outcome: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    by_crm_id_state: Counter[str] = field(default_factory=Counter)
    failures: dict[str, list[str]] = field(default_factory=dict)  # reason code -> account numbers
    failure_counts: Counter[str] = field(default_factory=Counter)
    failed_batches: list[str] = field(default_factory=list)  # batches the state machine gave up on, with the cause

    def add(self, result: AccountResult) -> None:
        self.total += 1
        self.by_outcome[result.outcome] += 1
        self.by_crm_id_state[result.crm_id_state] += 1
        if result.rule:
            self.by_rule[result.rule] += 1
        if result.outcome == Outcome.FAILED:
            reason = result.error.split(":", 1)[0] or "UNKNOWN"
            self.failure_counts[reason] += 1
            examples = self.failures.setdefault(reason, [])
            if len(examples) < EXAMPLES_PER_REASON:
                examples.append(result.account_number)

    @property
    def written(self) -> int:
        return sum(self.by_outcome[o] for o in ("normalised", "relinked_to_master", "linked", "created"))

    def markdown(self) -> str:
        mode = "**Dry run**: nothing was written; the outcomes say what a real run would do." if self.dry_run else ""
        lines = ["# Backfill report", "", mode, ""] if mode else ["# Backfill report", ""]
        lines += [f"{self.total} Zuora accounts; {self.written} {'would be ' if self.dry_run else ''}linked.", ""]
        lines += ["## By outcome", "", "| outcome | accounts | meaning |", "| --- | ---: | --- |"]
        for name in sorted(self.by_outcome, key=_OUTCOME_ORDER.index):
            lines.append(f"| {name} | {self.by_outcome[name]} | {_MEANING[Outcome(name)]} |")
        lines += ["", "## By rule (how the new crmId was found)", "", "| rule | accounts |", "| --- | ---: |"]
        lines += [f"| {rule} | {count} |" for rule, count in sorted(self.by_rule.items())] or ["| (none) | 0 |"]
        lines += ["", "## By what the crmId was", "", "| crmId | accounts |", "| --- | ---: |"]
        lines += [f"| {state} | {count} |" for state, count in sorted(self.by_crm_id_state.items())]
        lines += ["", "## Failures", ""]
        if not self.failure_counts and not self.failed_batches:
            lines.append("None.")
        for reason, count in self.failure_counts.most_common():
            shown = ", ".join(self.failures[reason])
            more = f" and {count - len(self.failures[reason])} more" if count > len(self.failures[reason]) else ""
            lines.append(f"- **{reason}**: {count} account(s), e.g. {shown}{more}")
        lines += [f"- batch not processed: {batch}" for batch in self.failed_batches]
        return "\n".join(lines) + "\n"


class ReportWriter:
    """Writes each result as a CSV line and adds it to the summary."""

    def __init__(self, stream: TextIO, dry_run: bool) -> None:
        self._csv = csv.writer(stream)
        self._csv.writerow(CSV_COLUMNS)
        self.summary = Summary(dry_run=dry_run)

    def add(self, results: Iterable[AccountResult]) -> None:
        for result in results:
            self._csv.writerow(result.csv_row())
            self.summary.add(result)
