"""The README names only files and commands that exist: every `make` target it shows is in the Makefile, and every
file its Deploy and Local invoke sections (and the Layout table) point at is in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
TARGETS = set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, flags=re.MULTILINE))
# Files that are made, not shipped: the user creates env.json from env.json.example.
MADE_BY_THE_USER = {"env.json", "secret.json"}


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def mentioned_paths(text: str) -> set[str]:
    """Relative paths: events/..., scripts/..., *.json, *.yaml, *.toml, directories with a trailing slash."""
    candidates = re.findall(
        r"(?<![\w/.:$-])((?:[\w.-]+/)*[\w.-]+\.(?:json|py|yaml|toml|example|md)|[\w-]+/(?:[\w.-]+/?)*)", text
    )
    paths = set()
    for candidate in candidates:
        first = candidate.split("/")[0]
        if (ROOT / first).exists() or candidate.endswith((".json", ".example", ".yaml", ".toml")):
            paths.add(candidate.rstrip("/"))
    return paths - MADE_BY_THE_USER


# `make x` in code (a command line or inline code), not "make the ..." in prose.
SHOWN_TARGETS = set(re.findall(r"(?:^|`|\$ |\n)\s*make ([a-z][a-z-]*)", README))


@pytest.mark.parametrize("target", sorted(SHOWN_TARGETS))
def test_every_make_target_the_readme_shows_exists(target: str) -> None:
    assert target in TARGETS, f"`make {target}` is in the README but not in the Makefile"


@pytest.mark.parametrize("path", sorted(mentioned_paths(section("Deploy")) | mentioned_paths(section("Layout"))))
def test_every_file_the_deploy_and_layout_sections_name_exists(path: str) -> None:
    assert (ROOT / path).exists(), f"{path} is named in the README but does not exist"


def test_the_deploy_section_names_the_files_a_deploy_needs() -> None:
    named = mentioned_paths(section("Deploy"))
    assert {"samconfig.toml", "env.json.example", "scripts/sign-event", "events/checkout-new-customer.json"} <= named
