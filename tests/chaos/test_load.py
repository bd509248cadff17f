"""`make load`, small: scripts/load.py run as `make load` runs it, with a burst well beyond Zuora's concurrent request
limit and a Salesforce allowance spent again and again, so that 429s, REQUEST_LIMIT_EXCEEDED and the allowance breaker
all happen. Every checkout must still complete, once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKOUTS = 36


def run_load(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "load.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)])}
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "load.py"), *args, "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    figures: dict[str, Any] = json.loads(out.read_text())
    return figures


@pytest.mark.slow  # about 30 s: a sandbox and six containers of its own
def test_a_burst_beyond_zuoras_limit_and_salesforces_allowance_completes_every_checkout_once(tmp_path: Path) -> None:
    # Given Zuora admitting 2 requests at once (429 beyond, Retry-After 1 s) and Salesforce allowing 10 API calls
    # per 2 s window (403 REQUEST_LIMIT_EXCEEDED beyond)
    # When 36 checkouts run, 6 at once in their own containers, each retried by its merchant while `retryable`
    figures = run_load(
        tmp_path,
        f"--checkouts={CHECKOUTS}",
        "--in-flight=6",
        "--zuora-concurrency=2",
        "--zuora-latency-ms=100",
        "--salesforce-allowance=10",
        "--salesforce-window-seconds=2",
    )

    # Then every checkout completed, none twice and none lost
    assert figures["completed"] == CHECKOUTS
    assert figures["duplicates"] == []
    assert figures["lost"] == []
    # And Zuora's limit held and was hit, and Salesforce's allowance ran out on the way
    assert figures["zuora_max_in_flight"] <= 2
    assert figures["zuora_refused"] > 0
    assert figures["salesforce_refused"] > 0
