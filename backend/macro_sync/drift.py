"""Source drift: has a guide's Help Center article changed since the guide was written?

Each guide records `source.article_sha256`, the hash of its article's normalised
text. The article id is a per-deployment setting (`GUIDEPOST_ARTICLE_IDS`), read
through the gateway in the Help Center locale. Normalising keeps only the words:
HTML tags, entities, Markdown markup, link targets and whitespace do not count,
so the seed's Markdown (what the emulator serves) and the same article as Help
Center HTML hash alike, and re-formatting an article is not drift.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from backend.domain.guides import GuideCatalog
from backend.errors import GuidepostError
from backend.zendesk.gateway import ZendeskGateway

DriftStatus = Literal["ok", "drift", "error", "unchecked"]
HASH_SHOWN = 12

_MD_IMAGE_OR_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_AUTOLINK_RE = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_TAG_RE = re.compile(r"<[^>]*>")
_MD_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")
# Letters and digits of any script (Hangul included); punctuation and markup drop out.
_WORD_RE = re.compile(r"[^\W_]+")


def normalize_article_text(body: str) -> str:
    """Reduce an article body (HTML or Markdown) to its words, one space apart."""
    text = _MD_IMAGE_OR_LINK_RE.sub(r" \1 ", body)
    text = _AUTOLINK_RE.sub(r" \1 ", text)
    text = _TAG_RE.sub(" ", text)
    text = html.unescape(text)
    text = _MD_ESCAPE_RE.sub(r"\1", text)
    return " ".join(_WORD_RE.findall(text))


def hash_article(body: str) -> str:
    """Hash an article body as a guide's `source.article_sha256` records it."""
    return hashlib.sha256(normalize_article_text(body).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class DriftResult:
    """The drift check of one guide."""

    guide_id: str
    status: DriftStatus
    message: str
    article_id: int | None = None

    def to_json(self) -> dict[str, object]:
        """Describe the result as JSON."""
        return {
            "guide": self.guide_id,
            "article_id": self.article_id,
            "status": self.status,
            "message": self.message,
        }


def check_guide_drift(
    gateway: ZendeskGateway,
    guide_id: str,
    recorded: str | None,
    article_id: int | None,
    locale: str,
) -> DriftResult:
    """Read one guide's source article and compare its hash with the recorded one."""
    if article_id is None:
        return DriftResult(
            guide_id,
            "unchecked",
            f"drift check: {guide_id}: skipped (no article id configured in GUIDEPOST_ARTICLE_IDS)",
        )
    if not recorded:
        return DriftResult(
            guide_id,
            "unchecked",
            f"drift check: {guide_id}: skipped (guide.yaml records no source.article_sha256)",
            article_id,
        )
    try:
        article = gateway.get_article(locale, article_id)
    except GuidepostError as exc:
        return DriftResult(
            guide_id,
            "error",
            f"drift check: {guide_id}: could not read Help Center article {article_id} "
            f"({locale}): {type(exc).__name__}: {' '.join(exc.detail.split())}",
            article_id,
        )
    now = hash_article(article.body)
    if now == recorded:
        return DriftResult(
            guide_id, "ok", f"drift check: {guide_id}: article {article_id} unchanged", article_id
        )
    return DriftResult(
        guide_id,
        "drift",
        f"drift: {guide_id}: Help Center article {article_id} changed since the guide was "
        f"written (recorded sha256 {recorded[:HASH_SHOWN]}, now {now[:HASH_SHOWN]}; article "
        f"updated_at {article.updated_at or 'unknown'}); review macros/{guide_id}/guide.yaml "
        "and its templates, then record the new source.article_sha256",
        article_id,
    )


def check_drift(
    gateway: ZendeskGateway,
    catalog: GuideCatalog,
    article_ids: Mapping[str, int],
    locale: str,
) -> list[DriftResult]:
    """Check every guide's source article (one GET per guide with an article id)."""
    return [
        check_guide_drift(
            gateway, guide.id, guide.source.article_sha256, article_ids.get(guide.id), locale
        )
        for guide in catalog.guides.values()
    ]
