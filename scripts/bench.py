"""`make bench`: round trips, warm latency, cold start, memory and layer size of the real handlers on the sandbox.

Every Salesforce and Zuora call waits a fixed injected latency (`--latency-ms`, default 40 ms, or
`BENCH_LATENCY_MS`), so the warm wall time can be compared with the physical minimum: the number of
Salesforce + Zuora round trips times that latency.

How it measures:

- The sandbox (simulators and the moto server) runs in this process; each scenario runs its handler in a
  fresh worker subprocess (so the handler does not share a GIL with the simulators, and its peak RSS is its
  own). The worker loads the handler once (`sandbox.invoke.load_handler`, a cold start), runs warm-up
  requests, then N measured requests; each request's wall time is taken around `lambda_handler` in the worker.
- Round trips are counted where they arrive: Salesforce and Zuora from the simulators' call logs (OAuth token
  calls are the authentication ones), DynamoDB and Secrets Manager at the moto server (its WSGI app is wrapped
  and each request's `X-Amz-Target` counted). New TCP connections are counted at every server the same way.
- Cold start: in a fresh process, the time `load_handler` takes (import the handler, read the secret, build
  the configuration and clients), against the time a fresh process takes to import only the third-party
  modules that cold start left in `sys.modules`; `--cold-runs` back-to-back pairs, fastest over fastest (other
  load on the machine only adds time), with the median of the pairs' ratios beside it. Both sides import from
  bytecode; a few more pairs compile everything but the stdlib from source, as Lambda does with a layer that
  holds no bytecode.
- Peak memory: the worker's `ru_maxrss` after its cold start and all its requests.
- `--profile` runs the warm requests under cProfile and prints the top functions (not for figures).
- Layer size: `sam build` the way tests/sam does, then the CommonLayer folder's bytes and its zip (deflate).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import resource
import shutil
import site
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "layers" / "common"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from sandbox.demo_data import checkout_body as demo_checkout_body  # noqa: E402
from sandbox.invoke import api_event, checkout_event, invoke, load_handler  # noqa: E402

DEFAULT_LATENCY_MS = 40.0
DEFAULT_REQUESTS = 30
DEFAULT_COLD_RUNS = 7
SOURCE_COLD_RUNS = 3
WARM_UPS = 2
DOC = ROOT / "docs" / "benchmarks.md"
SF_TOKEN = "/services/oauth2/token"
ZUORA_TOKEN = "/oauth/token"
RATE_PLAN = "8ad09be48db5aba7018db604776d4854"
RATE_PLAN_CHARGE = "8ad09be48db5aba7018db60477a54856"


# --- the worker: one handler in its own process -------------------------------------------------------


def worker() -> int:
    """Commands in on stdin, answers out on the original stdout; the handler's own stdout (logs, EMF) is dropped."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    module = None
    profiler: cProfile.Profile | None = None
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        if op == "load":
            started = time.perf_counter()
            module = load_handler(command["function"])
            answers.write(json.dumps({"seconds": time.perf_counter() - started}) + "\n")
        elif op == "invoke":
            assert module is not None
            if command.get("profile") and profiler is None:
                profiler = cProfile.Profile()
            started = time.perf_counter()
            if command.get("profile") and profiler is not None:
                profiler.enable()
                response = invoke(module, command["event"])
                profiler.disable()
            else:
                response = invoke(module, command["event"])
            seconds = time.perf_counter() - started
            answers.write(
                json.dumps(
                    {
                        "seconds": seconds,
                        "status": response["statusCode"],
                        "body": (response.get("body") or "")[:300],
                        "replayed": (response.get("multiValueHeaders") or {}).get("Idempotent-Replayed") == ["true"],
                        "expected": command.get("expect", "") in (response.get("body") or ""),
                    }
                )
                + "\n"
            )
        elif op == "stats":
            text = ""
            if profiler is not None:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats(
                    os.environ.get("BENCH_PROFILE_SORT", "cumulative")
                ).print_stats(int(os.environ.get("BENCH_PROFILE_LINES", "35")))
                text = out.getvalue()
            rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            answers.write(json.dumps({"maxrss_kib": rss_kib, "profile": text}) + "\n")
        elif op == "quit":
            break
    return 0


def _third_party(module: Any) -> bool:
    roots = [str(Path(p)) for p in (*site.getsitepackages(), sysconfig.get_paths()["purelib"])]
    files = [getattr(module, "__file__", None), *(getattr(module, "__path__", None) or [])]
    return any(f and any(str(f).startswith(root) for root in roots) for f in files)


