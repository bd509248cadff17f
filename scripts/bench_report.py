"""The report half of `scripts/bench.py` (`make bench`): docs/benchmarks.md, its targets, findings and tables,
from the measured results."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
from collections import Counter
from pathlib import Path

from bench_backfill import BackfillResult, backfill_section
from bench_measure import WARM_UPS, ColdStart, LayerSize, ScenarioResult

# The load table `scripts/load.py` (`make load`) writes between these markers; a rewrite of the page keeps it.
LOAD_START, LOAD_END = "<!-- load:start -->", "<!-- load:end -->"
# Issue 13: a cold start below what importing the naive set alone costs (scripts/bench_cold.py NAIVE_IMPORTS).
NAIVE_FLOOR_TARGETS = {"checkout": 0.85, "send_to_zuora": 1.0}
# Only simple-salesforce's SOAP Metadata API needs them; the checkout never calls it.
NOT_IN_CHECKOUT = frozenset({"zeep", "lxml"})


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * pct / 100
    low, high = int(rank), min(int(rank) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


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
        ("Handler-process CPU time per request, p50 / p95", _cpu_ms(result)),
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
            (
                f"Its naive import floor (`{cold.function}` in bench_cold.NAIVE_IMPORTS)",
                fastest_and_median(cold.naive_seconds),
            ),
            (
                "Cold start / naive floor: fastest runs (median of the ratios)",
                f"{cold.naive_ratio:.2f} ({cold.naive_pair_ratio:.2f})",
            ),
            ("  the same in CPU time, fastest runs", f"{cold.naive_cpu_ratio:.2f}"),
        ]
        if cold.source_app_seconds:
            rows.append(
                (
                    "Compiled from source, stdlib excepted (as in Lambda): cold start / imports, fastest",
                    f"{min(cold.source_app_seconds) * 1000:.0f} ms / {min(cold.source_libs_seconds) * 1000:.0f} ms "
                    f"({cold.source_ratio:.2f})",
                )
            )
            rows.append(
                (
                    "Compiled from source, stdlib excepted (as in Lambda): cold start / naive floor, fastest",
                    f"{min(cold.source_app_seconds) * 1000:.0f} ms / {min(cold.source_naive_seconds) * 1000:.0f} ms "
                    f"({cold.source_naive_ratio:.2f})",
                )
            )
    rows.append(("Peak RSS of the worker process", f"{result.maxrss_kib / 1024:.0f} MiB"))
    lines = [f"### {result.scenario.title}", "", "| metric | value |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return [*lines, ""]


def _own_time_ms(result: ScenarioResult) -> list[float]:
    """Each request's wall time less the time spent inside moto and inside the simulators (latency excluded)."""
    return [(s - c.aws_seconds - c.sim_seconds) * 1000 for s, c in zip(result.seconds, result.counts, strict=True)]


