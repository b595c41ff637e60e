"""Copies of macros/ that keep one guide and only the labels it uses (for broken-copy tests)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from backend.domain.check import PLATFORM_NOTICES
from backend.domain.guides import load_guide

ROOT = Path(__file__).resolve().parents[2]


def edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    """Load a YAML file, let `change` edit the data, write it back."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def keep_only_guide(macros: Path, keep: str) -> Path:
    """Remove every guide folder but `keep` from a macros copy, and the labels only they used."""
    for folder in macros.iterdir():
        if (folder / "guide.yaml").is_file() and folder.name != keep:
            shutil.rmtree(folder)
    kept = load_guide(macros / keep / "guide.yaml")
    used = {"blocks": set(kept.block_ids()), "notices": set(kept.notice_ids()) | PLATFORM_NOTICES}

    def prune(labels: Any) -> None:
        for kind, ids in used.items():
            labels[kind] = {k: v for k, v in labels[kind].items() if k in ids}

    edit_yaml(macros / "labels.yaml", prune)
    return macros


def macros_copy(tmp_path: Path, keep: str = "force_reconnect") -> Path:
    """A copy of macros/ with only the guide `keep` and only its labels (plus the platform's)."""
    target = tmp_path / "macros"
    shutil.copytree(ROOT / "macros", target)
    return keep_only_guide(target, keep)
