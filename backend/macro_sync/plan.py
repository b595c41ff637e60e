"""The plan: desired macros against the account's macros → create / update / deactivate.

Pure. Managed macros are found by the key in their description's first line
(`guidepost:<guide>/<branch>/<text>`), never by title; a macro without a key is
somebody else's and is never touched.

Several macros with one key: the lowest id is Guidepost's and follows the repo. A
higher one is a twin (a lost answer, or a concurrent run on another host) when it holds
the generated content, or exactly what some Guidepost version generated (its content
matches the hash its description records); twins are retired. Anything else is a
human's copy — Zendesk's clone copies the description, key included — and is reported
and left alone, never deactivated or deleted, also with `--prune`. For a text no longer
generated, only macros still as generated are retired; an edited one is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from backend.errors import GuideDataError
from backend.macro_sync.generator import (
    DesiredMacro,
    compute_content_hash,
    read_hash,
    read_key,
)
from backend.zendesk.gateway import MacroAction, MacroRecord, MacroSpec

ActionKind = Literal["create", "update", "deactivate", "delete", "unchanged"]
# Writes run in this order: replacements exist before anything is taken away.
WRITE_ORDER: tuple[ActionKind, ...] = ("create", "update", "deactivate", "delete")
COMPARED_FIELDS = ("title", "description", "actions", "restriction", "active")
# Fields that tell a twin (same content) from a human's copy; description and active
# differ between a twin and its original without making it anybody else's.
CONTENT_FIELDS = frozenset({"title", "actions", "restriction"})
# Action values Zendesk may echo as a list or as one space-separated string.
TAG_ACTIONS = frozenset({"current_tags", "remove_tags", "set_tags"})


@dataclass(frozen=True)
class PlanItem:
    """One thing a sync does (or leaves alone) to one macro."""

    action: ActionKind
    key: str
    title: str
    macro_id: int | None = None
    changes: tuple[str, ...] = ()
    reason: str = ""
    spec: MacroSpec | None = None
    # A human's copy (or an edited macro of a retired text): reported, never written.
    left_alone: bool = False

    @property
    def is_write(self) -> bool:
        """Tell whether applying the item sends a request."""
        return self.action != "unchanged"

    def describe(self) -> str:
        """Name the item for logs and summaries."""
        where = f"macro {self.macro_id}" if self.macro_id is not None else "new macro"
        return f"{self.action} {self.key} ({where}, {self.title!r})"

    def to_json(self) -> dict[str, Any]:
        """Describe the item as `macros plan --json` lists it."""
        return {
            "action": self.action,
            "key": self.key,
            "title": self.title,
            "id": self.macro_id,
            "changes": list(self.changes),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Plan:
    """Every item of a sync, with what the listing saw."""

    items: tuple[PlanItem, ...]
    listed: int = 0
    unmanaged: int = 0
    prune: bool = False

    def count_actions(self) -> dict[str, int]:
        """Count the items per action (delete only when pruning)."""
        kinds: tuple[ActionKind, ...] = ("create", "update", "deactivate", "unchanged")
        if self.prune:
            kinds = ("create", "update", "deactivate", "delete", "unchanged")
        return {kind: sum(1 for item in self.items if item.action == kind) for kind in kinds}

    @property
    def left_alone(self) -> list[PlanItem]:
        """List the managed-looking macros a human made or edited, which no run touches."""
        return [item for item in self.items if item.left_alone]

    @property
    def writes(self) -> list[PlanItem]:
        """List the items that send a request, in the order a sync sends them."""
        return sorted(
            (item for item in self.items if item.is_write),
            key=lambda item: (WRITE_ORDER.index(item.action), item.key, item.macro_id or 0),
        )

    def to_json(self) -> dict[str, Any]:
        """Build `{"create": n, "update": n, "deactivate": n, "unchanged": n, "items": [...]}`."""
        body: dict[str, Any] = dict(self.count_actions())
        body["items"] = [item.to_json() for item in self.items]
        return body


def normalize_action_value(field: str, value: Any) -> Any:
    """Bring an action value to the form Zendesk may echo it in (tags, flags as text)."""
    if field in TAG_ACTIONS:
        items = value.split() if isinstance(value, str) else list(value or [])
        return tuple(sorted({str(item).lower() for item in items}))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and len(value) == 1:
        # Zendesk echoes some single values as one-element lists.
        return normalize_action_value(field, value[0])
    return value


def normalize_actions(actions: Sequence[MacroAction]) -> tuple[tuple[str, Any], ...]:
    """Normalise an actions list for comparison (order kept: Zendesk applies it in order)."""
    return tuple((a.field, _freeze(normalize_action_value(a.field, a.value))) for a in actions)


def normalize_restriction(
    restriction: Mapping[str, Any] | None,
) -> tuple[str, tuple[int, ...]] | None:
    """Reduce a restriction to (type, sorted ids); Zendesk echoes `id` and `ids`."""
    if not restriction:
        return None
    ids: set[int] = set()
    raw_ids = restriction.get("ids")
    if isinstance(raw_ids, list | tuple):
        ids.update(int(i) for i in raw_ids)
    if restriction.get("id") is not None:
        ids.add(int(restriction["id"]))
    return (str(restriction.get("type") or ""), tuple(sorted(ids)))


def find_changed_fields(record: MacroRecord, spec: MacroSpec) -> tuple[str, ...]:
    """List which of title, description, actions, restriction, active differ."""
    changes: list[str] = []
    if record.title != spec.title:
        changes.append("title")
    if (record.description or "").strip() != spec.description.strip():
        changes.append("description")
    if normalize_actions(record.actions) != normalize_actions(spec.actions):
        changes.append("actions")
    if normalize_restriction(record.restriction) != normalize_restriction(spec.restriction):
        changes.append("restriction")
    if record.active != spec.active:
        changes.append("active")
    return tuple(changes)


def _freeze(value: Any) -> Any:
    """Make a JSON value hashable and order-stable for comparison."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def is_as_generated(record: MacroRecord) -> bool:
    """Tell whether a macro holds exactly what some Guidepost version generated.

    Recomputes the content hash its description records. Zendesk may echo actions in
    another form than the generator wrote; such a twin then reads as edited and is left
    alone: the safe side (a report, never a human's macro lost).
    """
    recorded = read_hash(record.description)
    if recorded is None:
        return False
    restrictions: list[Mapping[str, Any] | None] = [record.restriction]
    normalized = normalize_restriction(record.restriction)
    if normalized is None:
        restrictions.append(None)
    else:
        # The generator writes {"type", "ids"}; Zendesk echoes `id` as well.
        restrictions.append({"type": normalized[0], "ids": list(normalized[1])})
        raw_ids = (record.restriction or {}).get("ids")
        if isinstance(raw_ids, list):
            restrictions.append({"type": normalized[0], "ids": raw_ids})
    return any(
        compute_content_hash(record.title, record.actions, restriction, active) == recorded
        for restriction in restrictions
        for active in (True, False)
    )


