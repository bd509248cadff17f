"""A loopback HTTP(S) server that plays API Gateway (REST API, Lambda proxy integration) in front of the handlers.

Each request becomes the REST proxy event API Gateway would send (stage stripped from `path`, `headers` with the
last value of each header and `multiValueHeaders` with all of them, query strings likewise, `body` as text or as
base64 with `isBase64Encoded` for non-text content types, `requestContext` with stage, a fresh request id, the
stage-prefixed path, the Host as `domainName` and the client's address), and the handler's proxy response goes
back as HTTP (`headers` merged with `multiValueHeaders`, so several `Set-Cookie` stay separate header lines;
a base64 body is decoded). Routes are `(method, resource)` pairs; a resource may hold `{name}` or `{name+}`
path parameters and the method may be `ANY`.

API Gateway's own answers are reproduced where they matter: an unknown resource or a method a resource does not
have is 403 `{"message":"Missing Authentication Token"}`, a path outside the stage is 403 `{"message":"Forbidden"}`,
a body over 10 MB is 413, a handler that raises or returns something that is not a proxy response is
502 `{"message": "Internal server error"}`, and a handler that takes longer than the 29 s integration timeout is
504 `{"message": "Endpoint request timed out"}`. The timeout is a timeout on waiting: Python cannot stop a thread,
so the handler's (daemon) thread keeps running in the background until it returns on its own.
Concurrent requests run concurrently in the one loaded module (unlike Lambda, where each warm instance takes one
request at a time and has its own globals).

    with LocalApiGateway({("POST", "/orders"): load_handler("checkout")}, ssl_context=ca.server_context()) as api:
        requests.post(f"{api.url}/orders", ...)   # api.url == "https://127.0.0.1:PORT/v1"
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from email.utils import formatdate
from types import ModuleType
from typing import Any, cast

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from .invoke import LambdaContext

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
INTEGRATION_TIMEOUT_SECONDS = 29.0  # API Gateway's default (and, for most accounts, maximum) integration timeout
_RAW_HEADERS = "sandbox.raw_headers"
_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|xml|javascript|x-www-form-urlencoded|graphql|.*\+json|.*\+xml))$", re.IGNORECASE
)
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}

Route = tuple[str, str]
BUTTON_ROUTES: tuple[Route, ...] = (("GET", "/sfdccpq"), ("GET", "/sfdccpq/callback"), ("POST", "/sfdccpq"))


def deployed_routes(
    checkout: ModuleType | None = None, send_to_zuora: ModuleType | None = None
) -> dict[Route, ModuleType]:
    """The routes template.yaml gives each function, for those given."""
    routes = {("POST", "/orders"): checkout} if checkout is not None else {}
    if send_to_zuora is not None:
        routes |= dict.fromkeys(BUTTON_ROUTES, send_to_zuora)
    return routes


class _RawHeadersHandler(WSGIRequestHandler):
    """Keeps the request's header lines as sent (WSGI joins repeated headers with commas and re-cases names)."""

    def make_environ(self) -> Any:
        environ = super().make_environ()
        environ[_RAW_HEADERS] = list(self.headers.items())
        return environ

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def handle(self) -> None:
        with contextlib.suppress(OSError, ssl.SSLError):
            super().handle()


def _resource_pattern(resource: str) -> re.Pattern[str]:
    """`/orders/{id}` → a regex with a named group per path parameter; `{proxy+}` also matches slashes."""
    parts = re.split(r"(\{[^}]+\})", resource)
    regex = ""
    for part in parts:
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            regex += f"(?P<{name[:-1]}>.+)" if name.endswith("+") else f"(?P<{name}>[^/]+)"
        else:
            regex += re.escape(part)
    return re.compile(f"^{regex}$")


def _gateway_error(status: int, message: str, request_id: str, error_type: str | None = None) -> Response:
    response = Response(json.dumps({"message": message}), status=status, content_type="application/json")
    response.headers["x-amzn-RequestId"] = request_id
    if error_type:
        response.headers["x-amzn-ErrorType"] = error_type
    return response


