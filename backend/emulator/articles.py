"""Seed Help Center articles from the Markdown seed files."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from pathlib import Path

from backend.emulator.store import EmulatorStore

__all__ = ["DEFAULT_ARTICLE_IDS", "SEED_LOCALE", "load_seed_articles", "markdown_to_html"]

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
    body is the rest of the file, served as HTML like every Help Center article body
    ("body: The HTML body of the article",
    https://developer.zendesk.com/api-reference/help_center/help-center-api/articles/).
    Returns ``{article_id: title}``.
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
                store.set_article(article_id, locale, title, markdown_to_html(body))
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


_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*)$")
_UNDERLINE_RE = re.compile(r"^\s*(=+|-+)\s*$")
_LINK_RE = re.compile(r"!?\[([^\]]*)\]\(([^)\s]*)\)")
_BOLD_RE = re.compile(r"\*\*(.+?)\*\*")
_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")


def markdown_to_html(text: str) -> str:
    """Render a seed's Markdown as simple Help Center HTML, keeping every word.

    Headings, paragraphs, line breaks, bold and links; setext underlines and
    Markdown escapes disappear. The words stay exactly those of the Markdown, so
    the drift hash (`macro_sync.drift.normalize_article_text`) is the same for both.
    """
    blocks: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line for line in block.splitlines() if not _UNDERLINE_RE.match(line)]
        if not lines:
            continue
        heading = _HEADING_RE.match(lines[0].strip())
        if heading and len(lines) == 1:
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            continue
        blocks.append("<p>" + "<br>".join(_inline(line) for line in lines) + "</p>")
    return "\n".join(blocks)


def _inline(line: str) -> str:
    """Escape a line and render its links and bold spans."""
    escaped = html.escape(_ESCAPE_RE.sub(r"\1", line), quote=False)
    linked = _LINK_RE.sub(
        lambda m: f'<a href="{html.escape(m.group(2))}">{m.group(1)}</a>', escaped
    )
    return _BOLD_RE.sub(r"<strong>\1</strong>", linked)
