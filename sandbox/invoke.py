"""The local runner: API Gateway proxy events through the real handlers, in-process, as `sam local invoke -e` would."""

from __future__ import annotations

import copy
import importlib.util
import itertools
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from sfzsync.checkout.signature import sign

ROOT = Path(__file__).resolve().parent.parent
_loaded = itertools.count()


@dataclass
class LambdaContext:
    """The attributes and method of the Lambda context object that Powertools uses."""

    function_name: str = "checkout"
    timeout_seconds: float = 25.0
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/checkout"
    log_stream_name: str = "local"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


def load_handler(function: str) -> ModuleType:
    """Import `functions/<function>/<function>_handler.py` afresh: a cold start (configuration read, clients built)."""
    path = ROOT / "functions" / function / f"{function}_handler.py"
    spec = importlib.util.spec_from_file_location(f"{function}_app_{next(_loaded)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved = os.environ.get("POWERTOOLS_SERVICE_NAME")
    os.environ["POWERTOOLS_SERVICE_NAME"] = function.replace("_", "-")
    try:
        spec.loader.exec_module(module)
    finally:
        if saved is None:
            os.environ.pop("POWERTOOLS_SERVICE_NAME", None)
        else:
            os.environ["POWERTOOLS_SERVICE_NAME"] = saved
    return module


def api_event(
    method: str,
    path: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    stage: str = "v1",
) -> dict[str, Any]:
    """An API Gateway REST proxy event like the ones `sam local generate-event apigateway aws-proxy` makes."""
    request_id = str(uuid.uuid4())
    all_headers = {"Host": "local.execute-api.us-east-1.amazonaws.com", "X-Forwarded-Proto": "https", **(headers or {})}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "accountId": "000000000000",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "sfzsync-local-runner"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def checkout_event(
    body: dict[str, Any] | str, idempotency_key: str | None, signing_secret: str | None, timestamp: int | None = None
) -> dict[str, Any]:
    raw = body if isinstance(body, str) else json.dumps(body)
    headers = {"Content-Type": "application/json"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    if signing_secret is not None:
        headers["X-Signature"] = sign(signing_secret, idempotency_key or "", raw, timestamp)
    return api_event("POST", "/orders", raw, headers)


def load_event(path: Path, signing_secret: str | None = None, sfdc_domain: str | None = None) -> dict[str, Any]:
    """Read an events/*.json file; give it a fresh request id, signed events a fresh signature, and button
    events the sandbox's Salesforce domain in place of the placeholder `sfdc`."""
    event: dict[str, Any] = json.loads(path.read_text())
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    headers = event.get("headers") or {}
    if signing_secret and "X-Signature" in headers:
        headers["X-Signature"] = sign(signing_secret, headers.get("Idempotency-Key", ""), event.get("body") or "")
        event["multiValueHeaders"]["X-Signature"] = [headers["X-Signature"]]
    query = event.get("queryStringParameters") or {}
    if sfdc_domain and "sfdc" in query:
        query["sfdc"] = sfdc_domain
        event["multiValueQueryStringParameters"]["sfdc"] = [sfdc_domain]
    return event


def invoke(module: ModuleType, event: dict[str, Any], timeout_seconds: float = 25.0) -> dict[str, Any]:
    """Call `lambda_handler` as the Lambda runtime would; the API Gateway proxy response comes back."""
    context = LambdaContext(function_name=module.__name__.split("_app_")[0], timeout_seconds=timeout_seconds)
    response: dict[str, Any] = module.lambda_handler(copy.deepcopy(event), context)
    return response


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None
