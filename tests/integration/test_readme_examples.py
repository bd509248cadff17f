"""The README's examples, verbatim, against `make sandbox` started as a user starts it: a subprocess whose printed
`export` lines are the only thing the examples get."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
READY = "# sandbox ready"

pytestmark = pytest.mark.timeout(300)


def code_block(after: str, language: str) -> str:
    """The first ```language block that follows the line `after` in the README."""
    start = README.index(after)
    match = re.compile(rf"```{language}\n(.*?)```", re.DOTALL).search(README, start)
    assert match, f"no {language} block after {after!r}"
    return match.group(1)


@pytest.fixture(scope="module")
def make_sandbox() -> Iterator[dict[str, str]]:
    """`make sandbox` running; the environment a user gets by pasting its export lines."""
    process = subprocess.Popen(
        ["make", "--no-print-directory", "sandbox"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    exports: dict[str, str] = {}
    lines: list[str] = []
    give_up = time.monotonic() + 240
    for line in process.stdout:
        lines.append(line)
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").rstrip("\n").partition("=")
            exports[name] = shlex.split(value)[0] if value else ""
        if line.startswith(READY) or time.monotonic() > give_up:
            break
    try:
        assert READY in "".join(lines), "".join(lines)[-3000:]
        yield exports
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def user_shell_environment(exports: dict[str, str]) -> dict[str, str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "POWERTOOLS_"))}
    return {**clean, **exports}


def test_make_sandbox_prints_what_the_examples_need(make_sandbox: dict[str, str]) -> None:
    assert make_sandbox["API_URL"].startswith("https://127.0.0.1:")
    assert {"SIGNING_SECRET", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"} <= set(make_sandbox)


def test_the_readme_python_example_gets_201(make_sandbox: dict[str, str]) -> None:
    # Given the README's Python example, as printed there
    example = code_block("Signing a request, in Python", "python")

    # When it runs in a shell that pasted the sandbox's export lines
    done = subprocess.run(
        [sys.executable, "-c", example],
        cwd=ROOT,
        env=user_shell_environment(make_sandbox),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # Then it prints 201 and the order
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("201 "), done.stdout
    assert "zuoraOrderNumber" in done.stdout


def test_the_readme_curl_example_gets_201(make_sandbox: dict[str, str]) -> None:
    example = code_block("and with curl:", "bash")

    done = subprocess.run(
        ["bash", "-c", example],
        cwd=ROOT,
        env=user_shell_environment(make_sandbox),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("HTTP 201"), done.stdout
    assert "zuoraOrderNumber" in done.stdout