def is_twin(record: MacroRecord, spec: MacroSpec) -> bool:
    """Tell whether a second macro with a key is Guidepost's twin, not a human's copy."""
    differs = CONTENT_FIELDS.intersection(find_changed_fields(record, spec))
    return not differs or is_as_generated(record)


def _leave_alone(record: MacroRecord, key: str, reason: str) -> PlanItem:
    """Report a human's macro that carries a Guidepost key; no request is ever sent."""
    return PlanItem("unchanged", key, record.title, record.id, reason=reason, left_alone=True)


def _explain_update(record: MacroRecord, desired: DesiredMacro, changes: tuple[str, ...]) -> str:
    """Explain an update: the repo changed, or somebody edited the macro in Zendesk."""
    if changes == ("active",):
        return "re-activated (generated again)"
    if read_hash(record.description) == desired.content_hash:
        return "edited in Zendesk since the last sync; overwritten with the repo's version"
    return "the guide changed"


def _build_retire_spec(record: MacroRecord) -> MacroSpec:
    """Build the whole-macro PUT that only switches a macro off."""
    return MacroSpec(
        title=record.title,
        description=record.description,
        actions=record.actions,
        active=False,
        restriction=record.restriction,
    )


def _retire(record: MacroRecord, key: str, prune: bool, reason: str) -> PlanItem:
    """Plan to deactivate (or, pruning, delete) a managed macro nobody wants any more."""
    if prune:
        return PlanItem("delete", key, record.title, record.id, reason=reason)
    if not record.active:
        return PlanItem("unchanged", key, record.title, record.id, reason=f"inactive; {reason}")
    return PlanItem(
        "deactivate", key, record.title, record.id, ("active",), reason, _build_retire_spec(record)
    )


def build_plan(
    desired: Sequence[DesiredMacro], existing: Iterable[MacroRecord], *, prune: bool = False
) -> Plan:
    """Compare the desired macros with the account's: what to create, update, retire."""
    wanted: dict[str, DesiredMacro] = {}
    for macro in desired:
        if macro.key in wanted:
            raise GuideDataError(f"macro key {macro.key!r} is desired twice")
        wanted[macro.key] = macro
    managed: dict[str, list[MacroRecord]] = {}
    listed = unmanaged = 0
    for record in existing:
        listed += 1
        key = read_key(record.description)
        if key is None:
            unmanaged += 1
            continue
        managed.setdefault(key, []).append(record)

    items: list[PlanItem] = []
    for key, macro in wanted.items():
        records = sorted(managed.pop(key, []), key=lambda r: r.id)
        if not records:
            items.append(PlanItem("create", key, macro.spec.title, reason="new", spec=macro.spec))
            continue
        keep, duplicates = records[0], records[1:]
        changes = find_changed_fields(keep, macro.spec)
        if changes:
            reason = _explain_update(keep, macro, changes)
            items.append(
                PlanItem("update", key, macro.spec.title, keep.id, changes, reason, macro.spec)
            )
        else:
            items.append(PlanItem("unchanged", key, macro.spec.title, keep.id))
        # A lost create answer or a run on another host leaves twins; a human's clone
        # shares the key too, but not the content.
        for other in duplicates:
            if is_twin(other, macro.spec):
                items.append(_retire(other, key, prune, f"duplicate of macro {keep.id}"))
            else:
                reason = f"a copy of macro {keep.id} edited in Zendesk (a clone); left alone"
                items.append(_leave_alone(other, key, reason))
    for key, records in sorted(managed.items()):
        for record in sorted(records, key=lambda r: r.id):
            if is_as_generated(record):
                items.append(_retire(record, key, prune, "no longer generated"))
            else:
                reason = "no longer generated, but edited in Zendesk; left alone"
                items.append(_leave_alone(record, key, reason))
    return Plan(items=tuple(items), listed=listed, unmanaged=unmanaged, prune=prune)
