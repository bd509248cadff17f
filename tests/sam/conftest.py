"""Fixtures that run the SAM CLI on the project's template: one `sam build` per test session, shared."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import load as load_cfn_yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = PROJECT_ROOT / "template.yaml"
BUILD_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class BuiltApp:
    """Output of one `sam build`: the build directory and what it was built from."""

    build_dir: Path
    template: Path
    seconds: float

    def artifact(self, logical_id: str) -> Path:
        """Directory SAM built for one function or layer of the template."""
        return self.build_dir / logical_id


def _python313_bin_dir() -> Path:
    """Directory holding a `python3.13` with pip, which `sam build` looks up on PATH for python3.13 code."""
    if sys.version_info[:2] == (3, 13):
        # The interpreter running the tests (a venv's bin/ holds python3.13 and pip); not resolved, so the
        # venv's pip is the one SAM uses.
        return Path(sys.executable).parent
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(pyenv_root.glob("versions/3.13*/bin/python3.13"))
    if not candidates:
        raise RuntimeError("sam build needs a python3.13 with pip: run with Python 3.13 (the project's venv)")
    return candidates[-1].parent


def sam_environment() -> dict[str, str]:
    """Environment for SAM CLI and cfn-lint subprocesses: offline-friendly, no telemetry, a region, python3.13."""
    env = dict(os.environ)
    env["SAM_CLI_TELEMETRY"] = "0"
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.setdefault("AWS_REGION", env["AWS_DEFAULT_REGION"])
    env["PATH"] = os.pathsep.join([str(_python313_bin_dir()), env.get("PATH", "")])
    env.pop("PYTHONPATH", None)
    return env


def run_sam_build(root: Path, env: Mapping[str, str], template: Path = TEMPLATE) -> Path:
    """`sam build` (no container, cold cache) of the whole template into `root/build`; returns that directory.

    SAM keeps its dependency cache in `.aws-sam/deps` under the working directory, so it runs from `root`.
    Also used by `make bench` (scripts/bench_measure.py: the layer size it reports is this build's).
    """
    build_dir = root / "build"
    command = [
        str(Path(sys.executable).parent / "sam"),
        "build",
        "--template-file",
        str(template),
        "--build-dir",
        str(build_dir),
        "--cache-dir",
        str(root / "cache"),
        "--no-use-container",
    ]
    result = subprocess.run(
        command, cwd=root, env=dict(env), capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"sam build failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return build_dir


@pytest.fixture(scope="session")
def sam_env() -> dict[str, str]:
    """Environment for SAM CLI and cfn-lint subprocesses: offline-friendly, no telemetry, a region, python3.13."""
    try:
        return sam_environment()
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def sam_cli() -> Path:
    return Path(sys.executable).parent / "sam"


@pytest.fixture(scope="session")
def cfn_lint_cli() -> Path:
    return Path(sys.executable).parent / "cfn-lint"


@pytest.fixture(scope="session")
def template_path() -> Path:
    return TEMPLATE


@pytest.fixture(scope="session")
def template(template_path: Path) -> Mapping[str, Any]:
    """template.yaml as plain data, intrinsics as their long form (`{"Ref": ...}`, `{"Fn::GetAtt": [...]}`)."""
    loaded: Mapping[str, Any] = load_cfn_yaml(str(template_path))
    return loaded


@pytest.fixture(scope="session")
def built_app(tmp_path_factory: pytest.TempPathFactory, sam_env: dict[str, str], template_path: Path) -> BuiltApp:
    """`sam build` (no container, cold cache) of the whole template, once per session, outside the work tree."""
    root = tmp_path_factory.mktemp("sam")
    started = time.monotonic()
    try:
        build_dir = run_sam_build(root, sam_env, template_path)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    return BuiltApp(build_dir=build_dir, template=build_dir / "template.yaml", seconds=time.monotonic() - started)
