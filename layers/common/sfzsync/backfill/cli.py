"""`python -m sfzsync.backfill`: link the Zuora accounts of a tenant from this machine (`make backfill` runs it over the
sandbox). Dry run first: `--dry-run` reads both systems, decides, reports, and writes nothing anywhere."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sfzsync.backfill.connect import connect, options_of
from sfzsync.backfill.local import run_local
from sfzsync.backfill.progress import ProgressBar
from sfzsync.errors import ConfigurationError, DataQueryFailedError, UpstreamError
from sfzsync.observability import logger
from sfzsync.settings import SecretDocument, parse_secret


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(
        prog="python -m sfzsync.backfill",
        description="Link every Zuora account without a valid CRM Account ID to its Salesforce Account, with the "
        "checkout's matching rules. Resumes an interrupted run; ends with report.csv and report.md.",
    )
    where = parse.add_mutually_exclusive_group()
    where.add_argument("--secret-file", type=Path, help="the secret's JSON document (README: Configuration)")
    where.add_argument("--secret-id", help="name or ARN of the Secrets Manager secret (AWS credentials needed)")
    parse.add_argument("--dry-run", action="store_true", help="decide and report, write nothing anywhere")
    parse.add_argument(
        "--create-missing", action="store_true", help="create Account + Contact for accounts nothing matches"
    )
    parse.add_argument("--runs-dir", type=Path, default=Path("backfill-runs"), help="where runs and reports go")
    parse.add_argument("--batch-size", type=int, default=500, help="accounts per batch (default 500)")
    parse.add_argument("--concurrency", type=int, default=8, help="Zuora writes in flight at once (default 8)")
    parse.add_argument("--restart", action="store_true", help="abandon an unfinished run instead of resuming it")
    parse.add_argument("--poll-seconds", type=float, default=5.0, help="between Data Query job checks (default 5)")
    parse.add_argument("--verbose", action="store_true", help="log every step (JSON, on stdout)")
    return parse


def main(argv: Sequence[str] | None = None, secret_document: dict[str, Any] | None = None) -> int:
    """Run the command; `secret_document` (the sandbox's, for `make backfill`) stands in for --secret-file."""
    args = parser().parse_args(argv)
    logger.setLevel("INFO" if args.verbose else "ERROR")
    try:
        secret = _secret(args, secret_document)
        options = options_of(secret, dry_run=args.dry_run, create_missing=args.create_missing)
        connections = connect(secret, concurrency=args.concurrency)
        # Off Lambda nobody collects metrics: the EMF lines Powertools prints as they pile up are dropped, not shown.
        with _quiet_stdout(not args.verbose):
            finished = run_local(
                connections.gateways,
                connections.data_query,
                options,
                args.runs_dir,
                batch_size=args.batch_size,
                progress=ProgressBar(),
                restart=args.restart,
                poll_seconds=args.poll_seconds,
            )
    except (ConfigurationError, DataQueryFailedError) as error:
        print(f"backfill: {error}", file=sys.stderr)
        return 1
    except UpstreamError as error:
        print(f"backfill: {error} (run the command again to resume)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nbackfill: interrupted; run the command again to resume", file=sys.stderr)
        return 130
    print(finished.summary.markdown())
    print(f"Report: {finished.directory / 'report.csv'} and {finished.directory / 'report.md'}")
    counters, patience = connections.gateways.counters, connections.gateways.patience
    print(
        f"Calls: {counters.salesforce_lookups} Salesforce lookups, {counters.salesforce_creates} creates; "
        f"{counters.zuora_reads} Zuora reads, {counters.zuora_writes} writes; "
        f"{patience.waits} waits on rate limits ({patience.waited_seconds:.0f} s)"
    )
    return 0


@contextlib.contextmanager
def _quiet_stdout(quiet: bool) -> Iterator[None]:
    if not quiet:
        yield
        return
    with open(os.devnull, "w", encoding="utf-8") as devnull, contextlib.redirect_stdout(devnull):
        yield


def _secret(args: argparse.Namespace, document: dict[str, Any] | None) -> SecretDocument:
    if document is not None:
        return parse_secret(document)
    if args.secret_file is not None:
        try:
            return parse_secret(json.loads(args.secret_file.read_text(encoding="utf-8")))
        except (OSError, ValueError) as error:
            raise ConfigurationError(f"cannot read {args.secret_file}: {type(error).__name__}") from None
    if args.secret_id:
        return _secret_from_aws(args.secret_id)
    raise ConfigurationError("give --secret-file or --secret-id (or run `make backfill` for the sandbox)")


def _secret_from_aws(secret_id: str) -> SecretDocument:
    import boto3

    answer = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)
    try:
        return parse_secret(json.loads(answer["SecretString"]))
    except ValueError:
        raise ConfigurationError(f"secret {secret_id} is not valid JSON") from None
