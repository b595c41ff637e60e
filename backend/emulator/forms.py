"""Ticket forms: which fields agents see on a multi-form account.

https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_forms/
(`ticket_field_ids` lists the form's fields; a PUT replaces the list.)
"""

from __future__ import annotations

from typing import Any

from backend.emulator.shapes import JSON, format_iso, make_not_found, make_record_invalid
from backend.emulator.state import StoreBase

__all__ = ["FormsMixin"]


class FormsMixin(StoreBase):
    """Ticket form endpoints (create, list, show, update)."""

    def create_ticket_form(self, data: Any, *, base_url: str | None = None) -> JSON:
        """POST /ticket_forms: name required; ticket_field_ids must name existing fields."""
        if not isinstance(data, dict):
            raise make_record_invalid("ticket_form", "Ticket form: must be an object")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise make_record_invalid("name", "Name: cannot be blank", "BlankValue")
        with self._lock:
            now = self._now()
            form: JSON = {
                "id": self._state.next_form_id,
                "name": name.strip(),
                "active": bool(data.get("active", True)),
                "default": bool(data.get("default", False)),
                "ticket_field_ids": self._check_form_fields(data.get("ticket_field_ids", [])),
                "created_at": now,
                "updated_at": now,
            }
            self._state.next_form_id += 1
            self._state.forms[form["id"]] = form
            return self._render_form(form, self._resolve_base(base_url))

    def list_ticket_forms(self, *, base_url: str | None = None) -> list[JSON]:
        """GET /ticket_forms."""
        with self._lock:
            base = self._resolve_base(base_url)
            return [self._render_form(f, base) for _, f in sorted(self._state.forms.items())]

    def get_ticket_form(self, form_id: int, *, base_url: str | None = None) -> JSON:
        """GET /ticket_forms/{id}."""
        with self._lock:
            form = self._state.forms.get(int(form_id))
            if form is None:
                raise make_not_found()
            return self._render_form(form, self._resolve_base(base_url))

    def update_ticket_form(self, form_id: int, data: Any, *, base_url: str | None = None) -> JSON:
        """PUT /ticket_forms/{id}: `ticket_field_ids` replaces the form's field list."""
        if not isinstance(data, dict):
            raise make_record_invalid("ticket_form", "Ticket form: must be an object")
        with self._lock:
            form = self._state.forms.get(int(form_id))
            if form is None:
                raise make_not_found()
            changed = False
            if "ticket_field_ids" in data:
                ids = self._check_form_fields(data["ticket_field_ids"])
                changed = ids != form["ticket_field_ids"]
                form["ticket_field_ids"] = ids
            if isinstance(data.get("name"), str) and data["name"].strip():
                changed = changed or data["name"].strip() != form["name"]
                form["name"] = data["name"].strip()
            if changed:
                self._bump(form)
            return self._render_form(form, self._resolve_base(base_url))

    def _check_form_fields(self, raw: Any) -> list[int]:
        """Field ids of a form: integers naming existing ticket fields."""
        if not isinstance(raw, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in raw
        ):
            raise make_record_invalid("ticket_field_ids", "Ticket field ids: must be integers")
        unknown = [i for i in raw if i not in self._state.fields]
        if unknown:
            raise make_record_invalid(
                "ticket_field_ids", f"Ticket field ids: unknown fields {unknown}"
            )
        return list(dict.fromkeys(raw))

    @staticmethod
    def _render_form(form: JSON, base: str) -> JSON:
        return {
            "url": f"{base}/api/v2/ticket_forms/{form['id']}.json",
            "id": form["id"],
            "name": form["name"],
            "raw_name": form["name"],
            "display_name": form["name"],
            "raw_display_name": form["name"],
            "active": form["active"],
            "default": form["default"],
            "end_user_visible": False,
            "position": form["id"],
            "in_all_brands": True,
            "restricted_brand_ids": [],
            "ticket_field_ids": list(form["ticket_field_ids"]),
            "agent_conditions": [],
            "end_user_conditions": [],
            "created_at": format_iso(form["created_at"]),
            "updated_at": format_iso(form["updated_at"]),
        }
