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
- Cold start (scripts/bench_cold.py): in a fresh interpreter that has imported nothing but the stdlib, the time
  the handler's cold start takes (import it, read the secret, build the configuration and clients), against a
  fresh interpreter importing only the third-party modules that cold start imported, and against the *naive
  floor*: a fresh interpreter importing what a developer writing the handler would put at its top (boto3,
  pydantic, requests, simple_salesforce and the Powertools pieces it uses; `NAIVE_IMPORTS`). `--cold-runs`
  back-to-back triples, fastest over fastest (other load on the machine only adds time), with the median of the
  ratios beside it. Every process runs as in Lambda: LAMBDA_TASK_ROOT set, and only the layer's requirements and
  the runtime's boto3 (with their dependencies) importable. All sides import from bytecode; a few more triples
  compile everything but the stdlib from source, as Lambda does with a layer that holds no bytecode. The report
  lists the third-party packages the cold start imported (zeep and lxml must not be among the checkout's).
- Peak memory: the worker's `ru_maxrss` after its cold start and all its requests.
- `--profile` runs the warm requests under cProfile (CPU clock) and writes where their CPU time goes to
  docs/profile.md, with a flame graph per scenario (`scripts/bench_profile.py`); not for figures.
- Layer size: `sam build` the way tests/sam does, then the CommonLayer folder's bytes and its zip (deflate).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "layers" / "common"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench_backfill import measure_backfill  # noqa: E402
from bench_measure import (  # noqa: E402
    ColdStart,
    Meter,
    ScenarioResult,
    cold_start,
    layer_size,
    run_scenario,
    worker,
)
from bench_profile import write_profile  # noqa: E402
from bench_report import report  # noqa: E402
from bench_scenarios import SCENARIOS  # noqa: E402

DEFAULT_LATENCY_MS = 40.0
DEFAULT_REQUESTS = 30
DEFAULT_COLD_RUNS = 7
DEFAULT_BACKFILL_ACCOUNTS = 10_000
DOC = ROOT / "docs" / "benchmarks.md"
PROFILE_DOC = ROOT / "docs" / "profile.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--latency-ms", type=float, default=float(os.environ.get("BENCH_LATENCY_MS", DEFAULT_LATENCY_MS))
    )
    parser.add_argument("-n", "--requests", type=int, default=int(os.environ.get("BENCH_REQUESTS", DEFAULT_REQUESTS)))
    parser.add_argument("--cold-runs", type=int, default=DEFAULT_COLD_RUNS)
    parser.add_argument(
        "--scenario", action="append", choices=[*(s.name for s in SCENARIOS), "backfill"], help="repeatable"
    )
    parser.add_argument(
        "--backfill-accounts",
        type=int,
        default=DEFAULT_BACKFILL_ACCOUNTS,
        help="Zuora accounts of the backfill scenario (the scripts/bench_backfill.py table)",
    )
    parser.add_argument("--no-layer", action="store_true", help="skip `sam build` and the layer size")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold start measurement")
    parser.add_argument("--profile", action="store_true", help="cProfile the warm requests (slower; not for figures)")
    parser.add_argument("--output", type=Path, default=None, help=f"write the report here (default {DOC.name})")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker()
    return run(args, argv if argv is not None else sys.argv[1:])


def run(args: argparse.Namespace, argv: list[str]) -> int:
    import logging

    from sandbox.stack import Sandbox, SandboxOptions

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    latency = args.latency_ms / 1000
    chosen = [s for s in SCENARIOS if not args.scenario or s.name in args.scenario]
    with_backfill = not args.scenario or "backfill" in args.scenario
    backfill = None
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
        if with_backfill:
            print(f"scenario backfill ({args.backfill_accounts} accounts) ...", file=sys.stderr, flush=True)
            backfill = measure_backfill(sandbox, args.backfill_accounts, latency, batch_size=500, concurrency=8)
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
    text = report(
        results, colds, layer, latency=latency, requests=args.requests, command=command, loads=loads, backfill=backfill
    )
    print(text)
    output = args.output or (DOC if not (args.scenario or args.no_layer or args.no_cold or args.profile) else None)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        print(f"written to {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}", file=sys.stderr)
    if args.profile:
        write_profile(results, PROFILE_DOC, command)
        print(f"profile written to {PROFILE_DOC.relative_to(ROOT)}", file=sys.stderr)
    print(f"benchmark took {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