def cold_app(function: str, modules_out: Path) -> int:
    """A cold start in this fresh process: how long load_handler takes; which third-party modules it imported."""
    before = set(sys.modules)
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(1)
    os.dup2(devnull, 1)
    started, cpu = time.perf_counter(), time.process_time()
    load_handler(function)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    os.dup2(saved, 1)
    names = [name for name, mod in list(sys.modules.items()) if name not in before and _third_party(mod)]
    modules_out.write_text("\n".join(names))
    print(json.dumps({"seconds": seconds, "cpu": cpu, "modules": len(names)}))
    return 0


def cold_libs(modules_in: Path) -> int:
    """Only the third-party imports of a cold start, in this fresh process (same prelude as cold_app)."""
    import importlib

    names = [n for n in modules_in.read_text().splitlines() if n]
    failed = []
    started, cpu = time.perf_counter(), time.process_time()
    for name in names:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except Exception:  # a module that imports only as a side effect of another: reported, not fatal
            failed.append(name)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "cpu": cpu, "modules": len(names), "failed": failed}))
    return 0


# --- counting round trips at the servers --------------------------------------------------------------


class ServerLog:
    """Wraps a running werkzeug server's WSGI app: every request (its X-Amz-Target) and every new connection."""

    def __init__(self, server: Any) -> None:
        self.lock = threading.Lock()
        self.targets: list[str] = []
        self.connections = 0
        self.busy: list[float] = []
        app, accept = server.app, server.process_request

        def accepted(request: Any, client_address: Any) -> None:
            with self.lock:
                self.connections += 1
            accept(request, client_address)

        def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            with self.lock:
                self.targets.append(environ.get("HTTP_X_AMZ_TARGET", ""))
            started = time.perf_counter()
            try:
                return app(environ, start_response)  # type: ignore[no-any-return]
            finally:
                with self.lock:
                    self.busy.append(time.perf_counter() - started)

        server.app = counted
        server.process_request = accepted


@dataclass
class Counts:
    """Round trips of one request, by destination."""

    salesforce: int = 0
    salesforce_auth: int = 0
    zuora: int = 0
    zuora_auth: int = 0
    dynamodb: int = 0
    secrets: int = 0
    new_connections: int = 0
    aws_seconds: float = 0.0  # inside the moto server (DynamoDB, Secrets Manager)
    sim_seconds: float = 0.0  # inside the simulators, injected latency excluded
    dynamodb_ops: Counter[str] = field(default_factory=Counter)

    @property
    def upstream(self) -> int:
        return self.salesforce + self.zuora


class Meter:
    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.aws = ServerLog(sandbox._moto._server)
        self.sims = [ServerLog(sandbox.salesforce._server), ServerLog(sandbox.zuora._server)]

    def mark(self) -> dict[str, int]:
        with self.aws.lock:
            mark = {"aws": len(self.aws.targets), "aws_busy": len(self.aws.busy), "conn": self.aws.connections}
        for n, sim in enumerate(self.sims):
            with sim.lock:
                mark[f"sim{n}_busy"] = len(sim.busy)
                mark["conn"] += sim.connections
        mark["sf"], mark["zuora"] = len(self.sandbox.salesforce.calls), len(self.sandbox.zuora.calls)
        return mark

    def since(self, mark: dict[str, int]) -> Counts:
        now = self.mark()
        sf = self.sandbox.salesforce.calls[mark["sf"] : now["sf"]]
        zu = self.sandbox.zuora.calls[mark["zuora"] : now["zuora"]]
        targets = self.aws.targets[mark["aws"] : now["aws"]]
        latency = self.sandbox.salesforce.latency
        sim_busy = [
            max(0.0, t - latency)
            for n, sim in enumerate(self.sims)
            for t in sim.busy[mark[f"sim{n}_busy"] : now[f"sim{n}_busy"]]
        ]
        counts = Counts(
            salesforce=len(sf),
            salesforce_auth=sum(c.path == SF_TOKEN for c in sf),
            zuora=len(zu),
            zuora_auth=sum(c.path == ZUORA_TOKEN for c in zu),
            dynamodb=sum(t.startswith("DynamoDB") for t in targets),
            secrets=sum(t.startswith("secretsmanager") for t in targets),
            new_connections=now["conn"] - mark["conn"],
            aws_seconds=sum(self.aws.busy[mark["aws_busy"] : now["aws_busy"]]),
            sim_seconds=sum(sim_busy),
        )
        counts.dynamodb_ops.update(t.split(".")[-1] for t in targets if t.startswith("DynamoDB"))
        return counts


# --- scenarios -----------------------------------------------------------------------------------------


def checkout_body(email: str, company: str | None, sandbox: Any, **order: Any) -> dict[str, Any]:
    """A checkout paid with a fresh card from the hosted payment page (a card pays one billing account only)."""
    card = sandbox.zuora.new_orphan_payment_method()
    return demo_checkout_body(email, company=company, first="Bench", last="Buyer", paymentMethodId=card, **order)


