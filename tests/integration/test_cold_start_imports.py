"""The checkout's cold start, in a fresh interpreter against the sandbox, leaves simple-salesforce's SOAP Metadata API
(zeep, lxml) unloaded: sfzsync.deferred_imports keeps it out, and the library's files stay as released."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sandbox.stack import Sandbox

ROOT = Path(__file__).resolve().parents[2]

COLD_START = """
import json, sys
from sandbox.invoke import load_handler
load_handler("checkout")
loaded = sorted({name.split(".")[0] for name in sys.modules})
import simple_salesforce.metadata as metadata  # the stand-in; reading a name it does not hold loads the real one
real = metadata.MetadataType.__module__
print(json.dumps({"loaded": loaded, "real": real, "zeep_after": "zeep" in sys.modules}))
"""


def test_given_a_fresh_interpreter_when_the_checkout_cold_starts_then_zeep_and_lxml_are_not_imported(
    clean_sandbox: Sandbox,
) -> None:
    env = {
        **os.environ,
        **clean_sandbox.environ(),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)]),
    }
    out = subprocess.run(
        [sys.executable, "-c", COLD_START], env=env, cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    answer = json.loads(out.stdout.strip().splitlines()[-1])

    assert not {"zeep", "lxml"} & set(answer["loaded"])
    assert "simple_salesforce" in answer["loaded"]
    assert answer["real"] == "simple_salesforce.metadata"
    assert answer["zeep_after"] is True