def _cpu_ms(result: ScenarioResult) -> str:
    ms = [s * 1000 for s in result.cpu_seconds]
    return f"{percentile(ms, 50):.1f} ms / {percentile(ms, 95):.1f} ms" if ms else "n/a"


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
            f"{p50 - floor - moto - sims:.0f} ms elsewhere: the loopback transfers, the servers' HTTP parsing "
            f"outside their handlers, and the handler process, whose own CPU time is {_cpu_ms(r)} (p50 / p95)."
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
        if r.scenario.checkout and r.cpu_seconds:
            cpu = percentile(r.cpu_seconds, 50) * 1000
            lines.append(
                f"| {r.scenario.name}: handler-process overhead (CPU) <= 10 ms at p50 | {cpu:.1f} ms | "
                f"{verdict(cpu <= 10)} |"
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
        naive_limit = NAIVE_FLOOR_TARGETS.get(cold.function)
        if naive_limit is not None and cold.naive_seconds:
            lines.append(
                f"| cold start of `{cold.function}` <= {naive_limit:.2f} x its naive import floor | "
                f"{cold.naive_ratio:.2f} (CPU {cold.naive_cpu_ratio:.2f}, median of triples "
                f"{cold.naive_pair_ratio:.2f}) | {verdict(cold.naive_ratio <= naive_limit)} |"
            )
        if cold.function == "checkout":
            present = sorted(set(cold.packages) & NOT_IN_CHECKOUT)
            lines.append(
                f"| cold start of `checkout` imports neither zeep nor lxml | "
                f"{', '.join(present) + ' imported' if present else 'neither'} | {verdict(not present)} |"
            )
    if layer is not None:
        mb = layer.unzipped / 1e6
        lines.append(f"| built layer <= 45 MB unzipped | {mb:.1f} MB | {verdict(mb <= 45)} |")
    return lines


def cold_start_imports(colds: dict[str, ColdStart]) -> list[str]:
    """Which third-party packages each cold start imports (and how many of their modules)."""
    if not colds:
        return []
    lines = [
        "## What a cold start imports",
        "",
        "Third-party packages each handler's cold start imported (modules of each), in the Lambda-like fresh",
        "interpreter of the cold start figures; simple-salesforce's SOAP Metadata API (zeep, lxml), its login helpers",
        "(PyJWT, cryptography) and its Bulk API load only when called (`sfzsync.deferred_imports`).",
        "",
        "| handler | packages |",
        "| --- | --- |",
    ]
    for cold in colds.values():
        packages = sorted(cold.packages.items(), key=lambda item: (-item[1], item[0]))
        lines.append(f"| `{cold.function}` | " + ", ".join(f"{name} {count}" for name, count in packages) + " |")
    return [*lines, ""]


def backfill_targets(result: BackfillResult) -> list[str]:
    """The backfill's rows of the Targets table (the first line of which `targets` wrote)."""
    per = result.salesforce / result.accounts
    lost = result.accounts - sum(result.outcomes.values())
    failed = result.outcomes["failed"]
    return [
        f"| backfill: Salesforce calls per account <= 1/50 | 1/{1 / per:.0f} | "
        f"{'met' if per <= 1 / 50 else '**missed**'} |",
        f"| backfill: every account reported, none failed | {lost} missing, {failed} failed | "
        f"{'met' if not lost and not failed else '**missed**'} |",
    ]


def report(
    results: list[ScenarioResult],
    colds: dict[str, ColdStart],
    layer: LayerSize | None,
    *,
    latency: float,
    requests: int,
    command: str,
    loads: tuple[float, float] = (0.0, 0.0),
    backfill: BackfillResult | None = None,
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
        *(backfill_targets(backfill) if backfill is not None else []),
        "",
        "## Where the warm overhead goes",
        "",
        "The minimum counts only Salesforce and Zuora. Each checkout also makes its DynamoDB round trips (idempotency",
        "record claimed and completed, checkpoint read, customer lock taken, lock released with the checkpoint saved),",
        "which here go to moto on loopback, and the simulators spend some time handling each call on top of the",
        "injected latency. All servers keep connections alive and answer with TCP_NODELAY, as the real services do,",
        "so no warm request pays a TCP or TLS handshake (see *New TCP connections*). Where the handler process's own",
        "CPU time goes, with flame graphs: [profile.md](profile.md) (`python scripts/bench.py --scenario new-customer",
        "--scenario contact-email --no-layer --no-cold --profile`).",
        "",
        *findings(results, latency),
        "",
        "## Scenarios",
        "",
    ]
    for result in results:
        lines += scenario_table(result, colds.get(result.scenario.function), latency)
    lines += cold_start_imports(colds)
    if backfill is not None:
        lines += backfill_section(backfill)
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
            "simple-salesforce's Metadata API WSDL, Powertools' Swagger UI assets), and zeep, lxml and what only they",
            "need (simple-salesforce's SOAP Metadata API, which `sfzsync.deferred_imports` keeps from being imported).",
            "`tests/sam/test_layer.py` runs both handlers from the built layer alone.",
            "",
        ]
    for cold in colds.values():
        if cold.failed:
            lines += [f"Modules of `{cold.function}` that did not import on their own: {', '.join(cold.failed)}", ""]
    lines += kept_load_block()
    return "\n".join(lines).rstrip() + "\n"


def kept_load_block() -> list[str]:
    """The load block of docs/benchmarks.md as it stands (empty when it has none)."""
    doc = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
    text = doc.read_text() if doc.exists() else ""
    start, end = text.find(LOAD_START), text.find(LOAD_END)
    return [text[start : end + len(LOAD_END)], ""] if 0 <= start < end else []
