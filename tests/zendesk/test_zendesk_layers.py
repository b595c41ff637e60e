"""Layer rules of the Zendesk rooms: the emulator stands alone, adapters know no domain."""

from __future__ import annotations

import ast
from pathlib import Path

from backend.settings import REPO_ROOT


def _imports(folder: Path) -> dict[str, set[str]]:
    """Every `backend.*` module each file under a folder imports (lazy imports included)."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.glob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[path.name] = {n for n in names if n == "backend" or n.startswith("backend.")}
    return found


def test_the_emulator_imports_nothing_of_the_product() -> None:
    """`guidepost emulator` ships alone: only backend.emulator.* inside backend/emulator."""
    leaks = {
        name: sorted(m for m in modules if not m.startswith("backend.emulator"))
        for name, modules in _imports(REPO_ROOT / "backend" / "emulator").items()
    }
    assert {name: found for name, found in leaks.items() if found} == {}


def test_the_zendesk_adapters_never_import_the_domain() -> None:
    """Adapters speak gateway dataclasses only: no backend.domain, api or service."""
    banned = ("backend.domain", "backend.api", "backend.service")
    leaks = {
        name: sorted(m for m in modules if m.startswith(banned))
        for name, modules in _imports(REPO_ROOT / "backend" / "zendesk").items()
    }
    assert {name: found for name, found in leaks.items() if found} == {}
