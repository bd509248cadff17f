"""Slim the built layer: drop what the python3.13 Lambda runtime provides and files that no code path reads.

Run by this folder's Makefile after pip has installed the requirements: `python slim_layer.py <layer>/python`.

Removed although a requirement pulls them in: zeep and lxml, and what only zeep needs (attrs, isodate, platformdirs,
requests-toolbelt, requests-file). simple-salesforce's `.api` imports its SOAP Metadata API module (`.metadata`),
which imports zeep and lxml, but `sfzsync.deferred_imports` stands in for that module until `Salesforce.mdapi` is
used, and the project only calls Salesforce's REST API.

Kept on purpose, although they look removable:
- cryptography and cffi: PyJWT signs the JWT bearer assertion (RS256) with it, and sfzsync.send_to_zuora.cookies
  seals the button's cookies with AES-GCM.
- aws-xray-sdk and wrapt: Powertools Tracer, with active tracing in template.yaml.
- typing-extensions: pydantic and Powertools import it; the runtime does not provide it.
tests/sam/test_template.py imports both handlers' dependency closure from the built layer alone (plus the
stdlib and the runtime's packages), so removing anything still needed fails the suite.
"""

from __future__ import annotations

import re
import shutil
import sys
from email.parser import HeaderParser
from pathlib import Path

# The python3.13 Lambda runtime ships the AWS SDK for Python (boto3) with its dependencies, and AWS advises
# against deploying copies of them beside it (a bundled urllib3 can fall out of step with the runtime's
# botocore). aws-xray-sdk (Powertools Tracer) pulls botocore in, Powertools needs jmespath and requests
# needs urllib3: the runtime's copies serve them all.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"})

# simple-salesforce's SOAP Metadata API (Salesforce.mdapi) and what only it needs: never imported (deferred_imports).
NEVER_IMPORTED = frozenset({"zeep", "lxml", "attrs", "isodate", "platformdirs", "requests-toolbelt", "requests-file"})

# Build and type-checking inputs: C and Cython sources and headers, type stubs. Python never imports them.
UNREAD_SUFFIXES = (".c", ".h", ".pyx", ".pxd", ".pxi", ".pyi")

# Data files that only features this project does not use read.
UNREAD_FILES = {
    "simple_salesforce/metadata.wsdl": "read only by Salesforce.mdapi (the Metadata API over SOAP)",
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui-bundle.min.js": "served only by "
    "enable_swagger(), which the handlers do not call",
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui.min.css": "served only by enable_swagger()",
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def remove_distribution(layer: Path, dist_info: Path) -> int:
    """Delete every file the distribution's RECORD lists (inside the layer), then its emptied folders."""
    removed, folders = 0, set()
    for line in (dist_info / "RECORD").read_text().splitlines():
        relative = line.rsplit(",", 2)[0]
        path = (layer / relative).resolve()
        if not relative or not path.is_relative_to(layer.resolve()) or not path.is_file():
            continue
        removed += path.stat().st_size
        path.unlink()
        folders.update(p for p in path.parents if p.is_relative_to(layer.resolve()) and p != layer.resolve())
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        shutil.rmtree(folder / "__pycache__", ignore_errors=True)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    if dist_info.exists():
        removed += size(dist_info)
        shutil.rmtree(dist_info)
    return removed


def slim(layer: Path) -> list[str]:
    report = []
    for dist_info in sorted(layer.glob("*.dist-info")):
        name = HeaderParser().parsestr((dist_info / "METADATA").read_text()).get("Name", "")
        if canonical(name) in RUNTIME_PROVIDED:
            report.append(f"{name}: {remove_distribution(layer, dist_info) / 1e6:.1f} MB (the Lambda runtime has it)")
        elif canonical(name) in NEVER_IMPORTED:
            freed = remove_distribution(layer, dist_info) / 1e6
            report.append(f"{name}: {freed:.1f} MB (only Salesforce.mdapi, the SOAP Metadata API, imports it)")
    for relative, why in UNREAD_FILES.items():
        path = layer / relative
        if path.is_file():
            report.append(f"{relative}: {size(path) / 1e6:.1f} MB ({why})")
            path.unlink()
    unread = [p for p in layer.rglob("*") if p.is_file() and p.name.endswith(UNREAD_SUFFIXES)]
    stubs = [p for p in layer.iterdir() if p.is_dir() and p.name.endswith("-stubs")]
    caches = list(layer.rglob("__pycache__"))
    scripts = [layer / "bin"] if (layer / "bin").is_dir() else []
    freed = sum(size(p) for p in unread + stubs + caches + scripts)
    for path in unread:
        path.unlink()
    for folder in stubs + caches + scripts:
        shutil.rmtree(folder, ignore_errors=True)
    report.append(
        f"{len(unread)} C/Cython sources, headers and .pyi stubs, {len(stubs)} stub packages, console scripts and "
        f"stale __pycache__: {freed / 1e6:.1f} MB (never imported at run time)"
    )
    return report


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not Path(argv[1]).is_dir():
        print("usage: slim_layer.py <layer>/python", file=sys.stderr)
        return 2
    layer = Path(argv[1])
    before = size(layer)
    for line in slim(layer):
        print(f"slim_layer: removed {line}")
    print(f"slim_layer: {before / 1e6:.1f} MB -> {size(layer) / 1e6:.1f} MB unzipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
