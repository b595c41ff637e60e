"""What a write-back carries: tags, the internal note and its idempotency fingerprint."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from backend.domain.conditions import Lookup
from backend.domain.decision import Decision
from backend.domain.korean import read_date_text
from backend.errors import GuideDataError

if TYPE_CHECKING:
    from backend.domain.guides import Guide, GuideCatalog
    from backend.domain.render import TextRenderer

FINGERPRINT_PREFIX = "gp_applied_"
# A declared tag's `{field}` slot, and what a rendered tag may hold (no space: Zendesk splits
# tags on whitespace; lower case: Zendesk stores tags lower-cased).
TAG_SLOT = re.compile(r"\{([a-z][a-z0-9_]*)\}")
TAG_CHARS = re.compile(r"[a-z0-9_\-]{1,80}")
# What the note says for each outcome (ERRATA 2: 진행 가능 / 진행 불가 / 확인 필요).
VERDICTS = {"eligible": "진행 가능", "blocked": "진행 불가", "pending": "확인 필요"}


def tag_slots(template: str) -> list[str]:
    """The fields a tag template reads (its `{field}` slots), in order."""
    return TAG_SLOT.findall(template)


@lru_cache(maxsize=256)
def _split_tag(template: str) -> tuple[str, ...]:
    # Tag templates are guide data, a few per guide: split once into text, slot, text, …
    return tuple(TAG_SLOT.split(template))


def render_tag(template: str, value: Callable[[str], Any]) -> str | None:
    """Fill a tag template's slots; None while one of them is unknown."""
    pieces = list(_split_tag(template))
    # Odd places hold slot names (TAG_SLOT's one group): each becomes its value's text.
    for index in range(1, len(pieces), 2):
        found = value(pieces[index])
        if found is None:
            return None
        pieces[index] = str(found)
    tag = "".join(pieces)
    if not TAG_CHARS.fullmatch(tag):
        raise GuideDataError(f"tag {template!r} renders {tag!r}: not a Zendesk tag")
    return tag


def build_tags(
    decision: Decision, guide: Guide | None = None, lookup: Lookup | None = None
) -> list[str]:
    """The tags a write-back adds (never replacing others) — GUIDES.md §4.

    Besides the gp_… decision tags: the guide's `once_only` tags (key, then claim) and its
    declared `tags`, each added once every field it reads is known and its `when` holds.
    """
    if decision.guide is None or decision.suggested:
        return []
    tags = [
        f"gp_guide_{decision.guide}",
        f"gp_branch_{decision.branch.replace('.', '_')}",
        f"gp_{decision.outcome}",
    ]
    for block in decision.blocks:
        tags.append(f"gp_block_{block}")
    if guide is None or lookup is None:
        return tags

    def value(name: str) -> Any:
        return lookup(name)[0]

    once = guide.once_only
    if once is not None:
        key_tag = render_tag(once.key_tag, value)
        if key_tag is not None:
            tags.append(key_tag)
        if value(once.claim) is not None:
            tags.append(once.claim_tag)
    for rule in guide.tags:
        tag = render_tag(rule.tag, value)
        if tag is not None and rule.condition.evaluate(lookup).hit:
            tags.append(tag)
    return list(dict.fromkeys(tags))


def build_note(
    decision: Decision, guide: Guide, catalog: GuideCatalog, renderer: TextRenderer
) -> str:
    """The internal note: guide, branch, eligibility with reasons, notices, memos."""
    context = {
        "guide": guide,
        "decision": decision,
        "branch_label": decision.branch_label or guide.branches[decision.branch].label.ko,
        "verdict": VERDICTS[decision.outcome],
        "blocks": [catalog.label("blocks", b).ko for b in decision.blocks],
        "missing": [catalog.fields.get(m).label_ko for m in decision.missing],
        "notices": [catalog.label("notices", n).ko for n in decision.notices],
        "memos": [t for t in decision.texts if t.kind == "note"],
        "fields_set": {
            catalog.fields.get(k).label_ko: _display_value(catalog, k, v)
            for k, v in decision.fields_set.items()
        },
    }
    return renderer.render(guide.id, "note.j2", context)


def _display_value(catalog: GuideCatalog, key: str, value: Any) -> str:
    """A field value as an agent reads it: option codes become their Korean labels."""
    field = catalog.fields.get(key)
    label = field.options.get(str(value))
    if label is not None:
        return label.ko.split("::")[-1]
    if field.type in {"date", "datetime"}:
        return read_date_text(str(value))
    return str(value)


def fingerprint(decision: Decision) -> str:
    """A short stable hash of what a write-back writes (same decision → same tag)."""
    payload = json.dumps(
        {
            "guide": decision.guide,
            "branch": decision.branch,
            "tags": decision.tags,
            "note": decision.note,
            "fields_set": decision.fields_set,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return FINGERPRINT_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]