class LocalApiGateway:
    """API Gateway on 127.0.0.1: `start()`, then send requests to `url` (which ends with the stage); `stop()`."""

    def __init__(
        self,
        routes: dict[Route, ModuleType],
        stage: str = "v1",
        ssl_context: ssl.SSLContext | None = None,
        *,
        timeout_seconds: float = INTEGRATION_TIMEOUT_SECONDS,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.routes = dict(routes)
        self.stage = stage
        self.ssl_context = ssl_context
        self.timeout_seconds = timeout_seconds
        self.max_body_bytes = max_body_bytes
        # Literal resources win over templated ones, as in API Gateway.
        ordered = sorted(self.routes.items(), key=lambda item: "{" in item[0][1])
        self._matchers = [
            (method.upper(), resource, _resource_pattern(resource), module) for (method, resource), module in ordered
        ]
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> LocalApiGateway:
        self._server = make_server(
            "127.0.0.1",
            0,
            self._wsgi_app,
            threaded=True,
            request_handler=_RawHeadersHandler,
            ssl_context=self.ssl_context,
        )
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)  # quick stop()
        self._thread = threading.Thread(target=serve, name="local-api-gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalApiGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "LocalApiGateway not started"
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        """Base URL of the stage, e.g. `https://127.0.0.1:PORT/v1` (no trailing slash)."""
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}/{self.stage}"

    # --- request → event → handler → response ------------------------------------------------
    def _wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self._handle(request)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        body = self._read_body(request)
        if body is None:
            return _gateway_error(413, "Request Too Long", request_id)
        prefix = f"/{self.stage}"
        if request.path != prefix and not request.path.startswith(prefix + "/"):
            return _gateway_error(403, "Forbidden", request_id, "ForbiddenException")
        path = request.path.removeprefix(prefix) or "/"
        for method, resource, pattern, module in self._matchers:
            found = pattern.match(path)
            if found and method in (request.method, "ANY"):
                event = self._event(request, body, request_id, resource, path, found.groupdict())
                return self._invoke(module, event, request_id)
        return _gateway_error(403, "Missing Authentication Token", request_id, "MissingAuthenticationTokenException")

    def _read_body(self, request: Request) -> bytes | None:
        """The request body, or None when it is over the limit (read to the end anyway, so the client gets the 413)."""
        chunks: list[bytes] = []
        size = 0
        while chunk := request.stream.read(64 * 1024):
            size += len(chunk)
            if size <= self.max_body_bytes:
                chunks.append(chunk)
        return b"".join(chunks) if size <= self.max_body_bytes else None

    def _event(
        self, request: Request, body: bytes, request_id: str, resource: str, path: str, path_params: dict[str, str]
    ) -> dict[str, Any]:
        source_ip = request.remote_addr or "127.0.0.1"
        raw: list[tuple[str, str]] = list(request.environ.get(_RAW_HEADERS, request.headers.items()))
        forwarded_for = ", ".join([v for k, v in raw if k.lower() == "x-forwarded-for"] + [source_ip])
        raw = [(k, v) for k, v in raw if k.lower() not in {"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"}]
        raw += [
            ("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"),
            ("X-Forwarded-For", forwarded_for),
            ("X-Forwarded-Port", str(self.port)),
            ("X-Forwarded-Proto", "https" if self.ssl_context else "http"),
        ]
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in raw:
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        multi_query = request.args.to_dict(flat=False)
        text, is_base64 = self._encode_body(body, request.content_type)
        now = time.time()
        return {
            "resource": resource,
            "path": path,
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_params or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": "local",
                "resourcePath": resource,
                "httpMethod": request.method,
                "extendedRequestId": request_id,
                "requestTime": formatdate(now, usegmt=True),
                "path": f"/{self.stage}{path}",
                "accountId": "000000000000",
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "stage": self.stage,
                "domainPrefix": (request.host or "").split(".")[0],
                "requestTimeEpoch": int(now * 1000),
                "requestId": request_id,
                "identity": {"sourceIp": source_ip, "userAgent": request.headers.get("User-Agent")},
                "domainName": request.host,
                "apiId": "local",
            },
            "body": text,
            "isBase64Encoded": is_base64,
        }

    @staticmethod
    def _encode_body(body: bytes, content_type: str | None) -> tuple[str | None, bool]:
        if not body:
            return None, False
        mimetype = (content_type or "").split(";")[0].strip()
        if not mimetype or _TEXT_TYPES.match(mimetype):
            with contextlib.suppress(UnicodeDecodeError):
                return body.decode("utf-8"), False
        return base64.b64encode(body).decode("ascii"), True

    def _invoke(self, module: ModuleType, event: dict[str, Any], request_id: str) -> Response:
        """Run the handler in its own thread and wait at most `timeout_seconds` for it (the thread is not stopped)."""
        name = getattr(module, "__name__", "handler").split("_app_")[0]
        context = LambdaContext(function_name=name)
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["response"] = module.lambda_handler(event, context)
            except BaseException as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=run, name=f"lambda-{name}-{request_id[:8]}", daemon=True)
        worker.start()
        worker.join(self.timeout_seconds)
        if worker.is_alive():
            return _gateway_error(504, "Endpoint request timed out", request_id)
        proxy = outcome.get("response")
        if "error" in outcome or not isinstance(proxy, dict) or not isinstance(proxy.get("statusCode"), int):
            return _gateway_error(502, "Internal server error", request_id, "InternalServerErrorException")
        return self._http_response(cast(dict[str, Any], proxy), request_id)

    @staticmethod
    def _http_response(proxy: dict[str, Any], request_id: str) -> Response:
        """Proxy response → HTTP. Where a header is in both maps, multiValueHeaders wins, as in API Gateway."""
        multi = {k: [str(v) for v in vs] for k, vs in (proxy.get("multiValueHeaders") or {}).items()}
        lowered = {k.lower() for k in multi}
        for name, value in (proxy.get("headers") or {}).items():
            if name.lower() not in lowered:
                multi[name] = [str(value)]
        header_lines = [(k, v) for k, vs in multi.items() if k.lower() not in _HOP_BY_HOP for v in vs]
        if "content-type" not in {k.lower() for k, _ in header_lines}:
            header_lines.append(("Content-Type", "application/json"))
        header_lines.append(("x-amzn-RequestId", request_id))
        body = proxy.get("body") or ""
        data = base64.b64decode(body) if proxy.get("isBase64Encoded") else str(body).encode("utf-8")
        return Response(data, status=int(proxy["statusCode"]), headers=header_lines)
