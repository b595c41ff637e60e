"""Validation of what clients send: enumerations, macro actions, custom field values."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from backend.emulator import liquid
from backend.emulator.shapes import (
    _DECIMAL_RE,
    _INTEGER_RE,
    JSON,
    MAX_BULK_IDS,
    PRIORITIES,
    STATUSES,
    ApiError,
    make_record_invalid,
)


def _make_too_many_ids() -> ApiError:
    """Zendesk's answer to more than 100 ids."""
    return ApiError(
        400,
        {"error": "TooManyValues", "description": f"You can pass up to {MAX_BULK_IDS} ids"},
    )


def _assign_enumerated(
    data: JSON, name: str, allowed: tuple[str, ...], assign: Any, *, allow_none: bool
) -> None:
    """Validate and assign an enumerated ticket attribute (status, priority, type)."""
    if name not in data:
        return
    value = data[name]
    if value is None and allow_none:
        assign(name, None)
        return
    if not isinstance(value, str) or value.lower() not in allowed:
        raise make_record_invalid(name, f"{name.capitalize()}: must be one of {', '.join(allowed)}")
    assign(name, value.lower())


def _validate_actions(raw: Any) -> list[JSON]:
    """A macro's actions must be a non-empty list of {field, value}."""
    if not isinstance(raw, list) or not raw:
        raise make_record_invalid("actions", "Actions: cannot be blank", "BlankValue")
    actions: list[JSON] = []
    for item in raw:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("field"), str)
            or not item["field"]
        ):
            raise make_record_invalid("actions", "Actions: each action needs a field")
        actions.append({"field": item["field"], "value": copy.deepcopy(item.get("value"))})
    return actions


def _validate_value(record: JSON, value: Any) -> Any:
    """Check a custom field value against the field type; return the stored form."""
    if value is None or (value == "" and record["type"] not in ("text", "textarea")):
        return None
    field_type = record["type"]
    label = f"{record['title']} ({record['id']})"
    if field_type in ("text", "textarea", "regexp"):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise make_record_invalid("custom_fields", f"{label}: must be text")
        return str(value) if not isinstance(value, str) else value
    if field_type == "integer":
        if isinstance(value, bool) or not _INTEGER_RE.fullmatch(str(value).strip()):
            raise make_record_invalid("custom_fields", f"{label}: must be an integer")
        return value
    if field_type == "decimal":
        if isinstance(value, bool) or not _DECIMAL_RE.fullmatch(str(value).strip()):
            raise make_record_invalid("custom_fields", f"{label}: must be a number")
        return value
    if field_type == "date":
        try:
            date.fromisoformat(str(value))
        except ValueError:
            raise make_record_invalid(
                "custom_fields", f"{label}: must be a YYYY-MM-DD date"
            ) from None
        return str(value)
    if field_type == "checkbox":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise make_record_invalid("custom_fields", f"{label}: must be true or false")
        return value
    allowed = {o["value"] for o in record["options"]}
    if field_type == "tagger":
        if not isinstance(value, str) or value not in allowed:
            raise make_record_invalid("custom_fields", f"{label}: {value!r} is not an option value")
        return value
    values = value.split() if isinstance(value, str) else value
    if not isinstance(values, list) or any(v not in allowed for v in values):
        raise make_record_invalid(
            "custom_fields", f"{label}: {value!r} has a value that is not an option"
        )
    return list(values) or None


def _get_sort_key(ticket: JSON, sort_by: str | None) -> tuple[int, str]:
    """Sort key for search results: timestamps numerically, enumerations by rank."""
    if sort_by in ("created_at", "updated_at"):
        return (int(ticket[sort_by]), "")
    if sort_by == "status":
        return (STATUSES.index(ticket["status"]), "")
    if sort_by == "priority":
        priority = ticket["priority"]
        return (PRIORITIES.index(priority) + 1 if priority else 0, "")
    if sort_by == "ticket_type":
        return (0, ticket["type"] or "")
    return (0, "")


def _list_value_tags(record: JSON, value: Any) -> list[str]:
    """The ticket tags a field value stands for (dropdown / multiselect / checkbox)."""
    if value is None:
        return []
    if record["type"] == "tagger":
        return [str(value).lower()]
    if record["type"] == "multiselect" and isinstance(value, list):
        return [str(v).lower() for v in value]
    if record["type"] == "checkbox" and record.get("tag") and value is True:
        return [str(record["tag"])]
    return []


def _render_liquid(template: str, variables: dict[str, object]) -> str:
    """Render a macro comment; syntax errors show inline, as Liquid does in lax mode."""
    try:
        return liquid.render(template, variables)
    except liquid.LiquidError as exc:
        return f"Liquid syntax error: {exc}"
