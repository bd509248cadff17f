"""A fault-injecting HTTP proxy in front of the moto server: DynamoDB failures on the wire, as boto3 meets them.

Point `AWS_ENDPOINT_URL` at `proxy.url`: every request goes to moto unchanged, and the simulators' `Fault`s
(sandbox.core) apply to it. AWS JSON APIs all POST to `/`, so the path a fault matches is `/<X-Amz-Target>`,
e.g. `^/DynamoDB_20120810\\.PutItem$`; a fault's `match` narrows by request body (`lock#`, `"status"`, ...).
`*_after_commit` faults reach moto (the write happens) and then lose the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from .core import SimServer

_NOT_FORWARDED = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}
_UPSTREAM_PATH = "sandbox.upstream_path"

DYNAMODB = "DynamoDB_20120810"


def dynamodb_error(code: str, message: str) -> dict[str, str]:
    """DynamoDB's JSON error body (botocore reads the code after '#')."""
    return {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}


class AwsFaultProxy(SimServer):
    """Plain HTTP on loopback, forwarding to `upstream` (the moto server's URL)."""

    name = "aws-proxy"

    def __init__(self, upstream: str) -> None:
        super().__init__(None)
        self.upstream = upstream.rstrip("/")
        self._http = requests.Session()
        self._http.trust_env = False

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            environ[_UPSTREAM_PATH] = environ.get("PATH_INFO") or "/"
            environ["PATH_INFO"] = f"/{target}"
        return super().wsgi_app(environ, start_response)

    def handle(self, request: Request) -> Response:
        path = request.environ.get(_UPSTREAM_PATH, request.path)
        query = request.query_string.decode()
        upstream = self._http.request(
            request.method,
            f"{self.upstream}{path}" + (f"?{query}" if query else ""),
            data=request.get_data(),
            headers={k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED},
            timeout=30,
        )
        headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in _NOT_FORWARDED]
        return Response(upstream.content, status=upstream.status_code, headers=headers)
