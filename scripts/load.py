"""`make load`: a burst of checkouts through the real checkout handler, held within Zuora's concurrent request limit
and Salesforce's API allowance, checked for completion, duplicates and losses.

How it runs:

- The sandbox (both simulators and the moto server) runs in this process; `--in-flight` Lambda containers are
  processes of `tests/chaos/fleet.py` (forked from a fork server, cold-started once, one request at a time). Each
  container plays a merchant's checkout backend too: it sends one checkout and, while the answer says `retryable`,
  waits its `Retry-After` and sends it again with the same Idempotency-Key and body, as the README tells merchants.
- Zuora admits at most `--zuora-concurrency` requests at once and answers any beyond it at once with 429, REST error
  code 50000070, `Retry-After` and the `RateLimit-*` headers (`sandbox/zuora/rate_limits.py`). The real tenant says
  `Retry-After: 120`; here it says `--zuora-retry-after` (1 s), so that the run measures the limit, not a pause.
- Every Zuora call waits `--zuora-latency-ms` (1000 ms by default). The machine has 2 cores: with Zuora's own
  latency (~100 ms) the limit of 10 would allow ~100 Zuora requests/s, more than the handlers, moto and the simulators
  can drive on 2 cores, so the CPU would be the bound. A slow Zuora makes the limit the binding constraint, as it is
  for a deployment whose Lambdas are not short of CPU.
- Salesforce allows `--salesforce-allowance` API calls per `--salesforce-window-seconds` (its rolling 24 hours,
  compressed: the usage drops to 0 when a window ends) and answers 403 REQUEST_LIMIT_EXCEEDED beyond them. The
  service's allowance breaker (`sfzsync.gateways.allowance`) opens below 5% left, for 1 s here
  (`SALESFORCE_ALLOWANCE_COOLDOWN_SECONDS`; 300 s in production), and the checkout answers 503 with `Retry-After`.
- Figures: throughput (checkouts completed / wall time, from the first request to the last answer), each checkout's
  time from its first request to its final answer (merchant retries included) at p50/p95/p99, Zuora's 429s, the
  answers merchants saw, Salesforce calls per checkout. What the limit allows is K / the mean time Zuora spent on an
  admitted request (measured by the simulator, latency included), in requests/s; it is compared with the Zuora
  requests/s admitted over the run.
- Checks, from the simulators' own records: every checkout answered 201; no duplicate (per customer one Zuora
  account, one order, one subscription; no second Salesforce Account or Contact; every order key answered with its
  own order); none lost (every 201 names an order, billing account and Salesforce Account that exist and belong
  together).

`--output` (default docs/benchmarks.md) rewrites the load table between `<!-- load:start -->` and `<!-- load:end -->`
there, appended at the end when the page has none; `scripts/bench_report.py` keeps that block when it rewrites the
page. `--json` writes the figures and checks as JSON (tests/chaos/test_load.py reads it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "layers" / "common"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench_report import LOAD_END, LOAD_START, machine, percentile  # noqa: E402

from tests.chaos.fleet import cold_start, context, until_done  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
KNOWN_EVERY = 5  # every 5th shopper is already a Contact in Salesforce; the others are new customers
BREAKER_COOLDOWN_SECONDS = 1.0
RETRY_BOUND_SECONDS = 300.0  # how long a merchant keeps retrying one checkout
THROUGHPUT_TARGET = 0.8


@dataclass(frozen=True)
class Job:
    """One shopper's checkout: the body is signed in the container when it is first sent."""

    key: str
    email: str
    body: dict[str, Any]
    known_account: str | None  # the Salesforce Account the shopper's Contact belongs to, if any


@dataclass
class Outcome:
    key: str
    seconds: float
    answers: list[tuple[int, str]]  # (HTTP status, error code or "") of every answer, first to last
    body: dict[str, Any]  # the final answer's body

    @property
    def status(self) -> int:
        return self.answers[-1][0]


@dataclass
class Checks:
    completed: int = 0
    duplicates: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)


