"""The measuring half of `scripts/bench.py` (`make bench`): the worker process that runs a handler, cold starts in
fresh processes, round trips counted at the servers, and the built layer's size. What each figure means and how it
is measured: that script's docstring."""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_scenarios import Scenario

from sandbox.invoke import invoke, load_handler

ROOT = Path(__file__).resolve().parent.parent
BENCH_SCRIPT = Path(__file__).resolve().parent / "bench.py"  # the entry point: workers run it
COLD_SCRIPT = Path(__file__).resolve().parent / "bench_cold.py"  # a cold start in a fresh interpreter
SOURCE_COLD_RUNS = 3
WARM_UPS = 2
SF_TOKEN = "/services/oauth2/token"
ZUORA_TOKEN = "/oauth/token"


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
                profiler = cProfile.Profile(time.process_time)  # CPU time: the waits on servers are not ours
            started, cpu_started = time.perf_counter(), time.process_time()
            if command.get("profile") and profiler is not None:
                profiler.enable()
                response = invoke(module, command["event"])
                profiler.disable()
            else:
                response = invoke(module, command["event"])
            seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
            answers.write(
                json.dumps(
                    {
                        "seconds": seconds,
                        "cpu_seconds": cpu_seconds,
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
                if command.get("dump"):  # for scripts/bench_profile.py, pstats or flameprof
                    profiler.dump_stats(command["dump"])
            rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            answers.write(json.dumps({"maxrss_kib": rss_kib, "profile": text}) + "\n")
        elif op == "quit":
            break
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


# --- running ------------------------------------------------------------------------------------------


def _env(sandbox: Any) -> dict[str, str]:
    env = {**os.environ, **sandbox.environ()}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)])
    env["POWERTOOLS_LOG_LEVEL"] = os.environ.get("BENCH_LOG_LEVEL", "INFO")
    return env


class Worker:
    def __init__(self, sandbox: Any) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(BENCH_SCRIPT), "--worker"],
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
    cpu_seconds: list[float] = field(default_factory=list)  # the handler process's CPU time per request
    profile_dump: Path | None = None  # the cProfile stats of the warm requests (CPU clock), with --profile


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
        seconds, cpu_seconds, counts = [], [], []
        for maker in makers[WARM_UPS:]:
            event = maker()
            mark = meter.mark()
            answer = worker.ask(op="invoke", event=event, profile=profile, expect=scenario.expect_text)
            counts.append(meter.since(mark))
            seconds.append(answer["seconds"])
            cpu_seconds.append(answer["cpu_seconds"])
            _check(scenario, answer)
        dump = None
        if profile:
            handle, name = tempfile.mkstemp(prefix=f"bench-{scenario.name}-", suffix=".prof")
            os.close(handle)
            dump = Path(name)
        stats = worker.ask(op="stats", dump=str(dump) if dump else "")
    finally:
        worker.close()
    assert first is not None
    return ScenarioResult(
        scenario, seconds, counts, first, int(stats["maxrss_kib"]), stats.get("profile", ""), cpu_seconds, dump
    )


def _check(scenario: Scenario, answer: dict[str, Any], warm_up: bool = False) -> None:
    """Only requests that did what the scenario says are counted."""
    if answer["status"] != scenario.expect_status or not answer["expected"]:
        raise RuntimeError(f"{scenario.name}: HTTP {answer['status']} {answer['body']}")
    if scenario.replayed and not warm_up and not answer["replayed"]:
        raise RuntimeError(f"{scenario.name}: the answer was not an idempotent replay")


@dataclass
class ColdStart:
    """Fresh-process timings of one handler's cold start, of its third-party imports alone and of its naive import
    floor (scripts/bench_cold.py NAIVE_IMPORTS), run in triples."""

    function: str
    app_seconds: list[float]
    libs_seconds: list[float]
    modules: int
    failed: list[str]
    app_cpu: list[float] = field(default_factory=list)
    libs_cpu: list[float] = field(default_factory=list)
    source_app_seconds: list[float] = field(default_factory=list)
    source_libs_seconds: list[float] = field(default_factory=list)
    naive_seconds: list[float] = field(default_factory=list)
    naive_cpu: list[float] = field(default_factory=list)
    source_naive_seconds: list[float] = field(default_factory=list)
    packages: dict[str, int] = field(default_factory=dict)  # third-party top-level package -> modules it imported

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

    @property
    def naive_ratio(self) -> float:
        """Fastest cold start over the fastest naive floor, as `ratio`."""
        return min(self.app_seconds) / min(self.naive_seconds)

    @property
    def naive_pair_ratio(self) -> float:
        return statistics.median(a / b for a, b in zip(self.app_seconds, self.naive_seconds, strict=True))

    @property
    def naive_cpu_ratio(self) -> float:
        return min(self.app_cpu) / min(self.naive_cpu)

    @property
    def source_naive_ratio(self) -> float:
        if not self.source_app_seconds:
            return float("nan")
        return min(self.source_app_seconds) / min(self.source_naive_seconds)


