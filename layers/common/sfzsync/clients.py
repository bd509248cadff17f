"""The clients of a cold start, built once from the settings and shared by every invocation of the container."""

from __future__ import annotations

from dataclasses import dataclass

from sfzsync.gateways.dynamodb import DynamoDBClient, dynamodb_client
from sfzsync.gateways.transport import TimeoutSession
from sfzsync.gateways.zuora import ZuoraRestGateway
from sfzsync.settings import Settings


@dataclass(frozen=True)
class Clients:
    http: TimeoutSession  # every Salesforce and Zuora call goes through it: timeouts bounded by the deadline
    dynamodb: DynamoDBClient
    zuora: ZuoraRestGateway


def build_clients(settings: Settings) -> Clients:
    runtime = settings.runtime
    http = TimeoutSession(runtime.connect_timeout, runtime.read_timeout)
    return Clients(
        http=http,
        dynamodb=dynamodb_client(runtime.dynamodb_connect_timeout, runtime.dynamodb_read_timeout),
        zuora=ZuoraRestGateway(settings.secret.zuora, http),
    )
