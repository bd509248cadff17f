"""`python -m sfzsync.operations <command>`: what an operator runs against a deployment (or the sandbox).

    ops      the failure ledger: failed checkouts and pushes, newest first, and whether a later attempt succeeded
    doctor   read-only checks of the secret against the live Salesforce and Zuora

Both read `IDEMPOTENCY_TABLE` / `SECRET_ID` and AWS credentials from the environment, as the functions do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
from collections.abc import Sequence

from sfzsync.operations.ledger import FailureLedger, FailureRecord

_DURATION = re.compile(r"^(\d+)([mhd])$")


def _since(text: str) -> dt.datetime:
    match = _DURATION.match(text)
    if match:
        amount, unit = int(match[1]), match[2]
        delta = {"m": dt.timedelta(minutes=amount), "h": dt.timedelta(hours=amount), "d": dt.timedelta(days=amount)}
        return dt.datetime.now(dt.UTC) - delta[unit]
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def _state(record: FailureRecord) -> str:
    return f"resolved {record.resolved_at}" if record.resolved_at else "unresolved"


def print_failures(records: Sequence[FailureRecord]) -> None:
    if not records:
        print("no failures recorded in that window")
        return
    columns = ("last failed", "kind", "key hash", "stage", "code", "HTTP", "retry", "tries", "customer", "state")
    rows = [
        (
            r.failed_at,
            r.kind,
            r.key_hash,
            r.stage,
            r.code,
            str(r.status),
            "yes" if r.retryable else "no",
            str(r.attempts),
            r.customer or "",
            _state(r),
        )
        for r in records
    ]
    widths = [max(len(columns[i]), *(len(row[i]) for row in rows)) for i in range(len(columns))]
    print("  ".join(name.ljust(widths[i]) for i, name in enumerate(columns)))
    for row in rows:
        print("  ".join(value.ljust(widths[i]) for i, value in enumerate(row)))
    for record in records:
        if record.upstream_request_ids:
            print(f"{record.key_hash}: upstream request ids {', '.join(record.upstream_request_ids)}")


def ops(args: argparse.Namespace) -> int:
    from sfzsync.gateways.dynamodb import dynamodb_client

    table = os.environ.get("IDEMPOTENCY_TABLE")
    if not table:
        print("set IDEMPOTENCY_TABLE (the stack output IdempotencyTableName)", file=sys.stderr)
        return 2
    ledger = FailureLedger(dynamodb_client(3.0, 10.0), table)
    records = [
        r
        for r in ledger.list(_since(args.since), limit=args.limit)
        if (args.stage is None or r.stage == args.stage)
        and (args.code is None or r.code == args.code)
        and not (args.unresolved and r.resolved_at)
    ]
    print_failures(records)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sfzsync.operations", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("ops", help="list the failure ledger")
    listing.add_argument("--since", default="24h", help="a duration (30m, 24h, 7d) or an ISO time; default 24h")
    listing.add_argument("--stage", help="only this stage (salesforce_lookup, zuora_order, storage, ...)")
    listing.add_argument("--code", help="only this error code")
    listing.add_argument("--unresolved", action="store_true", help="only failures no later attempt fixed")
    listing.add_argument("--limit", type=int, default=200)
    doctor = commands.add_parser("doctor", help="check the secret against the live services (read-only)")
    doctor.add_argument("--secret-id", default=os.environ.get("SECRET_ID"))
    args = parser.parse_args(argv)
    if args.command == "ops":
        return ops(args)
    from sfzsync.operations.doctor import run_doctor

    return run_doctor(args.secret_id)
