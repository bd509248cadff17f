#!/usr/bin/env python3
"""`make backfill`: the backfill's local command over the offline sandbox, seeded with the mix of accounts the
backfill meets (`sandbox.backfill_mix`). Every option of `python -m sfzsync.backfill` passes through:

    make backfill                                   # 2,000 accounts, dry run first, then the real run
    make backfill BACKFILL_ARGS="--accounts 10000 --create-missing"
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "backfill")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "SfzSync")

from sandbox.backfill_mix import seed_backfill_mix
from sandbox.stack import Sandbox, SandboxOptions
from sfzsync.backfill.cli import main as backfill

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=2000, help="Zuora accounts to seed (default 2000)")
    parser.add_argument("--no-dry-run-first", action="store_true", help="skip the dry run before the real run")
    args, passed = parser.parse_known_args()
    # Each invocation gets a sandbox of its own, so its runs go in a directory of their own (kept, to be read).
    runs_dir = ROOT / ".cache" / "backfill-runs" / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    with Sandbox(SandboxOptions()) as sandbox, sandbox.aws_environment():
        mix = seed_backfill_mix(sandbox.salesforce, sandbox.zuora, args.accounts)
        shares = ", ".join(f"{count} {name}" for name, count in sorted(mix.counts().items()))
        print(f"Sandbox seeded: {args.accounts} Zuora accounts ({shares})\n")
        runs = ["--runs-dir", str(runs_dir), "--poll-seconds", "0.2", *passed]
        document = sandbox.secret_document()
        if "--dry-run" not in passed and not args.no_dry_run_first:
            print("== Dry run (writes nothing) ==")
            if backfill([*runs, "--dry-run"], secret_document=document) != 0:
                return 1
            print("\n== The run ==")
        return backfill(runs, secret_document=document)


if __name__ == "__main__":
    sys.exit(main())
