"""Import every module of an unpacked wheel while dev-only packages are unimportable.

Run as `python -I import_shipped.py <unpacked wheel dir>`; prints one line per failure
with the import chain that reached a blocked package, exits 1 when any module fails.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import inspect
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

# Installed in the dev venv, never a runtime dependency of the product.
DEV_ONLY = frozenset(
    {
        "matplotlib",
        "playwright",
        "respx",
        "pytest",
        "_pytest",
        "hypothesis",
        "schemathesis",
        "PIL",
        "importlinter",
        "grimp",
        "mypy",
        "tooling",
        "tests",
    }
)


# httpx is a runtime dependency (admin-system connectors); its test clients are not.
DEV_ONLY_MODULES = frozenset({"starlette.testclient", "fastapi.testclient"})


class DevOnlyBlocker(importlib.abc.MetaPathFinder):
    """Refuses dev-only packages and remembers which module chain asked for them."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        """Raise for a dev-only top-level package; defer to the other finders otherwise."""
        if fullname.split(".")[0] not in DEV_ONLY and fullname not in DEV_ONLY_MODULES:
            return None
        chain = [
            str(frame.frame.f_globals.get("__name__"))
            for frame in reversed(inspect.stack())
            if frame.function == "<module>" and frame.frame.f_globals.get("__name__") != "__main__"
        ]
        self.refused.append(" -> ".join([*chain, fullname]))
        raise ModuleNotFoundError(f"dev-only package {fullname!r} imported", name=fullname)


def shipped_modules(root: Path) -> list[str]:
    """Dotted names of every .py file in the unpacked wheel (no __main__ modules)."""
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def main(root: Path) -> int:
    """Import each shipped module from `root`; report failures with their chains."""
    blocker = DevOnlyBlocker()
    sys.meta_path.insert(0, blocker)
    sys.path.insert(0, str(root))
    failures = 0
    modules = shipped_modules(root)
    for name in modules:
        before = len(blocker.refused)
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # report every module, not just the first
            failures += 1
            chains = blocker.refused[before:] or [name]
            print(f"FAIL {name}: {type(exc).__name__}: {exc} (chain: {chains[-1]})")
            continue
        where = Path(str(getattr(module, "__file__", "")))
        if root not in where.parents:
            failures += 1
            print(f"FAIL {name}: imported from {where}, not from the wheel")
    print(f"imported {len(modules) - failures}/{len(modules)} modules")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]).resolve()))