EventMaker = Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    function: str
    prepare: Callable[[Any, int], list[EventMaker]]  # (sandbox, how many requests) -> one event maker per request
    expect_status: int = 201
    checkout: bool = True
    expect_text: str = ""  # in every answer's body
    replayed: bool = False  # the measured answers are idempotent replays


def _signed(body: dict[str, Any], key: str | None = None) -> EventMaker:
    from sandbox.stack import SIGNING_SECRET

    key = key or f"bench-{uuid.uuid4()}"
    return lambda: checkout_event(body, key, SIGNING_SECRET)


def _new_customers(sandbox: Any, count: int) -> list[EventMaker]:
    tag = uuid.uuid4().hex[:8]
    return [_signed(checkout_body(f"buyer@new-{tag}-{i}.com", f"Newco {tag} {i}", sandbox)) for i in range(count)]


def _contact_matches(sandbox: Any, count: int) -> list[EventMaker]:
    sf, tag, makers = sandbox.salesforce, uuid.uuid4().hex[:8], []
    for i in range(count):
        email = f"known.buyer@contact-{tag}-{i}.com"
        account = sf.insert("Account", {"Name": f"Contact Co {tag} {i}"})
        sf.insert("Contact", {"AccountId": account, "FirstName": "Known", "LastName": "Buyer", "Email": email})
        makers.append(_signed(checkout_body(email.upper(), f"Contact Co {tag} {i}", sandbox)))
    return makers


def _domain_matches(sandbox: Any, count: int) -> list[EventMaker]:
    sf, tag, makers = sandbox.salesforce, uuid.uuid4().hex[:8], []
    for i in range(count):
        sf.insert("Account", {"Name": f"Domain Co {tag} {i}", "Website": f"https://www.domain-{tag}-{i}.com/about"})
        makers.append(_signed(checkout_body(f"someone.new@mail.domain-{tag}-{i}.com", f"Domain Co {tag} {i}", sandbox)))
    return makers


def _returning(sandbox: Any, count: int) -> list[EventMaker]:
    sf, tag, makers = sandbox.salesforce, uuid.uuid4().hex[:8], []
    for i in range(count):
        email = f"returning@zuora-{tag}-{i}.com"
        account = sf.insert("Account", {"Name": f"Returning Co {tag} {i}"})
        sf.insert("Contact", {"AccountId": account, "FirstName": "Re", "LastName": "Turning", "Email": email})
        number = sandbox.zuora.seed_account(name=f"Returning Co {tag} {i}", currency="USD", crm_id=account)
        makers.append(_signed(checkout_body(email, f"Returning Co {tag} {i}", sandbox, zuoraAccountNumber=number)))
    return makers


def _replays(sandbox: Any, count: int) -> list[EventMaker]:
    """The first event completes a checkout (a warm-up); every later one repeats its key and body."""
    key = f"bench-replay-{uuid.uuid4()}"
    body = checkout_body(f"replay@replay-{key[-8:]}.com", "Replay Co", sandbox)
    return [_signed(body, key) for _ in range(count)]


@dataclass(frozen=True)
class ButtonUser:
    session_cookie: str
    sealer: Any
    session: Any
    domain: str


def _button_user(sandbox: Any) -> ButtonUser:
    """A signed-in sales rep, as the button's OAuth callback would leave them (a sealed session cookie)."""
    from sfzsync.ids import to_18
    from sfzsync.web import SESSION_COOKIE, CookieSealer, UserSession

    sf = sandbox.salesforce
    user_id = sf.add_user(f"rep-{uuid.uuid4().hex[:8]}@bench.example", "bench-password-1", name="Bench Rep")
    domain = f"127.0.0.1:{sf.port}"
    session = UserSession(
        uuid.uuid4().hex,
        user_id,
        to_18(sf.org_id),
        domain,
        sf.issue_token(user_id),
        sf.url,
        "Bench Rep",
        time.time() + 3600,
    )
    sealer = CookieSealer(sandbox.secret_document()["sendToZuora"]["sessionKey"])
    return ButtonUser(f"{SESSION_COOKIE}={sealer.seal_session(session)}", sealer, session, domain)


def _push_event(user: ButtonUser, param: str, record_id: str) -> EventMaker:
    form = {"sfdc": user.domain, param: record_id, "csrf": user.sealer.csrf_token(user.session, record_id)}
    host = "local.execute-api.us-east-1.amazonaws.com"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": user.session_cookie,
        "Origin": f"https://{host}",
    }
    return lambda: api_event("POST", "/sfdccpq", urlencode(form), headers)


