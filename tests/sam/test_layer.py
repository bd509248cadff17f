"""The built layer on its own runs both handlers: nothing they import was slimmed away (layers/common/slim_layer.py).

A subprocess gets only the stdlib, the built layer's `python/` folder and a stand-in for what the python3.13 Lambda
runtime provides (boto3 and its dependencies, from this venv); it imports the handlers' dependencies, cold-starts
both handlers against the sandbox with tracing on (as deployed) and serves a checkout and a button preview.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
import sysconfig
import time
import uuid
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import pytest

from sandbox.demo_data import checkout_body
from sandbox.invoke import api_event, checkout_event
from sandbox.stack import SIGNING_SECRET, Sandbox
from tests.sam.conftest import PROJECT_ROOT, BuiltApp
from tests.sam.test_template import EM_AARCH64, elf_machine

pytestmark = pytest.mark.timeout(900)

# What the python3.13 Lambda runtime provides beside the stdlib: the AWS SDK for Python and its dependencies.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
RUNTIME_DISTRIBUTIONS = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}

CHECK = r"""
import importlib, json, os, sys, sysconfig
layer, runtime, root, events_file = sys.argv[1:5]
sys.path.append(root)  # after the layer and the runtime: only the local runner and functions/ come from here

for name in (
    "sfzsync.checkout.service", "sfzsync.send_to_zuora.service", "sfzsync.checkout.http_errors",
    "sfzsync.send_to_zuora.http_errors", "sfzsync.send_to_zuora.cookies", "sfzsync.backfill.steps",
    "sfzsync.backfill.cli",
    "aws_lambda_powertools.utilities.idempotency", "aws_lambda_powertools.utilities.parameters",
    "aws_lambda_powertools.event_handler", "aws_lambda_powertools.metrics", "aws_lambda_powertools.tracing",
    "aws_xray_sdk.core", "jwt.algorithms", "simple_salesforce.api", "boto3", "requests",
):
    importlib.import_module(name)

from sandbox.invoke import invoke, load_handler

events = json.loads(open(events_file).read())
statuses = {}
for function, event in events.items():
    statuses[function] = invoke(load_handler(function), event)["statusCode"]

