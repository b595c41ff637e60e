"""The docs stand alone: every setting, command, guide key and cited path is documented/real."""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from backend.cli import build_parser
from backend.domain import fields as field_models
from backend.domain import guides as guide_models
from backend.settings import REPO_ROOT, Settings

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
MACROS_README = (REPO_ROOT / "macros" / "README.md").read_text(encoding="utf-8")
ENV_EXAMPLE = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
DOCS = [*sorted((REPO_ROOT / "docs").glob("*.md")), REPO_ROOT / "README.md"]
# Models of what the YAML files say (GuideCatalog and FieldDef are built in memory).
YAML_MODELS: tuple[type[Any], ...] = (
    guide_models.Label,
    guide_models.Variants,
    guide_models.TextSpec,
    guide_models.Rule,
    guide_models.Collect,
    guide_models.Require,
    guide_models.Row,
    guide_models.SetRule,
    guide_models.BranchSpec,
    guide_models.Source,
    guide_models.Guide,
    field_models._RawField,
)
# Cited paths that a run makes (not in a clean clone), and non-repo paths.
MADE_BY_A_RUN = ("dist/", "var/", "test-artifacts/", ".venv/", "node_modules/", "/")
CITED = re.compile(r"`([^`\s]+)`|\]\(([^)\s]+)\)")
PATHLIKE = re.compile(r"^[\w.][\w./-]*(/|\.(py|md|yaml|json|j2|toml|txt|png|js|css|html|zip))$")


def commands(parser: argparse.ArgumentParser, prefix: str = "guidepost") -> list[str]:
    """Every leaf command of the CLI, as typed ('guidepost macros plan')."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += commands(sub, f"{prefix} {name}") or [f"{prefix} {name}"]
    return found


def yaml_keys() -> set[str]:
    """Every key the guide and field YAML files may hold (aliases as written)."""
    return {key for model in YAML_MODELS for key in guide_models.yaml_keys(model)}


def cited_paths(text: str) -> set[str]:
    """Repo paths a Markdown text cites in backticks or links."""
    paths = set()
    for match in CITED.finditer(text):
        token = (match.group(1) or match.group(2) or "").split("#")[0].rstrip(".,:")
        if PATHLIKE.match(token) and not token.startswith(MADE_BY_A_RUN) and "/" in token:
            paths.add(token)
    return paths


def test_every_setting_is_documented() -> None:
    names = [f"GUIDEPOST_{name.upper()}" for name in Settings.model_fields]
    assert [n for n in names if n not in README] == []
    assert [n for n in names if f"{n}=" not in ENV_EXAMPLE] == []


def test_every_cli_command_is_documented() -> None:
    listed = commands(build_parser())
    assert "guidepost macros plan" in listed
    assert [c for c in listed if c not in README] == []


def test_every_guide_yaml_key_is_documented() -> None:
    keys = yaml_keys()
    assert {"rows", "from", "unless_known", "zendesk"} <= keys
    documented = set(re.findall(r"`([a-z_0-9]+)`", MACROS_README)) | set(
        re.findall(r"\b([a-z_0-9]+):", MACROS_README)
    )
    assert sorted(keys - documented) == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_path_the_docs_cite_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = [
        p
        for p in sorted(cited_paths(text))
        if not (REPO_ROOT / p).exists() and not (doc.parent / p).exists()
    ]
    assert missing == []


def test_the_path_check_sees_a_missing_path() -> None:
    assert cited_paths("see `backend/nowhere.py` and [x](docs/GONE.md), not `dist/app.zip`") == {
        "backend/nowhere.py",
        "docs/GONE.md",
    }


def test_every_test_file_says_what_it_proves() -> None:
    files = sorted((REPO_ROOT / "tests").rglob("test_*.py"))
    lacking = [
        str(f.relative_to(REPO_ROOT))
        for f in files
        if not re.match(r'"""\S.*', f.read_text(encoding="utf-8").split("\n", 1)[0])
    ]
    assert lacking == []


def test_generated_folders_are_ignored() -> None:
    for folder in ("test-artifacts/x", "dist/x", "var/x"):
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", folder], cwd=REPO_ROOT, check=False, timeout=30
        )
        assert ignored.returncode == 0, folder
