"""What a write-back carries: tags, the internal note and its idempotency fingerprint."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from backend.domain.decision import Decision
from backend.domain.korean import read_date_text

if TYPE_CHECKING:
    from backend.domain.guides import Guide, GuideCatalog
    from backend.domain.render import TextRenderer

FINGERPRINT_PREFIX = "gp_applied_"
# What the note says for each outcome (ERRATA 2: 진행 가능 / 진행 불가 / 확인 필요).
VERDICTS = {"eligible": "진행 가능", "blocked": "진행 불가", "pending": "확인 필요"}


def build_tags(decision: Decision, origin_call_id: Any, forced_call_id: Any) -> list[str]:
    """The tags a write-back adds (never replacing others) — GUIDES.md §4."""
    if decision.guide is None or decision.suggested:
        return []
    tags = [
        f"gp_guide_{decision.guide}",
        f"gp_branch_{decision.branch.replace('.', '_')}",
        f"gp_{decision.outcome}",
        *(f"gp_block_{block}" for block in decision.blocks),
    ]
    if decision.guide == "force_reconnect":
        if origin_call_id is not None:
            tags.append(f"fr_origin_{origin_call_id}")
        if forced_call_id is not None:
            tags.append("fr_forced")
    return tags


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