allowed = [layer, runtime, os.path.join(root, "sandbox"), os.path.join(root, "functions")]
allowed += [sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")]
outside = sorted(
    f"{name}: {module.__file__}"
    for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None) and not any(module.__file__.startswith(p + os.sep) for p in allowed)
)
print(json.dumps({"statuses": statuses, "outside": outside, "tracing": "aws_xray_sdk.core.patcher" in sys.modules}))
"""


def _distribution(dist_info: Path) -> tuple[str, str, bool]:
    """(name, version, compiled) of an installed distribution."""
    metadata = HeaderParser().parsestr((dist_info / "METADATA").read_text())
    wheel = HeaderParser().parsestr((dist_info / "WHEEL").read_text())
    return metadata["Name"], metadata["Version"], wheel.get("Root-Is-Purelib", "true").lower() == "false"


def _runnable_here(layer: Path, workdir: Path, env: dict[str, str]) -> Path:
    """A copy of the built layer that this machine can import: on a machine that is not arm64, each compiled
    distribution's aarch64 extension modules are swapped for this machine's build of the same version (pip,
    no dependencies). Every Python file stays the built one."""
    copy = workdir / "layer" / "python"
    shutil.copytree(layer / "python", copy, symlinks=True)
    if platform.machine().lower() in ("aarch64", "arm64"):
        return copy
    distributions = map(_distribution, copy.glob("*.dist-info"))
    compiled = [f"{name}=={version}" for name, version, native in distributions if native]
    native = workdir / "native"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
    subprocess.run(
        [*pip, "--no-compile", "--only-binary=:all:", "--target", str(native), *compiled],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    for path in [p for p in copy.rglob("*") if p.is_file() and elf_machine(p) == EM_AARCH64]:
        path.unlink()
    for path in native.rglob("*"):
        if path.is_file() and elf_machine(path) is not None:
            target = copy / path.relative_to(native)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return copy


def _runtime_stand_in(workdir: Path) -> Path:
    """A folder holding only what the Lambda runtime provides, linked from this venv."""
    runtime = workdir / "runtime"
    runtime.mkdir()
    site_packages = Path(sysconfig.get_paths()["purelib"])
    for name in RUNTIME_PROVIDED:
        source = site_packages / name if (site_packages / name).is_dir() else site_packages / f"{name}.py"
        assert source.exists(), f"{name} is not installed in this venv"
        (runtime / source.name).symlink_to(source)
    return runtime


def _button_preview_event(sandbox: Sandbox) -> dict[str, Any]:
    """GET /sfdccpq for an Account, with the session cookie a signed-in rep would carry."""
    from sfzsync.ids import to_18
    from sfzsync.send_to_zuora.cookies import SESSION_COOKIE, CookieSealer, UserSession

    sf = sandbox.salesforce
    rep = sf.add_user(f"layer-check-{uuid.uuid4().hex[:8]}@example.com", "password-1", name="Layer Check")
    account = sf.insert(
        "Account", {"Name": "Layer Check Inc", "BillingCountry": "US", "BillingCity": "Boston"}, owner_id=rep
    )
    sf.insert("Contact", {"AccountId": account, "LastName": "Check", "Email": "check@layer-check.com"}, owner_id=rep)
    domain = f"127.0.0.1:{sf.port}"
    session = UserSession(
        uuid.uuid4().hex, rep, to_18(sf.org_id), domain, sf.issue_token(rep), sf.url, "Layer Check", time.time() + 600
    )
    sealer = CookieSealer(sandbox.secret_document()["sendToZuora"]["sessionKey"])
    cookie = f"{SESSION_COOKIE}={sealer.seal_session(session)}"
    return api_event("GET", "/sfdccpq", headers={"Cookie": cookie}, query={"sfdc": domain, "accountId": account})


def test_given_built_layer_alone_when_both_handlers_run_then_everything_they_import_is_in_it(
    built_app: BuiltApp, sandbox: Sandbox, sam_env: dict[str, str], tmp_path: Path
) -> None:
    layer = _runnable_here(built_app.artifact("CommonLayer"), tmp_path, sam_env)
    runtime = _runtime_stand_in(tmp_path)
    events = {
        "checkout": checkout_event(
            checkout_body(
                f"buyer@layer-{uuid.uuid4().hex[:8]}.com", paymentMethodId=sandbox.zuora.new_orphan_payment_method()
            ),
            str(uuid.uuid4()),
            SIGNING_SECRET,
        ),
        "send_to_zuora": _button_preview_event(sandbox),
    }
    events_file = tmp_path / "events.json"
    events_file.write_text(json.dumps(events))
    env = {
        **sandbox.environ(),
        "PATH": sam_env["PATH"],
        "PYTHONPATH": f"{layer}:{runtime}",
        "PYTHONNOUSERSITE": "1",
        # Tracing as deployed (Powertools turns it off outside Lambda): the X-Ray SDK is imported and patches.
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "POWERTOOLS_TRACE_DISABLED": "false",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }

    result = subprocess.run(
        [sys.executable, "-S", "-c", CHECK, str(layer), str(runtime), str(PROJECT_ROOT), str(events_file)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["statuses"] == {"checkout": 201, "send_to_zuora": 200}, result.stdout[-4000:]
    assert report["outside"] == []
    assert report["tracing"] is True


def test_given_sam_build_when_layer_is_inspected_then_it_leaves_the_aws_sdk_to_the_runtime(
    built_app: BuiltApp,
) -> None:
    installed = {
        _distribution(d)[0].lower().replace("_", "-")
        for d in built_app.artifact("CommonLayer").glob("python/*.dist-info")
    }

    assert installed & RUNTIME_DISTRIBUTIONS == set()
    assert {"aws-lambda-powertools", "pydantic", "simple-salesforce", "requests"} <= installed
