"""Seed Help Center articles from the Markdown seed files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from backend.emulator.store import EmulatorStore

__all__ = ["DEFAULT_ARTICLE_IDS", "SEED_LOCALE", "load_seed_articles"]

# Title fragment → article id. The two guides the project ships.
DEFAULT_ARTICLE_IDS: Mapping[str, int] = {"주차권": 1001, "강제재연결": 1002}
SEED_LOCALE = "ko"


def load_seed_articles(
    store: EmulatorStore,
    seeds_dir: str | Path,
    ids_by_title: Mapping[str, int] = DEFAULT_ARTICLE_IDS,
    locale: str = SEED_LOCALE,
) -> dict[int, str]:
    """Register each ``*.txt`` seed whose title contains a known fragment as an article.

    The title is the first ``# `` heading (else the first non-empty line); the
    body is the rest of the file, kept as Markdown. Returns ``{article_id: title}``.
    Files matching no fragment are skipped; a missing directory loads nothing.
    """
    loaded: dict[int, str] = {}
    directory = Path(seeds_dir)
    if not directory.is_dir():
        return loaded
    for path in sorted(directory.glob("*.txt")):
        title, body = _split_title(path.read_text(encoding="utf-8"))
        for fragment, article_id in ids_by_title.items():
            if fragment in title and article_id not in loaded:
                store.set_article(article_id, locale, title, body)
                loaded[article_id] = title
                break
    return loaded


def _split_title(text: str) -> tuple[str, str]:
    """Split a seed into (title, body) at its first heading line."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        title = stripped.lstrip("#").strip() if stripped.startswith("#") else stripped
        return title, "\n".join(lines[index + 1 :]).strip("\n")
    return "", ""
