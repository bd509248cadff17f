"""Lambda instances as processes: each has its own globals and serves one request at a time, as on Lambda.

Threads in one process are not Lambda instances: Powertools' event handler keeps the event being resolved in a
class attribute (`BaseRouter.current_event`), so two requests resolved at once in one process read each other's
headers and bodies. Instances here are forked from a fork server that imported the project once (cold starts
take milliseconds), and can be killed like a Lambda that dies mid-flow.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Iterable
from multiprocessing.context import ForkServerContext
from types import ModuleType
from typing import Any

_handler: ModuleType | None = None


def context() -> ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["sandbox.invoke", "sfzsync.checkout.service", "sfzsync.send_to_zuora.service"])
    return ctx


def cold_start(function: str, environ: dict[str, str]) -> None:
    """In a fresh instance: the function's environment, then its module loaded (configuration, clients)."""
    global _handler  # noqa: PLW0603 (one handler per process, as in Lambda)
    os.environ.update(environ)
    from sandbox.invoke import load_handler

    _handler = load_handler(function)


def invoke(event: dict[str, Any], timeout_seconds: float = 25.0) -> dict[str, Any]:
    from sandbox.invoke import invoke as invoke_handler

    assert _handler is not None, "cold_start first"
    return invoke_handler(_handler, event, timeout_seconds)


def _retryable(answer: dict[str, Any]) -> bool:
    if answer["statusCode"] < 400:
        return False
    return bool(json.loads(answer["body"] or "{}").get("error", {}).get("retryable"))


def until_done(event: dict[str, Any], bound_seconds: float = 30.0) -> list[dict[str, Any]]:
    """A well-behaved caller on this instance: while the answer says `retryable`, wait Retry-After (or a moment)
    and send the same request again. Every answer comes back, the last one first."""
    answers = [invoke(event)]
    give_up = time.monotonic() + bound_seconds
    while _retryable(answers[-1]) and time.monotonic() < give_up:
        headers = {k.lower(): v for k, v in (answers[-1].get("multiValueHeaders") or {}).items()}
        time.sleep(float((headers.get("retry-after") or ["0.2"])[0]))
        answers.append(invoke(event))
    return [answers[-1], *answers[:-1]]


def run_once(function: str, environ: dict[str, str], event: dict[str, Any], timeout_seconds: float) -> None:
    """One instance, one invocation (the target of a process that may be killed halfway)."""
    cold_start(function, environ)
    invoke(event, timeout_seconds)


class Fleet:
    """`size` warm instances of `function`; `map` sends one event to each instance at once."""

    def __init__(self, size: int, function: str = "checkout", **environ: str) -> None:
        self._pool = context().Pool(size, initializer=cold_start, initargs=(function, {**os.environ, **environ}))

    def until_done(self, events: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        return self._pool.map(until_done, list(events), chunksize=1)

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()
