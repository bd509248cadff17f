"""`scripts/bench.py --profile`: where the handler process's CPU time goes on a warm request, written to docs/profile.md
with a flame graph per scenario (docs/profile/<scenario>.svg, drawn by flameprof from the cProfile stats).

The profile runs on the CPU clock (`time.process_time`), so the waits on Salesforce, Zuora and DynamoDB are not in it;
cProfile's own cost inflates every figure, so the page shows shares of the whole, and the bench's unprofiled run
gives the milliseconds.
"""

from __future__ import annotations

import pstats
import subprocess
import sys
from pathlib import Path

from bench_measure import ScenarioResult

# Inclusive CPU of these entry points; none calls another, so their shares add up.
PARTS = (
    ("DynamoDB calls (botocore: serialise, sign, send, parse)", "botocore/client.py", "_api_call"),
    ("Salesforce and Zuora calls (requests, urllib3, http.client, TLS)", "requests/sessions.py", "request"),
)
TOP = 20


def cpu_split(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Each part's share of the profiled CPU time; the rest is Powertools, pydantic and this package's own code."""
    table = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    shares = []
    for title, file, function in PARTS:
        inclusive = sum(ct for (f, _, name), (_, _, _, ct, _) in table.items() if f.endswith(file) and name == function)
        shares.append((title, inclusive / total))
    shares.append(("Powertools, pydantic, logging and this package's code (the rest)", 1 - sum(s for _, s in shares)))
    return shares


def top_functions(stats: pstats.Stats) -> list[tuple[str, int, float]]:
    """The functions with the most CPU time of their own: (name, calls, share of the total)."""
    table = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:TOP]
    return [(_short(file, line, name), calls, own / total) for (file, line, name), (_, calls, own, _, _) in rows]


def _short(file: str, line: int, name: str) -> str:
    for marker in ("site-packages/", "layers/common/", "/lib/python3.", "/work/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            file = file.split("/", 1)[1] if marker == "/lib/python3." else file
            break
    return f"{file}:{line}({name})" if file != "~" else name


def write_profile(results: list[ScenarioResult], doc: Path, command: str) -> None:
    """docs/profile.md and one flame graph per profiled scenario."""
    lines = [
        "# Where a warm request's CPU time goes",
        "",
        f"Written by `{command}`. cProfile on the CPU clock in the handler's worker process, over the warm requests",
        "of each scenario (the waits on the servers are not CPU time, so they are not here). Shares of the profiled",
        "time; `docs/benchmarks.md` has the unprofiled milliseconds (*Handler-process CPU time per request*).",
        "",
    ]
    for result in results:
        if result.profile_dump is None:
            continue
        stats = pstats.Stats(str(result.profile_dump))
        svg = doc.parent / "profile" / f"{result.scenario.name}.svg"
        svg.parent.mkdir(parents=True, exist_ok=True)
        drawn = subprocess.run(
            [sys.executable, "-m", "flameprof", "--threshold", "0.5", "-o", str(svg), str(result.profile_dump)],
            capture_output=True,
            check=False,
        )
        lines += [f"## {result.scenario.title}", "", "| part | share of the CPU time |", "| --- | --- |"]
        lines += [f"| {title} | {share:.0%} |" for title, share in cpu_split(stats)]
        lines += ["", f"Top {TOP} functions by their own CPU time:", "", "| function | calls | own share |"]
        lines += ["| --- | --- | --- |"]
        lines += [f"| `{name}` | {calls} | {share:.1%} |" for name, calls, share in top_functions(stats)]
        if drawn.returncode == 0:
            link = svg.relative_to(doc.parent)
            lines += [
                "",
                f"Flame graph: [{link}]({link}) (flameprof rebuilds stacks from cProfile's caller-callee pairs, so",
                "deep stacks are approximate; the shares above are exact).",
            ]
        lines.append("")
        result.profile_dump.unlink(missing_ok=True)
    doc.write_text("\n".join(lines))