@dataclass
class LoadResult:
    checkouts: int
    in_flight: int
    zuora_concurrency: int
    zuora_latency_ms: float
    zuora_retry_after: int
    salesforce_allowance: int
    salesforce_window_seconds: float
    wall_seconds: float
    latencies: list[float]
    answers: dict[str, int]  # "<status> <code>" of every answer merchants got before the final one
    zuora_admitted: int
    zuora_refused: int
    zuora_max_in_flight: int
    zuora_mean_service_seconds: float
    zuora_calls_by_path: dict[str, int]
    salesforce_calls: int
    salesforce_refused: int  # 403 REQUEST_LIMIT_EXCEEDED answers
    salesforce_windows: int
    checks: Checks

    @property
    def throughput(self) -> float:
        return self.checks.completed / self.wall_seconds

    @property
    def zuora_achieved(self) -> float:
        return self.zuora_admitted / self.wall_seconds

    @property
    def zuora_allowed(self) -> float:
        return self.zuora_concurrency / self.zuora_mean_service_seconds if self.zuora_mean_service_seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.zuora_achieved / self.zuora_allowed if self.zuora_allowed else 0.0

    @property
    def ok(self) -> bool:
        checks = self.checks
        return checks.completed == self.checkouts and not checks.duplicates and not checks.lost

    def figures(self) -> dict[str, Any]:
        ms = [s * 1000 for s in self.latencies]
        return {
            **{k: v for k, v in asdict(self).items() if k not in ("latencies", "checks")},
            "throughput": self.throughput,
            "p50_ms": percentile(ms, 50),
            "p95_ms": percentile(ms, 95),
            "p99_ms": percentile(ms, 99),
            "zuora_achieved": self.zuora_achieved,
            "zuora_allowed": self.zuora_allowed,
            "ratio": self.ratio,
            "completed": self.checks.completed,
            "duplicates": self.checks.duplicates,
            "lost": self.checks.lost,
            "ok": self.ok,
        }


# --- in the containers -----------------------------------------------------------------------------------


