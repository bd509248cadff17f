"""Loopback HTTP(S) server plumbing shared by the simulators: call log, fault injection, latency."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class Fault:
    """One injected fault: which requests it hits and what happens to them.

    action:
      - "status": answer `status` with `body` (JSON) and `headers`, without touching state.
      - "delay": sleep `delay` seconds, then handle the request normally.
      - "timeout": sleep `delay` seconds (longer than the client's read timeout), then answer 504.
      - "reset": close the connection with a TCP RST before answering.
      - "reset_after_commit": handle the request (state changes), then reset instead of answering.
      - "timeout_after_commit": handle the request, then sleep `delay` seconds before answering.
      - "refuse": the server processed the request and refused it with `status`/`body`/`headers`; unlike
        "status", a server that keeps answers under an Idempotency-Key (Zuora) stores this one (`refuse`).

    `match`, when set, is a regex the request body must contain (e.g. tell a Composite lookup from a create).
    """

    path: str
    action: str = "status"
    method: str | None = None
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int = 1
    skip: int = 0
    match: str | None = None
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, path: str, body: bytes = b"") -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.match and re.search(self.match, body.decode("utf-8", errors="replace")) is None:
            return False
        return re.search(self.path, path) is not None

    def take(self) -> bool:
        """Count a matching request; true when this one should be faulted."""
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.times >= 0 and self.fired >= self.times:
            return False
        self.fired += 1
        return True


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: str
    status: int
    headers: dict[str, str]
    body: bytes


class _ConnectionResetError(BaseException):
    """BaseException so werkzeug's run_wsgi cannot turn the dropped connection into a 500 page."""


def _reset_connection(environ: dict[str, Any]) -> None:
    sock: socket.socket | None = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        except OSError:
            pass
    raise _ConnectionResetError


class KeepAliveRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, talking HTTP/1.1 the way Salesforce's, Zuora's and AWS's servers do.

    Werkzeug's development server closes the connection after every response (and drains the socket for
    10 ms afterwards, which would swallow a keep-alive client's next request), so each simulated call paid a
    new TCP connection and TLS handshake that the real services do not charge a warm client. Here the request
    body is read in full before the app runs, the response always carries its Content-Length, and the
    connection stays open for the client's next request unless the client asks to close it.
    """

    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: otherwise Nagle holds the response behind TLS 1.3's session tickets until the client's
    # delayed ACK, adding ~10 ms to every HTTPS request on loopback (real Salesforce and Zuora answer at once).
    disable_nagle_algorithm = True

    def run_wsgi(self) -> None:
        environ = self.make_environ()
        if environ.get("wsgi.input_terminated"):  # a chunked request body: werkzeug's way (it closes afterwards)
            super().run_wsgi()
            return
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"] = io.BytesIO(self.rfile.read(length) if length > 0 else b"")
        started: list[Any] = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            started[:] = [status, headers]
            return chunks.append

        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            logging.getLogger("werkzeug").exception("Error on request %s %s", self.command, self.path)
            self.close_connection = True
            started[:] = ["500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain; charset=utf-8")]]
            chunks[:] = [b"Internal Server Error"]
        status, headers = started
        code, _, reason = status.partition(" ")
        body = b"".join(chunks)
        self.send_response(int(code), reason)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        if int(code) >= 200 and int(code) not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()


class _QuietHandler(KeepAliveRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log_error(self, *args: Any) -> None:
        pass

    def handle(self) -> None:
        with contextlib.suppress(_ConnectionResetError, OSError, ssl.SSLError):
            super().handle()


class SimServer:
    """A WSGI app served on 127.0.0.1 in a background thread, with faults and a call log.

    Subclasses implement `handle(request) -> Response`. Control from tests goes through
    the Python API (`add_fault`, `calls`, `reset`); the same is exposed over HTTP under
    `/__sandbox/` for use from another process.
    """

    name = "sim"

    def __init__(self, ssl_context: ssl.SSLContext | None = None, latency: float = 0.0) -> None:
        self.ssl_context = ssl_context
        self.latency = latency
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self.lock = threading.RLock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------
    def start(self, port: int = 0) -> SimServer:
        self._server = make_server(
            "127.0.0.1",
            port,
            self.wsgi_app,
            threaded=True,
            request_handler=_QuietHandler,
            ssl_context=self.ssl_context,
        )
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    # --- test controls ---------------------------------------------------------------------
    def add_fault(self, fault: Fault | None = None, **kwargs: Any) -> Fault:
        fault = fault or Fault(**kwargs)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def clear_calls(self) -> None:
        with self.lock:
            self.calls.clear()

    def call_count(self, path: str | None = None, method: str | None = None) -> int:
        with self.lock:
            return sum(
                1
                for c in self.calls
                if (path is None or re.search(path, c.path)) and (method is None or c.method == method.upper())
            )

    def reset(self) -> None:
        """Forget faults, calls and all simulated data."""
        with self.lock:
            self.faults.clear()
            self.calls.clear()
            self.reset_state()

    def reset_state(self) -> None:
        """Subclasses drop their records here."""

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def refuse(self, request: Request, fault: Fault) -> Response:
        """The answer of a "refuse" fault; servers that store answers per Idempotency-Key override this."""
        return json_response(fault.body, fault.status, fault.headers)

    # --- plumbing --------------------------------------------------------------------------
    def _control(self, request: Request) -> Response:
        op = request.path.removeprefix("/__sandbox/")
        if op == "faults" and request.method == "POST":
            self.add_fault(Fault(**request.get_json()))
            return json_response({"ok": True}, 201)
        if op == "faults" and request.method == "DELETE":
            self.clear_faults()
            return json_response({"ok": True})
        if op == "calls":
            with self.lock:
                data = [{"method": c.method, "path": c.path, "status": c.status} for c in self.calls]
            return json_response(data)
        if op == "reset" and request.method == "POST":
            self.reset()
            return json_response({"ok": True})
        return json_response({"error": "unknown control"}, 404)

    def _pick_fault(self, method: str, path: str, body: bytes = b"") -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path, body) and fault.take():
                    return fault
        return None

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith("/__sandbox/"):
            return self._control(request)(environ, start_response)
        body = request.get_data(cache=True)
        if self.latency:
            time.sleep(self.latency)
        fault = self._pick_fault(request.method, request.path, body)
        response: Response
        if fault is None or fault.action == "delay":
            if fault is not None:
                time.sleep(fault.delay)
            response = self.handle(request)
        elif fault.action == "status":
            response = json_response(fault.body, fault.status, fault.headers)
        elif fault.action == "refuse":
            response = self.refuse(request, fault)
        elif fault.action == "timeout":
            time.sleep(fault.delay)
            response = json_response({"message": "timed out"}, 504)
        elif fault.action == "reset":
            self._record(request, body, 0)
            _reset_connection(environ)
            raise AssertionError("unreachable")
        elif fault.action in ("reset_after_commit", "timeout_after_commit"):
            response = self.handle(request)
            self._record(request, body, 0)
            if fault.action == "reset_after_commit":
                _reset_connection(environ)
            time.sleep(fault.delay)
            return response(environ, start_response)
        else:
            raise ValueError(f"unknown fault action {fault.action!r}")
        self._record(request, body, response.status_code)
        return response(environ, start_response)

    def _record(self, request: Request, body: bytes, status: int) -> None:
        with self.lock:
            self.calls.append(
                Call(request.method, request.path, request.query_string.decode(), status, dict(request.headers), body)
            )


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = "" if data is None else json.dumps(data)
    return Response(text, status=status, headers=headers or {}, content_type="application/json;charset=UTF-8")