def _seed_button_account(sandbox: Any, owner: str, tag: str, i: int) -> str:
    sf = sandbox.salesforce
    account = sf.insert(
        "Account",
        {
            "Name": f"Push Co {tag} {i}",
            "BillingStreet": "1 Push St",
            "BillingCity": "Gotham",
            "BillingState": "NJ",
            "BillingPostalCode": "07001",
            "BillingCountry": "US",
        },
        owner_id=owner,
    )
    sf.insert(
        "Contact",
        {"AccountId": account, "FirstName": "Pat", "LastName": "Pusher", "Email": f"pat@push-{tag}-{i}.com"},
        owner_id=owner,
    )
    return str(account)


def _account_pushes(sandbox: Any, count: int) -> list[EventMaker]:
    user, tag = _button_user(sandbox), uuid.uuid4().hex[:8]
    owner = user.session.user_id
    return [_push_event(user, "accountId", _seed_button_account(sandbox, owner, tag, i)) for i in range(count)]


def _order_pushes(sandbox: Any, count: int) -> list[EventMaker]:
    sf, user, tag = sandbox.salesforce, _button_user(sandbox), uuid.uuid4().hex[:8]
    owner = user.session.user_id
    product = sf.insert(
        "Product2",
        {
            "Name": "Analytics Platform",
            "ProductCode": f"PLAT-{tag}",
            "Zuora_Product_Rate_Plan_Id__c": RATE_PLAN,
            "Zuora_Product_Rate_Plan_Charge_Id__c": RATE_PLAN_CHARGE,
        },
    )
    makers = []
    for i in range(count):
        account = _seed_button_account(sandbox, owner, tag, i)
        order = sf.insert(
            "Order", {"AccountId": account, "EffectiveDate": "2026-12-01", "Status": "Activated"}, owner_id=owner
        )
        sf.insert(
            "OrderItem",
            {
                "OrderId": order,
                "Product2Id": product,
                "Quantity": 5,
                "UnitPrice": 10,
                "ServiceDate": "2026-12-01",
                "SBQQ__SubscriptionTerm__c": 12,
                "SBQQ__ChargeType__c": "Recurring",
                "SBQQ__BillingFrequency__c": "Monthly",
            },
        )
        makers.append(_push_event(user, "orderId", order))
    return makers


SCENARIOS = [
    Scenario("new-customer", "New customer (Account + Contact created)", "checkout", _new_customers),
    Scenario("contact-email", "Contact email match", "checkout", _contact_matches),
    Scenario("domain", "Company domain match", "checkout", _domain_matches),
    Scenario(
        "returning", "Returning customer naming their billing account (contact match, linked)", "checkout", _returning
    ),
    Scenario("replay", "Idempotent replay (same key and body)", "checkout", _replays, replayed=True),
    Scenario(
        "account-push", "Send to Zuora: Account push", "send_to_zuora", _account_pushes, 200, False, 'outcome="sent"'
    ),
    Scenario("order-push", "Send to Zuora: Order push", "send_to_zuora", _order_pushes, 200, False, 'outcome="sent"'),
]


# --- running ------------------------------------------------------------------------------------------


def _env(sandbox: Any) -> dict[str, str]:
    env = {**os.environ, **sandbox.environ()}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)])
    env["POWERTOOLS_LOG_LEVEL"] = os.environ.get("BENCH_LOG_LEVEL", "INFO")
    return env


class Worker:
    def __init__(self, sandbox: Any) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_env(sandbox),
            text=True,
            cwd=ROOT,
        )

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker died during {command['op']}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        with_stdin = self.process.stdin
        if with_stdin is not None:
            with_stdin.write(json.dumps({"op": "quit"}) + "\n")
            with_stdin.close()
        self.process.wait(timeout=30)


