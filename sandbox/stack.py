"""The whole offline sandbox: Salesforce and Zuora simulators over HTTPS and a moto server for AWS, on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from .core import KeepAliveRequestHandler
from .salesforce import SalesforceSim
from .tls import SandboxCA
from .zuora import ZuoraSim

REGION = "us-east-1"
SECRET_NAME = "sfzsync/sandbox"
TABLE_NAME = "sfzsync-sandbox-idempotency"
BACKFILL_BUCKET = "sfzsync-sandbox-backfill"  # the backfill state machine's bucket (template.yaml BackfillBucket)
SIGNING_SECRET = "sandbox-signing-secret-0123456789abcdef"
SF_CLIENT = ("sandbox-sf-client", "sandbox-sf-secret")
ZUORA_CLIENT = ("sandbox-zuora-client", "sandbox-zuora-secret")
JWT_USERNAME = "integration@sandbox.example"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _MotoHandler(KeepAliveRequestHandler, MotoRequestHandler):
    """moto's request handling over kept-alive connections, as the real AWS endpoints offer."""


class _SerialDynamoDB:
    """DynamoDB answers each request atomically (a transaction is all-or-nothing, and serialisable with the others);
    moto checks, writes and rolls a cancelled transaction back by restoring a copy of the whole table, which undoes
    the writes of requests served meanwhile. One DynamoDB request at a time restores the service's isolation."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_"):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))


class _MotoServer(ThreadedMotoServer):
    """ThreadedMotoServer (moto 5.2) with keep-alive: a new connection per DynamoDB call is not what Lambda pays."""

    def _server_entry(self) -> None:
        app = _SerialDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=_MotoHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


@dataclass
class SandboxOptions:
    auth_flow: str = "client_credentials"
    rules: list[str] = field(default_factory=lambda: ["contact_email", "account_domain"])
    domain_field: str | None = None
    person_accounts: bool = False
    email_internationalization: bool = False
    latency: float = 0.0
    read_timeout: float = 5.0
    zuora_version: str = "2025-08-12"
    previous_signing_secrets: list[str] = field(default_factory=list)


class Sandbox:
    """Start with `with Sandbox() as sandbox:`; `sandbox.environ()` is what a Lambda would be given."""

    def __init__(self, options: SandboxOptions | None = None, workdir: Path | None = None) -> None:
        self.options = options or SandboxOptions()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="sfzsync-sandbox-")
            workdir = Path(self._tmp.name)
        self.workdir = workdir
        self.ca = SandboxCA(self.workdir)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwt_private_key = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public_pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        self.salesforce = SalesforceSim(
            self.ca.server_context(),
            client_id=SF_CLIENT[0],
            client_secret=SF_CLIENT[1],
            jwt_public_key_pem=public_pem,
            jwt_username=JWT_USERNAME,
            person_accounts=self.options.person_accounts,
            email_internationalization=self.options.email_internationalization,
        )
        self.zuora = ZuoraSim(self.ca.server_context(), client_id=ZUORA_CLIENT[0], client_secret=ZUORA_CLIENT[1])
        self.salesforce.latency = self.zuora.latency = self.options.latency
        self.aws_port = free_port()
        self._moto = _MotoServer(ip_address="127.0.0.1", port=self.aws_port, verbose=False)

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        self.salesforce.start()
        self.zuora.start()
        self._moto.start()
        with self.aws_environment():
            self._create_aws_resources()
        return self

    def stop(self) -> None:
        self.salesforce.stop()
        self.zuora.stop()
        self._moto.stop()
        if self._tmp:
            self._tmp.cleanup()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- configuration ---------------------------------------------------------------------------
    @property
    def aws_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"

    def secret_document(self) -> dict[str, Any]:
        salesforce: dict[str, Any] = {
            "loginUrl": self.salesforce.url,
            "authFlow": self.options.auth_flow,
            "clientId": SF_CLIENT[0],
            "apiVersion": "62.0",
            "orgId": self.salesforce.org_id,
            "allowedDomains": [f"127.0.0.1:{self.salesforce.port}"],
            "emailInternationalization": self.options.email_internationalization,
        }
        if self.options.auth_flow == "jwt_bearer":
            salesforce |= {"username": JWT_USERNAME, "privateKey": self.jwt_private_key}
        else:
            salesforce |= {"clientSecret": SF_CLIENT[1]}
        return {
            "salesforce": salesforce,
            "zuora": {
                "baseUrl": self.zuora.url,
                "clientId": ZUORA_CLIENT[0],
                "clientSecret": ZUORA_CLIENT[1],
                "zuoraVersion": self.options.zuora_version,
            },
            "checkout": {"signingSecrets": [SIGNING_SECRET, *self.options.previous_signing_secrets]},
            "sendToZuora": {"sessionKey": "sandbox-session-key-0123456789abcdef"},
            "matching": {"rules": self.options.rules, "domainField": self.options.domain_field},
            "accountDefaults": {"Type": "Customer", "AccountSource": "Web"},
        }

    def environ(self) -> dict[str, str]:
        """Environment of a Lambda function deployed against the sandbox (what template.yaml sets, plus endpoints)."""
        return {
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "SECRET_ID": SECRET_NAME,
            "IDEMPOTENCY_TABLE": TABLE_NAME,
            "REQUESTS_CA_BUNDLE": str(self.ca.bundle_path),
            "UPSTREAM_READ_TIMEOUT_SECONDS": str(self.options.read_timeout),
            "POWERTOOLS_SERVICE_NAME": "checkout",
            "POWERTOOLS_METRICS_NAMESPACE": "SfzSync",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "PYDANTIC_DISABLE_PLUGINS": "__all__",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"),
        }

    @contextlib.contextmanager
    def aws_environment(self) -> Iterator[None]:
        saved = {name: os.environ.get(name) for name in self.environ()}
        os.environ.update(self.environ())
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def configure(self, **changes: Any) -> None:
        """Change the options and rewrite the secret (a handler loaded afterwards sees the new configuration)."""
        for name, value in changes.items():
            setattr(self.options, name, value)
        self.salesforce.email_internationalization = self.options.email_internationalization  # an org setting
        with self.aws_environment():
            boto3.client("secretsmanager").put_secret_value(
                SecretId=SECRET_NAME, SecretString=json.dumps(self.secret_document())
            )

    def _create_aws_resources(self) -> None:
        # Imported here: the package's Logger and Metrics are built on its first import, which should see the
        # environment the caller (a test, the demo) sets up first, as a deployed function's does.
        from sfzsync.operations.ledger import LEDGER_INDEX

        boto3.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=json.dumps(self.secret_document()))
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(  # as template.yaml declares it
            TableName=TABLE_NAME,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "id", "AttributeType": "S"},
                {"AttributeName": "ledger", "AttributeType": "S"},
                {"AttributeName": "failed_at", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": LEDGER_INDEX,
                    "KeySchema": [
                        {"AttributeName": "ledger", "KeyType": "HASH"},
                        {"AttributeName": "failed_at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        dynamodb.update_time_to_live(
            TableName=TABLE_NAME, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
        )
        boto3.client("s3").create_bucket(Bucket=BACKFILL_BUCKET)

    def reset(self) -> None:
        """Empty both simulators and the table (tests call this between cases)."""
        self.salesforce.reset()
        self.zuora.reset()
        self.clear_table()

    def clear_table(self) -> None:
        """Delete every item of the table (idempotency records, locks, checkpoints, push records)."""
        with self.aws_environment():
            dynamodb = boto3.client("dynamodb")
            for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE_NAME, ProjectionExpression="id"):
                for item in page["Items"]:
                    dynamodb.delete_item(TableName=TABLE_NAME, Key={"id": item["id"]})
