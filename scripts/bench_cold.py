"""One cold-start measurement of `scripts/bench.py` (`make bench`), in the fresh interpreter that runs this file.

    python scripts/bench_cold.py app FUNCTION MODULES_OUT   # import the handler, read the secret, build the clients
    python scripts/bench_cold.py libs MODULES_IN            # only the third-party modules an `app` run imported
    python scripts/bench_cold.py naive FUNCTION             # the naive floor: NAIVE_IMPORTS[FUNCTION]

Each prints one JSON line: wall and CPU seconds, the modules imported. Only the stdlib is imported before the clock
starts, so nothing a cold start needs is loaded already (the benchmark's own modules import moto, boto3 and
pydantic). With `BENCH_LAMBDA_PACKAGES` naming a file of top-level module names, any other third-party module
fails to import, as it would in Lambda, where only the layer and the runtime's boto3 are on the path: libraries
that pick up optional accelerators when present (botocore loads awscrt, and pyOpenSSL through urllib3) then take
the same path as in Lambda, on every side of the comparison.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import sysconfig
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
_SITE_PACKAGES = tuple(dict.fromkeys((sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"])))

# What a developer writing each handler would put at its top: the SDK, the libraries, and the Powertools pieces the
# handler uses (issue 13's naive floor).
_NAIVE_COMMON = (
    "import boto3",
    "import pydantic",
    "import requests",
    "from simple_salesforce import Salesforce",
    "from aws_lambda_powertools import Logger, Metrics, Tracer",
    "from aws_lambda_powertools.event_handler import APIGatewayRestResolver",
    "from aws_lambda_powertools.utilities import parameters",
)
NAIVE_IMPORTS: dict[str, tuple[str, ...]] = {
    "checkout": (
        *_NAIVE_COMMON,
        "from aws_lambda_powertools.utilities.idempotency import (DynamoDBPersistenceLayer, IdempotencyConfig, "
        "idempotent_function)",
    ),
    "send_to_zuora": _NAIVE_COMMON,
}


class LambdaPath(importlib.abc.MetaPathFinder):
    """Refuses third-party top-level modules that a deployed function would not find."""

    def __init__(self, allowed: set[str]) -> None:
        self.allowed = allowed | set(sys.stdlib_module_names)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if "." in fullname or fullname in self.allowed:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname)
        origin = spec and (spec.origin or next(iter(spec.submodule_search_locations or []), None))
        if origin and any(origin.startswith(root) for root in _SITE_PACKAGES):  # the stdlib and the project pass
            raise ModuleNotFoundError(f"No module named {fullname!r} (not in the layer or the runtime)", name=fullname)
        return None


def _third_party(module: object) -> bool:
    files = [getattr(module, "__file__", None), *(getattr(module, "__path__", None) or [])]
    return any(f and any(str(f).startswith(root) for root in _SITE_PACKAGES) for f in files)


def _measure(work: object) -> dict[str, float | int]:
    before = set(sys.modules)
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(1)
    os.dup2(devnull, 1)  # the handler's logs are not the measurement's output
    started, cpu = time.perf_counter(), time.process_time()
    assert callable(work)
    work()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    os.dup2(saved, 1)
    return {"seconds": seconds, "cpu": cpu, "modules": len(set(sys.modules) - before)}


def _load_handler(function: str) -> None:
    """What `sandbox.invoke.load_handler` does, without importing the sandbox first."""
    os.environ["POWERTOOLS_SERVICE_NAME"] = function.replace("_", "-")
    path = ROOT / "functions" / function / f"{function}_handler.py"
    spec = importlib.util.spec_from_file_location(f"{function}_handler", path)
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))


def app(function: str, modules_out: Path) -> dict[str, object]:
    before = set(sys.modules)
    result: dict[str, object] = {**_measure(lambda: _load_handler(function))}
    new = [name for name in sys.modules if name not in before]
    third_party = [name for name in new if _third_party(sys.modules[name])]
    modules_out.write_text("\n".join(third_party))
    packages: dict[str, int] = {}
    for name in third_party:
        packages[name.split(".")[0]] = packages.get(name.split(".")[0], 0) + 1
    result["packages"] = packages
    result["third_party"] = len(third_party)
    return result


def libs(modules_in: Path) -> dict[str, object]:
    names = [n for n in modules_in.read_text().splitlines() if n]
    failed: list[str] = []

    def work() -> None:
        for name in names:
            if name in sys.modules:
                continue
            try:
                importlib.import_module(name)
            except Exception:  # a module that imports only as a side effect of another: reported, not fatal
                failed.append(name)

    return {**_measure(work), "failed": failed}


def naive(function: str) -> dict[str, object]:
    code = compile("\n".join(NAIVE_IMPORTS[function]), "<naive imports>", "exec")
    return {**_measure(lambda: exec(code, {}))}


def main(argv: list[str]) -> int:
    if allowed := os.environ.get("BENCH_LAMBDA_PACKAGES"):
        sys.meta_path.insert(0, LambdaPath(set(Path(allowed).read_text().split())))
    mode, *rest = argv
    if mode == "app":
        result = app(rest[0], Path(rest[1]))
    elif mode == "libs":
        result = libs(Path(rest[0]))
    elif mode == "naive":
        result = naive(rest[0])
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