def lambda_packages() -> list[str]:
    """Top-level modules a deployed function can import besides the stdlib: the layer's requirements
    (layers/common/requirements.txt) with their dependencies, and the runtime's boto3 with its own."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    lines = (ROOT / "layers" / "common" / "requirements.txt").read_text().splitlines()
    pending = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    pending.append(Requirement("boto3"))
    seen: set[tuple[str, frozenset[str]]] = set()
    modules: set[str] = set()
    while pending:
        requirement = pending.pop()
        key = (requirement.name.lower().replace("_", "-"), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = distribution(requirement.name)
        except PackageNotFoundError:
            continue
        for file in dist.files or []:
            top = file.parts[0]
            if not top.endswith((".dist-info", ".data")) and top not in ("..", "__pycache__", "bin"):
                modules.add(top.split(".")[0])
        for text in dist.requires or []:
            dependency = Requirement(text)
            markers = [{"extra": extra} for extra in (*requirement.extras, "")]
            if dependency.marker is None or any(dependency.marker.evaluate(m) for m in markers):
                pending.append(dependency)
    return sorted(modules)


def cold_start(sandbox: Any, function: str, runs: int, from_source: bool = True) -> ColdStart:
    """`runs` triples of fresh interpreters (scripts/bench_cold.py): the cold start, then the same third-party
    imports alone, then the naive import floor.

    Every process runs as in Lambda: LAMBDA_TASK_ROOT set (the X-Ray SDK behind Powertools Tracer builds its
    sampler's AWS clients only outside Lambda) and only the layer's and the runtime's packages importable.
    All sides import from bytecode: the processes share a pycache folder of their own, filled by a first,
    discarded triple (the environment may set PYTHONDONTWRITEBYTECODE, and sfzsync would then be compiled on every
    run while the venv's libraries are not). With `from_source`, SOURCE_COLD_RUNS more triples run with the
    stdlib's bytecode only: every other module is compiled from source, as in Lambda (the runtime's stdlib is
    compiled; a layer built by SAM or by pip --no-compile holds no bytecode, and /opt is read-only).
    """
    script = str(COLD_SCRIPT)
    result = ColdStart(function, [], [], 0, [])
    with tempfile.TemporaryDirectory(prefix="sfzsync-bench-") as tmp:
        listing, allowed = Path(tmp) / "modules.txt", Path(tmp) / "lambda-packages.txt"
        allowed.write_text("\n".join(lambda_packages()))
        cache, stdlib_only = Path(tmp) / "pycache", Path(tmp) / "stdlib-pycache"
        cached = {
            **_env(sandbox),
            "PYTHONPYCACHEPREFIX": str(cache),
            "LAMBDA_TASK_ROOT": str(ROOT / "functions" / function),
            "BENCH_LAMBDA_PACKAGES": str(allowed),
        }
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        uncached = {**cached, "PYTHONPYCACHEPREFIX": str(stdlib_only), "PYTHONDONTWRITEBYTECODE": "1"}

        def triple(env: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
            app = _run_json([sys.executable, script, "app", function, str(listing)], env)
            libs = _run_json([sys.executable, script, "libs", str(listing)], env)
            naive = _run_json([sys.executable, script, "naive", function], env)
            result.modules, result.failed, result.packages = app["third_party"], libs["failed"], app["packages"]
            return app, libs, naive

        triple(cached)
        stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve().relative_to("/")
        shutil.copytree(cache / stdlib, stdlib_only / stdlib)  # the Lambda runtime's stdlib is compiled
        for _ in range(runs):
            app, libs, naive = triple(cached)
            result.app_seconds.append(app["seconds"])
            result.libs_seconds.append(libs["seconds"])
            result.naive_seconds.append(naive["seconds"])
            result.app_cpu.append(app["cpu"])
            result.libs_cpu.append(libs["cpu"])
            result.naive_cpu.append(naive["cpu"])
        for _ in range(SOURCE_COLD_RUNS if from_source else 0):
            app, libs, naive = triple(uncached)
            result.source_app_seconds.append(app["seconds"])
            result.source_libs_seconds.append(libs["seconds"])
            result.source_naive_seconds.append(naive["seconds"])
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
