"""`guidepost fields bootstrap`: the field catalog → Zendesk custom ticket fields.

It also creates the reconnection ledger (custom object `gp_reconnection` and its fields)
and adds the fields to the ticket forms named in `GUIDEPOST_TICKET_FORM_IDS`.

Every catalog field with `zendesk: true` becomes one custom ticket field, found again
on later runs by the marker `guidepost:<key>` in its description (titles are for
people and may be renamed). A run compares before writing, so a second run makes no
write at all, then writes the field map `{key: id}` atomically.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from backend.domain.fields import FieldCatalog, FieldDef
from backend.zendesk.gateway import FieldOption, FieldRecord, FieldSpec, ZendeskGateway

MARKER_PREFIX = "guidepost:"
# A field whose type had to change keeps its values but loses the live marker.
RETIRED_PREFIX = "guidepost-retired:"
_MARKER_RE = re.compile(r"(?<![\w-])guidepost:([a-z][a-z0-9_]*)")

ZENDESK_TYPES: dict[str, str] = {
    "tristate": "tagger",
    "dropdown": "tagger",
    "date": "date",
    "amount": "integer",
    "integer": "integer",
    "datetime": "text",
    "plate": "text",
    "call_id": "text",
    "text": "text",
    "coupon_split": "text",
}


def marker(key: str) -> str:
    """Return the description marker of a field key."""
    return f"{MARKER_PREFIX}{key}"


def build_field_spec(field: FieldDef) -> FieldSpec:
    """Describe the Zendesk ticket field a catalog field should be."""
    options = tuple(
        FieldOption(name=label.ko, value=tag) for tag, label in field.zendesk_options().items()
    )
    return FieldSpec(
        type=ZENDESK_TYPES[field.type],
        title=field.label_ko,
        description=f"{field.label_en}. Managed by Guidepost ({marker(field.key)}).",
        options=options,
        active=True,
    )


def find_marked_fields(records: list[FieldRecord]) -> dict[str, list[FieldRecord]]:
    """Group the account's ticket fields by the Guidepost key their description carries."""
    found: dict[str, list[FieldRecord]] = {}
    for record in records:
        match = _MARKER_RE.search(record.description or "")
        if match:
            found.setdefault(match.group(1), []).append(record)
    return found


def _same(record: FieldRecord, spec: FieldSpec) -> bool:
    """Tell whether Zendesk already holds exactly the wanted field."""
    return (
        record.type == spec.type
        and record.title == spec.title
        and record.description == spec.description
        and tuple(record.options) == spec.options
        and record.active == spec.active
    )


def _pick(candidates: list[FieldRecord], spec: FieldSpec) -> FieldRecord | None:
    """Choose the field to keep among those marked with one key: right type, active, oldest."""
    usable = [r for r in candidates if r.type == spec.type]
    usable.sort(key=lambda r: (not r.active, r.id))
    return usable[0] if usable else None


def _retire(gateway: ZendeskGateway, record: FieldRecord) -> None:
    """Deactivate a field whose type no longer fits and drop its live marker."""
    gateway.update_ticket_field(
        record.id,
        FieldSpec(
            type=record.type,
            title=record.title,
            description=record.description.replace(MARKER_PREFIX, RETIRED_PREFIX),
            options=record.options,
            active=False,
        ),
    )


def write_field_map(field_map: dict[str, int], out_path: Path) -> None:
    """Write the field map JSON atomically (temp file in the same folder, then rename)."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(field_map, indent=2, sort_keys=True) + "\n"
    handle, temp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", dir=out_path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as temp:
            temp.write(text)
        os.replace(temp_name, out_path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def bootstrap_fields(
    gateway: ZendeskGateway,
    fields: FieldCatalog,
    out_path: Path,
    log: TextIO | None = None,
    form_ids: Sequence[int] = (),
) -> dict[str, int]:
    """Create or update every Zendesk-backed catalog field, the reconnection ledger and the
    ticket forms' field lists; write and return the field map. A second run writes nothing.
    """
    existing = find_marked_fields(gateway.list_ticket_fields())
    field_map: dict[str, int] = {}
    for field in fields.fields():
        if not field.zendesk:
            continue
        spec = build_field_spec(field)
        candidates = existing.get(field.key, [])
        current = _pick(candidates, spec)
        if current is None:
            # Zendesk cannot change a field's type: retire the old one, start afresh.
            for stale in candidates:
                _retire(gateway, stale)
            record = gateway.create_ticket_field(spec)
            outcome = "created" if not candidates else f"created (retired {len(candidates)})"
        elif _same(current, spec):
            record, outcome = current, "unchanged"
        else:
            record, outcome = gateway.update_ticket_field(current.id, spec), "updated"
        field_map[field.key] = record.id
        if log is not None:
            log.write(f"fields bootstrap: {field.key}: {outcome} (id {record.id})\n")
    ledger = "created" if gateway.ensure_ledger() else "unchanged"
    if log is not None:
        log.write(f"fields bootstrap: reconnection ledger: {ledger}\n")
    for form_id in form_ids:
        added = add_fields_to_form(gateway, form_id, tuple(field_map.values()))
        if log is not None:
            log.write(f"fields bootstrap: ticket form {form_id}: {added} field(s) added\n")
    write_field_map(field_map, out_path)
    return field_map


def add_fields_to_form(gateway: ZendeskGateway, form_id: int, field_ids: tuple[int, ...]) -> int:
    """Append the fields a ticket form lacks (agents on that form can then edit them).

    Ticket forms list the fields agents see; on an account with forms, a field on no
    form is hidden ("ticket_field_ids: ids of all ticket fields which are in this
    ticket form", https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_forms/).
    A PUT replaces the list, so it carries the form's own fields first, unchanged.
    """
    form = gateway.get_ticket_form(form_id)
    missing = [i for i in field_ids if i not in form.ticket_field_ids]
    if missing:
        gateway.set_ticket_form_fields(form_id, (*form.ticket_field_ids, *missing))
    return len(missing)
