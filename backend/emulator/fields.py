"""Ticket fields: system fields, custom fields and their dropdown options."""

from __future__ import annotations

import copy
import re
from typing import Any

from backend.emulator.shapes import (
    _SYSTEM_FIELD_FIRST_ID,
    _SYSTEM_FIELDS,
    CUSTOM_FIELD_TYPES,
    JSON,
    OPTION_FIELD_TYPES,
    ApiError,
    _read_flag,
    make_not_found,
    make_record_invalid,
    normalize_tags,
)
from backend.emulator.state import StoreBase


class FieldsMixin(StoreBase):
    """Ticket field endpoints."""

    # ---------------------------------------------------------- ticket fields

    def create_field(
        self, data: JSON, *, base_url: str | None = None, field_id: int | None = None
    ) -> JSON:
        """Create a custom ticket field (validates type, title and dropdown options).

        `field_id` (in-process callers only) places the field at a chosen id.
        """
        if not isinstance(data, dict):
            raise make_record_invalid("ticket_field", "Ticket field: must be an object")
        with self._lock:
            field_type = data.get("type")
            if field_type not in CUSTOM_FIELD_TYPES:
                raise make_record_invalid(
                    "type",
                    f"Type: must be one of {', '.join(CUSTOM_FIELD_TYPES)}",
                )
            title = data.get("title")
            if not isinstance(title, str) or not title.strip():
                raise make_record_invalid("title", "Title: cannot be blank", "BlankValue")
            now = self._now()
            record: JSON = {
                "id": field_id if field_id is not None else self._state.next_field_id,
                "type": field_type,
                "title": title.strip(),
                "description": "",
                "position": len(self._state.fields) + 1,
                "active": True,
                "required": False,
                "collapsed_for_agents": False,
                "regexp_for_validation": None,
                "title_in_portal": title.strip(),
                "visible_in_portal": False,
                "editable_in_portal": False,
                "required_in_portal": False,
                "tag": None,
                "agent_description": None,
                "removable": True,
                "system": False,
                "options": [],
                "system_options": None,
                "created_at": now,
                "updated_at": now,
            }
            self._apply_field_attributes(record, data)
            if field_type in OPTION_FIELD_TYPES:
                record["options"] = self._build_options(
                    data.get("custom_field_options"), record, []
                )
            if field_id is None:
                self._state.next_field_id += 1
            self._state.fields[record["id"]] = record
            return self._render_field(record, self._resolve_base(base_url))

    def fields(self, *, base_url: str | None = None) -> list[JSON]:
        """Return all ticket fields, system ones first, by position."""
        with self._lock:
            base = self._resolve_base(base_url)
            ordered = sorted(
                self._state.fields.values(), key=lambda f: (not f["system"], f["position"], f["id"])
            )
            return [self._render_field(f, base) for f in ordered]

    def get_field(self, field_id: int, *, base_url: str | None = None) -> JSON:
        """Return one ticket field (404 ApiError when unknown)."""
        with self._lock:
            record = self._state.fields.get(int(field_id))
            if record is None:
                raise make_not_found()
            return self._render_field(record, self._resolve_base(base_url))

    def update_field(self, field_id: int, data: JSON, *, base_url: str | None = None) -> JSON:
        """Update a field; custom_field_options are replaced when given."""
        if not isinstance(data, dict):
            raise make_record_invalid("ticket_field", "Ticket field: must be an object")
        with self._lock:
            current = self._state.fields.get(int(field_id))
            if current is None:
                raise make_not_found()
            if "type" in data and data["type"] != current["type"]:
                raise make_record_invalid("type", "Type: cannot be changed", "InvalidValue")
            working = copy.deepcopy(current)
            if "title" in data:
                title = data["title"]
                if not isinstance(title, str) or not title.strip():
                    raise make_record_invalid("title", "Title: cannot be blank", "BlankValue")
                working["title"] = title.strip()
            self._apply_field_attributes(working, data)
            if working["type"] in OPTION_FIELD_TYPES and "custom_field_options" in data:
                working["options"] = self._build_options(
                    data["custom_field_options"], working, current["options"]
                )
            if working != current:
                self._bump(working)
            self._state.fields[working["id"]] = working
            return self._render_field(working, self._resolve_base(base_url))

    def delete_field(self, field_id: int) -> None:
        """Delete a custom field and drop its values from tickets."""
        with self._lock:
            record = self._state.fields.get(int(field_id))
            if record is None:
                raise make_not_found()
            if record["system"]:
                raise ApiError(
                    403,
                    {"error": "Forbidden", "description": "System fields cannot be deleted"},
                )
            del self._state.fields[record["id"]]
            for ticket in self._state.tickets.values():
                ticket["fields"].pop(record["id"], None)

    def _seed_system_fields(self) -> None:
        """Create the system ticket fields every Zendesk account lists."""
        now = self._now()
        for offset, (field_type, title, options) in enumerate(_SYSTEM_FIELDS):
            field_id = _SYSTEM_FIELD_FIRST_ID + offset
            self._state.fields[field_id] = {
                "id": field_id,
                "type": field_type,
                "title": title,
                "description": title,
                "position": offset + 1,
                "active": True,
                "required": field_type in ("subject", "description"),
                "collapsed_for_agents": False,
                "regexp_for_validation": None,
                "title_in_portal": title,
                "visible_in_portal": field_type in ("subject", "description"),
                "editable_in_portal": field_type in ("subject", "description"),
                "required_in_portal": field_type in ("subject", "description"),
                "tag": None,
                "agent_description": None,
                "removable": False,
                "system": True,
                "options": [],
                "system_options": [{"name": n, "value": v} for n, v in options]
                if options
                else None,
                "created_at": now,
                "updated_at": now,
            }

    def _list_custom_fields(self) -> list[JSON]:
        """Custom (non-system) fields in id order."""
        return [f for _, f in sorted(self._state.fields.items()) if not f["system"]]

    def _apply_field_attributes(self, record: JSON, data: JSON) -> None:
        """Copy the simple writable field attributes."""
        for key in (
            "description",
            "agent_description",
            "regexp_for_validation",
            "title_in_portal",
        ):
            if key in data:
                record[key] = data[key]
        for key in (
            "active",
            "required",
            "collapsed_for_agents",
            "visible_in_portal",
            "editable_in_portal",
            "required_in_portal",
        ):
            if key in data:
                record[key] = _read_flag(data[key])
        if isinstance(data.get("position"), int):
            record["position"] = data["position"]
        if record["type"] == "checkbox" and "tag" in data:
            tags = normalize_tags(data["tag"])
            record["tag"] = tags[0] if tags else None

    def _build_options(self, raw: Any, record: JSON, existing: list[JSON]) -> list[JSON]:
        """Validate dropdown options; keep ids of options matched by id or value."""
        if not isinstance(raw, list) or not raw:
            raise make_record_invalid(
                "custom_field_options",
                "Custom field options: a dropdown needs at least one option",
                "BlankValue",
            )
        by_id = {o["id"]: o for o in existing}
        by_value = {o["value"]: o for o in existing}
        taken = {
            o["value"].lower(): f["title"]
            for f in self._state.fields.values()
            if f["id"] != record["id"]
            for o in f["options"]
        }
        options: list[JSON] = []
        seen: set[str] = set()
        for item in raw:
            if not isinstance(item, dict):
                raise make_record_invalid(
                    "custom_field_options", "Custom field options: must be objects"
                )
            name = str(item.get("name") or "").strip()
            value = str(item.get("value") or "").strip()
            if not name or not value:
                raise make_record_invalid(
                    "custom_field_options",
                    "Custom field options: name and value cannot be blank",
                    "BlankValue",
                )
            if re.search(r"\s", value):
                raise make_record_invalid(
                    "custom_field_options",
                    f"Custom field options: value {value!r} cannot contain spaces",
                )
            if value.lower() in seen:
                raise make_record_invalid(
                    "custom_field_options",
                    f"Custom field options: value {value!r} is used twice",
                    "DuplicateValue",
                )
            if value.lower() in taken:
                raise make_record_invalid(
                    "custom_field_options",
                    f"Custom field options: tag {value!r} is already used by field "
                    f"{taken[value.lower()]!r}",
                    "DuplicateValue",
                )
            seen.add(value.lower())
            match = by_id.get(item.get("id")) or by_value.get(value)
            if match is not None:
                option_id = match["id"]
            else:
                option_id = self._state.next_option_id
                self._state.next_option_id += 1
            options.append(
                {
                    "id": option_id,
                    "name": name,
                    "value": value,
                    "default": _read_flag(item.get("default", False)),
                }
            )
        return options
