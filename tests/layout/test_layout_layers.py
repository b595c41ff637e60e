"""The import rules of .importlinter hold on the repo and catch a forbidden import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backend.settings import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on the packages under `root` with the repo's contracts."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(REPO_ROOT / ".importlinter")],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def copy_packages(dest: Path) -> Path:
    """A copy of the Python sources of backend/ and tooling/ (no data, no caches)."""
    for package in ("backend", "tooling"):
        shutil.copytree(
            REPO_ROOT / package,
            dest / package,
            ignore=lambda _dir, names: (
                [n for n in names if not n.endswith(".py") and not (Path(_dir) / n).is_dir()]
                + [n for n in names if n == "__pycache__"]
            ),
        )
    return dest


def test_the_repo_keeps_every_contract() -> None:
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "backend/domain/_bad_layer.py",
            "import backend.zendesk.gateway\n",
            "backend.domain imports no adapter, API, service or tooling",
        ),
        (
            "backend/zendesk/_bad_layer.py",
            "from backend.domain import fields\n",
            "backend.zendesk never imports backend.domain",
        ),
        (
            "backend/_bad_layer.py",
            "import tooling.testing\n",
            "shipped code (backend) never imports tooling",
        ),
        (
            "backend/emulator/_bad_layer.py",
            "from backend import errors\n",
            "backend.emulator imports nothing of the product",
        ),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    root = copy_packages(tmp_path)
    (root / module).write_text(f'"""A forbidden import."""\n\n{line}', encoding="utf-8")
    result = lint_imports(root)
    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout
    bad = module.removesuffix(".py").replace("/", ".")
    assert bad in result.stdout  # the report names the offending module