def _container(environ: dict[str, str]) -> None:
    """A Lambda container: its logs and metrics (stdout) dropped, then the checkout function cold-started."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    cold_start("checkout", environ)


def _pid(_: int) -> int:
    time.sleep(0.05)
    return os.getpid()


def _checkout(job: Job) -> Outcome:
    from sandbox.invoke import checkout_event
    from sandbox.stack import SIGNING_SECRET

    event = checkout_event(job.body, job.key, SIGNING_SECRET)
    started = time.monotonic()
    final, *earlier = until_done(event, RETRY_BOUND_SECONDS)
    seconds = time.monotonic() - started
    answers = []
    for answer in [*earlier, final]:
        body = json.loads(answer.get("body") or "{}")
        answers.append((int(answer["statusCode"]), str((body.get("error") or {}).get("code", ""))))
    return Outcome(job.key, seconds, answers, json.loads(final.get("body") or "{}"))


# --- in this process -------------------------------------------------------------------------------------


def jobs(sandbox: Any, count: int) -> list[Job]:
    """New customers, each with a company domain of their own, and every KNOWN_EVERY-th a known Contact; each pays
    with a fresh card from the hosted payment page (a card pays one billing account only)."""
    from sandbox.demo_data import checkout_body

    tag, made = uuid.uuid4().hex[:8], []
    for n in range(count):
        email, company, known = f"shopper{n}@load-{tag}-{n}.com", f"Load Co {tag} {n}", None
        if n % KNOWN_EVERY == KNOWN_EVERY - 1:
            known = sandbox.salesforce.insert("Account", {"Name": company})
            sandbox.salesforce.insert(
                "Contact", {"AccountId": known, "FirstName": "Known", "LastName": "Shopper", "Email": email}
            )
        card = sandbox.zuora.new_orphan_payment_method()
        body = checkout_body(email, company=company, first="Load", last="Shopper", paymentMethodId=card)
        made.append(Job(f"load-{tag}-{n}", email, body, known))
    return made


@dataclass
class AllowanceWindows:
    """Salesforce's rolling 24 hours, compressed: `allowance` API calls per `seconds`, the usage back to 0 at each
    window's end."""

    sandbox: Any
    allowance: int
    seconds: float
    windows: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        self.sandbox.salesforce.set_api_usage(0, self.allowance)
        self.windows = 1
        thread = threading.Thread(target=self._roll, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()

    def _roll(self) -> None:
        while not self._stop.wait(self.seconds):
            self.sandbox.salesforce.set_api_usage(0)
            self.windows += 1


def check(sandbox: Any, made: list[Job], outcomes: list[Outcome]) -> Checks:
    """Completion, duplicates and losses, from the answers and the simulators' records."""
    checks = Checks()
    by_key = {o.key: o for o in outcomes}
    zuora = sandbox.zuora
    with zuora.lock:
        accounts = {n: dict(a) for n, a in zuora.accounts.items()}
        orders = {n: dict(o) for n, o in zuora.orders.items()}
        subscriptions = {n: dict(s) for n, s in zuora.subscriptions.items()}
    sf_accounts = {a["Id"]: a for a in sandbox.salesforce.records("Account")}
    contacts = Counter(str(c.get("Email") or "").lower() for c in sandbox.salesforce.records("Contact"))
    email_of = {n: str((a.get("billToContact") or {}).get("workEmail") or "").lower() for n, a in accounts.items()}
    accounts_of, orders_of, subscriptions_of = Counter(email_of.values()), Counter[str](), Counter[str]()
    for order in orders.values():
        orders_of[email_of.get(order["accountNumber"], "")] += 1
    for subscription in subscriptions.values():
        subscriptions_of[email_of.get(subscription["accountNumber"], "")] += 1
    answered_orders = Counter(str(o.body.get("zuoraOrderNumber")) for o in outcomes if o.status == 201)
    checks.duplicates += [f"order {n} answered to {c} checkouts" for n, c in answered_orders.items() if c > 1]
    new_accounts = len(sf_accounts) - sum(job.known_account is not None for job in made)
    if new_accounts != sum(job.known_account is None for job in made):
        checks.duplicates.append(f"{new_accounts} Salesforce Accounts created for the new customers")
    for job in made:
        outcome, email = by_key.get(job.key), job.email.lower()
        counts = (accounts_of[email], orders_of[email], subscriptions_of[email], contacts[email])
        if counts != (1, 1, 1, 1) and max(counts) > 1:
            checks.duplicates.append(f"{job.key}: Zuora accounts/orders/subscriptions, Contacts {counts}")
        if outcome is None or outcome.status != 201:
            checks.lost.append(f"{job.key}: final answer {outcome.answers[-1] if outcome else 'none'}")
            continue
        checks.completed += 1
        body = outcome.body
        placed = orders.get(str(body.get("zuoraOrderNumber")))
        account = accounts.get(str(body.get("zuoraAccountNumber")))
        problems = []
        if placed is None or account is None or placed["accountNumber"] != account["accountNumber"]:
            problems.append("the answered order or billing account is not in Zuora")
        elif email_of[account["accountNumber"]] != email or account.get("crmId") != body.get("salesforceAccountId"):
            problems.append("the billing account is not the shopper's or not linked to the answered Account")
        if body.get("salesforceAccountId") not in sf_accounts:
            problems.append("the answered Salesforce Account does not exist")
        elif job.known_account is not None and body["salesforceAccountId"] != job.known_account:
            problems.append("the known shopper was not linked to their Account")
        if not set(body.get("subscriptionNumbers") or []) <= subscriptions.keys() or not body.get(
            "subscriptionNumbers"
        ):
            problems.append("the answered subscriptions are not in Zuora")
        checks.lost += [f"{job.key}: {p}" for p in problems]
    return checks


def run(args: argparse.Namespace) -> LoadResult:
    import logging

    from sandbox.stack import Sandbox, SandboxOptions

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    options = SandboxOptions(latency=args.salesforce_latency_ms / 1000, read_timeout=10.0)
    with Sandbox(options) as sandbox, sandbox.aws_environment():
        sandbox.zuora.latency = args.zuora_latency_ms / 1000
        made = jobs(sandbox, args.checkouts)
        environ = {
            **os.environ,
            **sandbox.environ(),
            "SALESFORCE_ALLOWANCE_COOLDOWN_SECONDS": str(BREAKER_COOLDOWN_SECONDS),
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
        pool = context().Pool(args.in_flight, initializer=_container, initargs=(environ,))
        try:
            print(f"{args.in_flight} containers cold-starting ...", file=sys.stderr, flush=True)
            warm: set[int] = set()
            while len(warm) < args.in_flight:
                warm.update(pool.map(_pid, range(args.in_flight * 2), chunksize=1))
            windows = AllowanceWindows(sandbox, args.salesforce_allowance, args.salesforce_window_seconds)
            sandbox.zuora.clear_calls()
            sandbox.salesforce.clear_calls()
            sandbox.zuora.limit_concurrency(args.zuora_concurrency, retry_after=args.zuora_retry_after)
            print(f"{args.checkouts} checkouts, {args.in_flight} in flight ...", file=sys.stderr, flush=True)
            with windows.running():
                started = time.monotonic()
                outcomes = []
                for n, outcome in enumerate(pool.imap_unordered(_checkout, made, chunksize=1), 1):
                    outcomes.append(outcome)
                    if n % 100 == 0:
                        print(f"  {n} done, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
                wall = time.monotonic() - started
                stats = sandbox.zuora.concurrency
        finally:
            pool.terminate()
            pool.join()
        zuora_calls = Counter(_path_kind(c.path) for c in sandbox.zuora.calls if c.status != 429)
        sf_calls = [c for c in sandbox.salesforce.calls if c.path != "/services/oauth2/token"]
        answers = Counter(f"{s} {code}".strip() for o in outcomes for s, code in o.answers[:-1])
        return LoadResult(
            checkouts=args.checkouts,
            in_flight=args.in_flight,
            zuora_concurrency=args.zuora_concurrency,
            zuora_latency_ms=args.zuora_latency_ms,
            zuora_retry_after=args.zuora_retry_after,
            salesforce_allowance=args.salesforce_allowance,
            salesforce_window_seconds=args.salesforce_window_seconds,
            wall_seconds=wall,
            latencies=[o.seconds for o in outcomes],
            answers=dict(answers.most_common()),
            zuora_admitted=stats.admitted,
            zuora_refused=stats.refused,
            zuora_max_in_flight=stats.max_in_flight,
            zuora_mean_service_seconds=stats.mean_service_seconds,
            zuora_calls_by_path=dict(zuora_calls.most_common()),
            salesforce_calls=len(sf_calls),
            salesforce_refused=sum(c.status == 403 for c in sf_calls),
            salesforce_windows=windows.windows,
            checks=check(sandbox, made, outcomes),
        )


def _path_kind(path: str) -> str:
    for prefix in ("/v1/orders", "/v1/payment-methods", "/object-query/product-rate-plans", "/oauth/token"):
        if path.startswith(prefix):
            return prefix
    return path


# --- the report ------------------------------------------------------------------------------------------


def table(result: LoadResult, command: str) -> list[str]:
    """The load section of docs/benchmarks.md (also printed)."""
    info, f = machine(), result.figures()
    checks, n = result.checks, result.checkouts

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    per_checkout = ", ".join(f"{kind} {count / n:.2f}" for kind, count in result.zuora_calls_by_path.items())
    retried = ", ".join(f"{answer} x{count}" for answer, count in result.answers.items()) or "none"
    lines = [
        LOAD_START,
        "## Load (`make load`)",
        "",
        "Produced by `scripts/load.py` (`make load`), which rewrites only this section; what each figure means is in",
        "its docstring. The real checkout handler runs in separate processes (Lambda containers), each also a",
        "merchant that retries a `retryable` answer after its `Retry-After` with the same Idempotency-Key.",
        "",
        f"- Command: `{command}`",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['os']}, Python {info['python']}; {info['date']}",
        f"- {n} checkouts, {result.in_flight} in flight; 4 in 5 are new customers (Account + Contact created), 1 in 5 "
        "a known Contact; each pays with its own card (Zuora: payment method pre-flight + Create order)",
        f"- Zuora: at most {result.zuora_concurrency} concurrent requests, beyond them 429 (code 50000070) with "
        f"`Retry-After: {result.zuora_retry_after}` (the real tenant says 120) and `RateLimit-*`; every call waits "
        f"{result.zuora_latency_ms:g} ms, so that Zuora's limit, not this machine's {info['cores']} cores, is the "
        "bound",
        f"- Salesforce: {result.salesforce_allowance} API calls per {result.salesforce_window_seconds:g} s window (its "
        "rolling 24 hours, compressed), 403 REQUEST_LIMIT_EXCEEDED beyond; the allowance breaker's cooldown "
        f"{BREAKER_COOLDOWN_SECONDS:g} s (300 s in production)",
        "",
        "| target | measured | |",
        "| --- | --- | --- |",
        f"| every checkout completes (201) | {checks.completed} / {n} | {verdict(checks.completed == n)} |",
        f"| 0 duplicates | {len(checks.duplicates)} | {verdict(not checks.duplicates)} |",
        f"| 0 lost | {len(checks.lost)} | {verdict(not checks.lost)} |",
        f"| Zuora requests/s >= {THROUGHPUT_TARGET:.0%} of what the limit allows (K / mean Zuora service time) | "
        f"{result.zuora_achieved:.2f} / {result.zuora_allowed:.2f} = {result.ratio:.0%} | "
        f"{verdict(result.ratio >= THROUGHPUT_TARGET)} |",
        "",
        "| metric | value |",
        "| --- | --- |",
        f"| throughput | {result.throughput:.2f} checkouts/s ({checks.completed} in {result.wall_seconds:.1f} s) |",
        f"| time per checkout, first request to final answer, p50 / p95 / p99 | {f['p50_ms'] / 1000:.2f} s / "
        f"{f['p95_ms'] / 1000:.2f} s / {f['p99_ms'] / 1000:.2f} s |",
        f"| Zuora requests admitted / answered 429 | {result.zuora_admitted} / {result.zuora_refused} |",
        f"| Zuora requests in flight at most; mean service time of one | {result.zuora_max_in_flight}; "
        f"{result.zuora_mean_service_seconds * 1000:.0f} ms |",
        f"| Zuora requests/s: achieved / allowed by the limit | {result.zuora_achieved:.2f} / "
        f"{result.zuora_allowed:.2f} |",
        f"| Zuora calls per checkout, 429s not counted (tokens are not limited) | "
        f"{sum(result.zuora_calls_by_path.values()) / n:.2f} "
        f"({per_checkout}) |",
        f"| Salesforce API calls per checkout (of them REQUEST_LIMIT_EXCEEDED) | {result.salesforce_calls / n:.2f} "
        f"({result.salesforce_refused / n:.2f}; {result.salesforce_refused} in all, over "
        f"{result.salesforce_windows} windows) |",
        f"| answers merchants retried (status, code: count) | {retried} |",
        "",
    ]
    if result.ratio < THROUGHPUT_TARGET:
        lines += [
            f"Throughput target missed by {(THROUGHPUT_TARGET - result.ratio) * 100:.0f} points: Zuora's "
            f"{result.zuora_concurrency} slots were busy {result.ratio:.0%} of the run. See the README's *Sizing "
            "under Zuora's concurrent request limit* for why.",
            "",
        ]
    for problem in (checks.duplicates + checks.lost)[:20]:
        lines.append(f"- {problem}")
    return [*lines, LOAD_END]


def write_section(doc: Path, section: list[str]) -> None:
    """Replace the load block of `doc` (or append one); nothing else of the page changes."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    block = "\n".join(section)
    start, end = text.find(LOAD_START), text.find(LOAD_END)
    if 0 <= start < end:
        text = text[:start] + block + text[end + len(LOAD_END) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--checkouts", type=int, default=500)
    parser.add_argument("--in-flight", type=int, default=25, help="containers, each sending one checkout at a time")
    parser.add_argument("--zuora-concurrency", type=int, default=10, help="K: Zuora's concurrent request limit")
    parser.add_argument("--zuora-latency-ms", type=float, default=1000.0, help="on every Zuora call")
    parser.add_argument("--zuora-retry-after", type=int, default=1, help="Zuora's Retry-After on a 429, seconds")
    parser.add_argument("--salesforce-latency-ms", type=float, default=40.0, help="on every Salesforce call")
    parser.add_argument("--salesforce-allowance", type=int, default=450, help="API calls per window")
    parser.add_argument("--salesforce-window-seconds", type=float, default=60.0)
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"update the load section here ({DOC.name} when every option is at its default)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the figures and checks here as JSON")
    args = parser.parse_args(argv)
    given = argv if argv is not None else sys.argv[1:]
    result = run(args)
    command = "make load" if not given else f"python scripts/load.py {' '.join(given)}"
    section = table(result, command)
    print("\n".join(section[1:-1]))
    output = args.output or (DOC if not [a for a in given if not a.startswith(("--output", "--json"))] else None)
    if output is not None:
        write_section(output, section)
        print(f"written to {output}", file=sys.stderr)
    if args.json is not None:
        args.json.write_text(json.dumps(result.figures(), indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
