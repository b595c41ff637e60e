"""The wheel ships the product only, and every shipped module imports without dev packages."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from backend.settings import REPO_ROOT

HERE = Path(__file__).resolve().parent
IMPORT_SHIPPED = HERE / "import_shipped.py"
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "dist", "build", "var", "test-artifacts", "*.egg-info",
    "__pycache__", ".*_cache", ".hypothesis",
)  # fmt: skip


def import_shipped(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import_shipped.py isolated (-I: no cwd, no PYTHONPATH on sys.path) over `root`."""
    return subprocess.run(
        [sys.executable, "-I", str(IMPORT_SHIPPED), str(root)],
        cwd=root.parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built offline from a copy of the checkout (the venv's setuptools)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(REPO_ROOT, source, ignore=NOT_COPIED)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--disable-pip-version-check", "-q", "-w", str(work / "out"), str(source)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = (work / "out").glob("guidepost-*.whl")
    return built


@pytest.fixture(scope="module")
def unpacked(wheel: Path) -> Path:
    """The wheel's files, as an installer would lay them out."""
    site = wheel.parent.parent / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def test_the_wheel_holds_no_tooling_and_no_tests(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert tops == {"backend", "guidepost-0.1.0.dist-info"}


def test_the_wheel_carries_the_data_the_product_reads(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "backend/demo_tickets.yaml" in names
    assert any(n.startswith("backend/emulator/seed_articles/") for n in names)


def test_every_shipped_module_imports_without_dev_packages(unpacked: Path) -> None:
    result = import_shipped(unpacked)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "imported" in result.stdout
    assert "FAIL" not in result.stdout


def test_a_dev_import_is_reported_with_its_chain(tmp_path: Path) -> None:
    package = tmp_path / "site" / "backend"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "report.py").write_text("import backend.charts\n", encoding="utf-8")
    (package / "charts.py").write_text("import matplotlib.pyplot\n", encoding="utf-8")
    result = import_shipped(tmp_path / "site")
    assert result.returncode == 1
    assert "chain: backend.report -> backend.charts -> matplotlib" in result.stdout
