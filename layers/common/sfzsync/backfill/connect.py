"""The backfill's gateways, built once from the secret: one HTTP session sized to the write concurrency, whose every
Zuora answer is read for its rate-limit headers, and the patience that waits out what Salesforce and Zuora refuse."""

from __future__ import annotations

from dataclasses import dataclass

from sfzsync.backfill.models import Options
from sfzsync.backfill.pacing import Patience, RateLimitWatch
from sfzsync.backfill.writes import Gateways
from sfzsync.gateways.salesforce import SalesforceRestGateway
from sfzsync.gateways.transport import TimeoutSession
from sfzsync.gateways.zuora_data_query import DataQueryGateway, ZuoraDataQueryGateway
from sfzsync.settings import SecretDocument


@dataclass(frozen=True)
class Connections:
    gateways: Gateways
    data_query: DataQueryGateway
    watch: RateLimitWatch


def connect(
    secret: SecretDocument,
    *,
    concurrency: int = 8,
    connect_timeout: float = 3.05,
    read_timeout: float = 30.0,
    patience: Patience | None = None,
) -> Connections:
    session = TimeoutSession(connect_timeout, read_timeout, pool_size=concurrency + 2)
    watch = RateLimitWatch()
    session.hooks["response"].append(watch.observe)
    zuora = ZuoraDataQueryGateway(secret.zuora, session)
    salesforce = SalesforceRestGateway(secret.salesforce, session)
    if patience is None:
        patience = Patience(watch=watch)
    else:
        patience.watch = watch
    return Connections(Gateways(salesforce, zuora, patience, concurrency), zuora, watch)


def options_of(secret: SecretDocument, *, dry_run: bool, create_missing: bool) -> Options:
    """The run's options: the matching configuration is the checkout's (the secret's `matching`, `accountDefaults`)."""
    return Options(
        dry_run=dry_run,
        create_missing=create_missing,
        rules=tuple(secret.matching.rules),
        domain_field=secret.matching.domainField,
        account_defaults=dict(secret.accountDefaults),
    )