@dataclass
class ScenarioResult:
    scenario: Scenario
    seconds: list[float]
    counts: list[Counts]
    first: Counts
    maxrss_kib: int
    profile: str = ""


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * pct / 100
    low, high = int(rank), min(int(rank) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def run_scenario(sandbox: Any, meter: Meter, scenario: Scenario, requests: int, profile: bool) -> ScenarioResult:
    sandbox.reset()
    makers = scenario.prepare(sandbox, requests + WARM_UPS)
    worker = Worker(sandbox)
    try:
        mark = meter.mark()
        worker.ask(op="load", function=scenario.function)
        first: Counts | None = None
        for maker in makers[:WARM_UPS]:
            answer = worker.ask(op="invoke", event=maker(), expect=scenario.expect_text)
            _check(scenario, answer, warm_up=True)
            if first is None:
                first = meter.since(mark)
        seconds, counts = [], []
        for maker in makers[WARM_UPS:]:
            event = maker()
            mark = meter.mark()
            answer = worker.ask(op="invoke", event=event, profile=profile, expect=scenario.expect_text)
            counts.append(meter.since(mark))
            seconds.append(answer["seconds"])
            _check(scenario, answer)
        stats = worker.ask(op="stats")
    finally:
        worker.close()
    assert first is not None
    return ScenarioResult(scenario, seconds, counts, first, int(stats["maxrss_kib"]), stats.get("profile", ""))


def _check(scenario: Scenario, answer: dict[str, Any], warm_up: bool = False) -> None:
    """Only requests that did what the scenario says are counted."""
    if answer["status"] != scenario.expect_status or not answer["expected"]:
        raise RuntimeError(f"{scenario.name}: HTTP {answer['status']} {answer['body']}")
    if scenario.replayed and not warm_up and not answer["replayed"]:
        raise RuntimeError(f"{scenario.name}: the answer was not an idempotent replay")


@dataclass
class ColdStart:
    """Fresh-process timings of one handler's cold start and of its third-party imports alone, run in pairs."""

    function: str
    app_seconds: list[float]
    libs_seconds: list[float]
    modules: int
    failed: list[str]
    app_cpu: list[float] = field(default_factory=list)
    libs_cpu: list[float] = field(default_factory=list)
    source_app_seconds: list[float] = field(default_factory=list)
    source_libs_seconds: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """Fastest cold start over fastest imports: other load on the machine only ever adds time, so the
        fastest run of each is the closest to its own cost (the median of the pairs' ratios is shown too)."""
        return min(self.app_seconds) / min(self.libs_seconds)

    @property
    def pair_ratio(self) -> float:
        return statistics.median(a / b for a, b in zip(self.app_seconds, self.libs_seconds, strict=True))

    @property
    def cpu_ratio(self) -> float:
        return min(self.app_cpu) / min(self.libs_cpu)

    @property
    def source_ratio(self) -> float:
        if not self.source_app_seconds:
            return float("nan")
        return min(self.source_app_seconds) / min(self.source_libs_seconds)


def cold_start(sandbox: Any, function: str, runs: int, from_source: bool = True) -> ColdStart:
    """`runs` pairs of fresh processes: load_handler, then the same third-party imports alone.

    Both sides import from bytecode: the processes share a pycache folder of their own, filled by a first,
    discarded pair (the environment may set PYTHONDONTWRITEBYTECODE, and sfzsync would then be compiled on every
    run while the venv's libraries are not). With `from_source`, SOURCE_COLD_RUNS more pairs run with the
    stdlib's bytecode only: every other module is compiled from source, as in Lambda (the runtime's stdlib is
    compiled; a layer built by SAM or by pip --no-compile holds no bytecode, and /opt is read-only).
    """
    script = str(Path(__file__).resolve())
    result = ColdStart(function, [], [], 0, [])
    with tempfile.TemporaryDirectory(prefix="sfzsync-bench-") as tmp:
        listing = Path(tmp) / "modules.txt"
        cache, stdlib_only = Path(tmp) / "pycache", Path(tmp) / "stdlib-pycache"
        cached = {**_env(sandbox), "PYTHONPYCACHEPREFIX": str(cache)}
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        uncached = {**cached, "PYTHONPYCACHEPREFIX": str(stdlib_only), "PYTHONDONTWRITEBYTECODE": "1"}

        def pair(env: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
            app = _run_json([sys.executable, script, "--cold-app", function, str(listing)], env)
            libs = _run_json([sys.executable, script, "--cold-libs", str(listing)], env)
            result.modules, result.failed = libs["modules"], libs["failed"]
            return app, libs

        pair(cached)
        stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve().relative_to("/")
        shutil.copytree(cache / stdlib, stdlib_only / stdlib)  # the Lambda runtime's stdlib is compiled
        for _ in range(runs):
            app, libs = pair(cached)
            result.app_seconds.append(app["seconds"])
            result.libs_seconds.append(libs["seconds"])
            result.app_cpu.append(app["cpu"])
            result.libs_cpu.append(libs["cpu"])
        for _ in range(SOURCE_COLD_RUNS if from_source else 0):
            app, libs = pair(uncached)
            result.source_app_seconds.append(app["seconds"])
            result.source_libs_seconds.append(libs["seconds"])
    return result


def _run_json(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    answer: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return answer


@dataclass
class LayerSize:
    unzipped: int
    zipped: int
    files: int
    top: list[tuple[str, int]]


def layer_size() -> LayerSize:
    """`sam build` as tests/sam does (same command and environment), then measure the built CommonLayer."""
    from tests.sam.conftest import run_sam_build, sam_environment

    with tempfile.TemporaryDirectory(prefix="sfzsync-bench-sam-") as tmp:
        built = run_sam_build(Path(tmp), sam_environment())
        layer = built / "CommonLayer"
        files = [p for p in layer.rglob("*") if p.is_file() and not p.is_symlink()]
        unzipped = sum(p.stat().st_size for p in files)
        by_top: Counter[str] = Counter()
        for p in files:
            parts = p.relative_to(layer).parts
            by_top[parts[1] if len(parts) > 2 else parts[-1]] += p.stat().st_size
        archive = Path(tmp) / "layer.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(files):
                zf.write(p, p.relative_to(layer))
        return LayerSize(unzipped, archive.stat().st_size, len(files), by_top.most_common(12))


# --- report -------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    with_cpuinfo = Path("/proc/cpuinfo")
    if with_cpuinfo.exists():
        for line in with_cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": f"{cpu} ({platform.machine()})",
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _span(values: list[int]) -> str:
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}-{high}"


def scenario_table(result: ScenarioResult, cold: ColdStart | None, latency: float) -> list[str]:
    counts = result.counts
    ms = [s * 1000 for s in result.seconds]
    p50, p95 = percentile(ms, 50), percentile(ms, 95)
    upstream = [c.upstream for c in counts]
    floor = statistics.median(upstream) * latency * 1000
    ratio = f"{p50 / floor:.2f}" if floor else "n/a (no Salesforce or Zuora call)"
    ratio95 = f"{p95 / floor:.2f}" if floor else "n/a"
    ops = Counter[str]()
    for c in counts:
        ops.update(c.dynamodb_ops)
    dynamo_ops = ", ".join(f"{op} {n / len(counts):g}" for op, n in sorted(ops.items())) or "none"
    rows = [
        ("Salesforce round trips / request", _span([c.salesforce for c in counts])),
        ("  of which authentication", _span([c.salesforce_auth for c in counts])),
        ("Zuora round trips / request", _span([c.zuora for c in counts])),
        ("  of which authentication", _span([c.zuora_auth for c in counts])),
        ("DynamoDB round trips / request", f"{_span([c.dynamodb for c in counts])} ({dynamo_ops})"),
        ("Secrets Manager round trips / request", _span([c.secrets for c in counts])),
        ("New TCP connections / request", _span([c.new_connections for c in counts])),
        (
            "Cold start + first request: SF/Z/DDB/SM round trips, auth",
            f"{result.first.salesforce}/{result.first.zuora}/{result.first.dynamodb}/{result.first.secrets}, "
            f"auth {result.first.salesforce_auth + result.first.zuora_auth}",
        ),
        (f"Warm wall p50 / p95 (N={len(ms)})", f"{p50:.1f} ms / {p95:.1f} ms"),
        (
            f"Physical minimum (SF+Z round trips x {latency * 1000:g} ms)",
            f"{floor:.0f} ms" if floor else "0 ms",
        ),
        ("Wall / minimum, p50 (p95)", f"{ratio} ({ratio95})"),
        ("Overhead above the minimum, p50", f"{p50 - floor:.1f} ms"),
        (
            "  of which inside moto (DynamoDB) / inside the simulators, median",
            f"{statistics.median(c.aws_seconds for c in counts) * 1000:.1f} ms / "
            f"{statistics.median(c.sim_seconds for c in counts) * 1000:.1f} ms",
        ),
        ("Wall without the emulators' own time / minimum, p50", _own_ratio(result, floor)),
    ]
    if cold is not None:

        def fastest_and_median(values: list[float]) -> str:
            return f"{min(values) * 1000:.0f} ms / {statistics.median(values) * 1000:.0f} ms"

        rows += [
            (
                f"Cold start of `{cold.function}`, fastest / median of {len(cold.app_seconds)}",
                fastest_and_median(cold.app_seconds),
            ),
            (f"Its third-party imports alone ({cold.modules} modules)", fastest_and_median(cold.libs_seconds)),
            (
                "Cold start / third-party imports: fastest runs (median of the pairs' ratios)",
                f"{cold.ratio:.2f} ({cold.pair_ratio:.2f})",
            ),
            ("  the same in CPU time, fastest runs", f"{cold.cpu_ratio:.2f}"),
        ]
        if cold.source_app_seconds:
            rows.append(
                (
                    "Compiled from source, stdlib excepted (as in Lambda): cold start / imports, fastest",
                    f"{min(cold.source_app_seconds) * 1000:.0f} ms / {min(cold.source_libs_seconds) * 1000:.0f} ms "
                    f"({cold.source_ratio:.2f})",
                )
            )
    rows.append(("Peak RSS of the worker process", f"{result.maxrss_kib / 1024:.0f} MiB"))
    lines = [f"### {result.scenario.title}", "", "| metric | value |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return [*lines, ""]


def _own_time_ms(result: ScenarioResult) -> list[float]:
    """Each request's wall time less the time spent inside moto and inside the simulators (latency excluded)."""
    return [(s - c.aws_seconds - c.sim_seconds) * 1000 for s, c in zip(result.seconds, result.counts, strict=True)]


def _own_ratio(result: ScenarioResult, floor_ms: float) -> str:
    return f"{percentile(_own_time_ms(result), 50) / floor_ms:.2f}" if floor_ms else "n/a"


def findings(results: list[ScenarioResult], latency: float) -> list[str]:
    """Where the warm overhead of the checkout scenarios goes, from this run's own figures."""
    lines = []
    for r in results:
        floor = statistics.median([c.upstream for c in r.counts]) * latency * 1000
        if not (r.scenario.checkout and floor):
            continue
        p50 = percentile([s * 1000 for s in r.seconds], 50)
        moto = statistics.median(c.aws_seconds for c in r.counts) * 1000
        sims = statistics.median(c.sim_seconds for c in r.counts) * 1000
        dynamodb = statistics.median(c.dynamodb for c in r.counts)
        lines.append(
            f"- {r.scenario.name}: {p50 - floor:.0f} ms above the {floor:.0f} ms minimum at p50; {moto:.0f} ms of it "
            f"inside moto ({dynamodb:g} DynamoDB round trips), {sims:.0f} ms inside the simulators' own handling, "
            f"{p50 - floor - moto - sims:.0f} ms in the handler process (our code and Powertools, botocore and "
            "requests building, signing and parsing every request, and the loopback transfers)."
        )
    return lines


def targets(
    results: list[ScenarioResult], colds: dict[str, ColdStart], layer: LayerSize | None, latency: float
) -> list[str]:
    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    lines = ["| target | measured | |", "| --- | --- | --- |"]
    for r in results:
        worst = max(c.upstream for c in r.counts)
        auth = max(c.salesforce_auth + c.zuora_auth for c in r.counts)
        limit = 0 if r.scenario.name == "replay" else 3
        if r.scenario.checkout:
            lines.append(
                f"| {r.scenario.name}: Salesforce + Zuora round trips <= {limit} | {worst} | "
                f"{verdict(worst <= limit)} |"
            )
        lines.append(
            f"| {r.scenario.name}: no authentication call while tokens are valid | {auth} | {verdict(auth == 0)} |"
        )
        floor = statistics.median([c.upstream for c in r.counts]) * latency
        if r.scenario.checkout and floor:
            ratio = percentile(r.seconds, 50) / floor
            lines.append(
                f"| {r.scenario.name}: warm wall / minimum at p50 <= 1.10 | {ratio:.2f} | {verdict(ratio <= 1.10)} |"
            )
        secrets = max(c.secrets for c in r.counts)
        lines.append(
            f"| {r.scenario.name}: Secrets Manager only at cold start | {r.first.secrets} cold, {secrets} warm | "
            f"{verdict(r.first.secrets == 1 and secrets == 0)} |"
        )
    for cold in colds.values():
        lines.append(
            f"| cold start of `{cold.function}` <= 1.25 x its third-party imports | {cold.ratio:.2f} "
            f"(CPU {cold.cpu_ratio:.2f}, median of pairs {cold.pair_ratio:.2f}) | "
            f"{verdict(cold.ratio <= 1.25)} |"
        )
    if layer is not None:
        mb = layer.unzipped / 1e6
        lines.append(f"| built layer <= 45 MB unzipped | {mb:.1f} MB | {verdict(mb <= 45)} |")
    return lines


def report(
    results: list[ScenarioResult],
    colds: dict[str, ColdStart],
    layer: LayerSize | None,
    *,
    latency: float,
    requests: int,
    command: str,
    loads: tuple[float, float] = (0.0, 0.0),
) -> str:
    info = machine()
    load = " / ".join(f"{a:.2f}" for a in loads)
    lines = [
        "# Benchmarks",
        "",
        "Produced by `scripts/bench.py` (`make bench`); rerun it to refresh this page. What each figure means and",
        "how it is measured is in the script's docstring; in short: the real handlers run in a worker process",
        "against the sandbox, every Salesforce and Zuora call waits a fixed injected latency, round trips are",
        "counted at the servers (simulator call logs; DynamoDB and Secrets Manager at the moto server's WSGI app),",
        "and the *physical minimum* of a request is its Salesforce + Zuora round trips times that latency.",
        "",
        f"- Command: `{command}`",
        f"- Injected latency: {latency * 1000:g} ms on every Salesforce and Zuora call; N = {requests} warm requests "
        f"per scenario after {WARM_UPS} warm-ups",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['os']}, Python {info['python']}",
        f"- Date: {info['date']}; load average before / after: {load}",
        "",
        "## Targets",
        "",
        *targets(results, colds, layer, latency),
        "",
        "## Where the warm overhead goes",
        "",
        "The minimum counts only Salesforce and Zuora. Each checkout also makes its DynamoDB round trips (idempotency",
        "record claimed and completed, checkpoint read, customer lock taken, lock released with the checkpoint saved),",
        "which here go to moto on loopback, and the simulators spend some time handling each call on top of the",
        "injected latency. All servers keep connections alive and answer with TCP_NODELAY, as the real services do,",
        "so no warm request pays a TCP or TLS handshake (see *New TCP connections*).",
        "",
        *findings(results, latency),
        "",
        "## Scenarios",
        "",
    ]
    for result in results:
        lines += scenario_table(result, colds.get(result.scenario.function), latency)
    if layer is not None:
        lines += [
            "## Built layer (`sam build`, CommonLayer)",
            "",
            "| metric | value |",
            "| --- | --- |",
            f"| unzipped | {layer.unzipped / 1e6:.1f} MB ({layer.unzipped / 2**20:.1f} MiB, {layer.files} files) |",
            f"| zipped (deflate) | {layer.zipped / 1e6:.1f} MB ({layer.zipped / 2**20:.1f} MiB) |",
            "| largest entries | " + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in layer.top) + " |",
            "",
            "`layers/common/Makefile` installs the arm64 wheels; `layers/common/slim_layer.py` then removes what",
            "the python3.13 runtime provides (boto3, botocore, s3transfer, jmespath, python-dateutil, six, urllib3)",
            "and files no code path reads (C and Cython sources and headers, type stubs, console scripts,",
            "simple-salesforce's Metadata API WSDL, Powertools' Swagger UI assets), and says why zeep and lxml stay.",
            "`tests/sam/test_layer.py` runs both handlers from the built layer alone.",
            "",
        ]
    for cold in colds.values():
        if cold.failed:
            lines += [f"Modules of `{cold.function}` that did not import on their own: {', '.join(cold.failed)}", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--latency-ms", type=float, default=float(os.environ.get("BENCH_LATENCY_MS", DEFAULT_LATENCY_MS))
    )
    parser.add_argument("-n", "--requests", type=int, default=int(os.environ.get("BENCH_REQUESTS", DEFAULT_REQUESTS)))
    parser.add_argument("--cold-runs", type=int, default=DEFAULT_COLD_RUNS)
    parser.add_argument("--scenario", action="append", choices=[s.name for s in SCENARIOS], help="repeatable")
    parser.add_argument("--no-layer", action="store_true", help="skip `sam build` and the layer size")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold start measurement")
    parser.add_argument("--profile", action="store_true", help="cProfile the warm requests (slower; not for figures)")
    parser.add_argument("--output", type=Path, default=None, help=f"write the report here (default {DOC.name})")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cold-app", nargs=2, metavar=("FUNCTION", "MODULES_OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--cold-libs", metavar="MODULES_IN", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker()
    if args.cold_app:
        return cold_app(args.cold_app[0], Path(args.cold_app[1]))
    if args.cold_libs:
        return cold_libs(Path(args.cold_libs))
    return run(args, argv if argv is not None else sys.argv[1:])


def run(args: argparse.Namespace, argv: list[str]) -> int:
    import logging

    from sandbox.stack import Sandbox, SandboxOptions

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    latency = args.latency_ms / 1000
    chosen = [s for s in SCENARIOS if not args.scenario or s.name in args.scenario]
    started, load_before = time.monotonic(), os.getloadavg()[0]
    results: list[ScenarioResult] = []
    colds: dict[str, ColdStart] = {}
    with Sandbox(SandboxOptions(latency=latency, read_timeout=10.0)) as sandbox, sandbox.aws_environment():
        meter = Meter(sandbox)
        for scenario in chosen:
            print(f"scenario {scenario.name} ...", file=sys.stderr, flush=True)
            result = run_scenario(sandbox, meter, scenario, args.requests, args.profile)
            results.append(result)
            if args.profile:
                print(result.profile, file=sys.stderr)
        if not args.no_cold:
            sandbox.reset()
            sandbox.salesforce.latency = sandbox.zuora.latency = 0.0
            for function in dict.fromkeys(s.function for s in chosen):
                print(f"cold start {function} ...", file=sys.stderr, flush=True)
                colds[function] = cold_start(sandbox, function, args.cold_runs)
    layer = None
    if not args.no_layer:
        print("sam build ...", file=sys.stderr, flush=True)
        layer = layer_size()
    command = "make bench" if not argv else f"python scripts/bench.py {' '.join(argv)}"
    loads = (load_before, os.getloadavg()[0])
    text = report(results, colds, layer, latency=latency, requests=args.requests, command=command, loads=loads)
    print(text)
    output = args.output or (DOC if not (args.scenario or args.no_layer or args.no_cold or args.profile) else None)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        print(f"written to {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}", file=sys.stderr)
    print(f"benchmark took {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
