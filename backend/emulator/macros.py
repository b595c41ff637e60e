"""Macros: CRUD, update_many, and previews rendered with Liquid."""

from __future__ import annotations

import copy
from typing import Any

from backend.emulator.shapes import (
    AGENT_EMAIL,
    AGENT_NAME,
    CUSTOMER_EMAIL,
    CUSTOMER_NAME,
    JSON,
    _get_option_title,
    _read_flag,
    make_not_found,
    make_record_invalid,
    normalize_tags,
    render_text_as_html,
    strip_html,
)
from backend.emulator.tickets import TicketsMixin
from backend.emulator.validation import (
    _render_liquid,
    _validate_actions,
)


class MacrosMixin(TicketsMixin):
    """Macro endpoints."""

    # ----------------------------------------------------------------- macros

    def create_macro(self, data: JSON, *, base_url: str | None = None) -> JSON:
        """Create a macro; title and a non-empty actions list are required."""
        if not isinstance(data, dict):
            raise make_record_invalid("macro", "Macro: must be an object")
        with self._lock:
            title = data.get("title")
            if not isinstance(title, str) or not title.strip():
                raise make_record_invalid("title", "Title: cannot be blank", "BlankValue")
            actions = _validate_actions(data.get("actions"))
            now = self._now()
            record: JSON = {
                "id": self._state.next_macro_id,
                "title": title.strip(),
                "description": data.get("description"),
                "active": _read_flag(data.get("active", True)),
                "position": data.get("position")
                if isinstance(data.get("position"), int)
                else len(self._state.macros) + 1,
                "actions": actions,
                "restriction": data.get("restriction"),
                "created_at": now,
                "updated_at": now,
            }
            self._state.next_macro_id += 1
            self._state.macros[record["id"]] = record
            return self._render_macro(record, self._resolve_base(base_url))

    def macros(
        self,
        *,
        active: bool | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        base_url: str | None = None,
    ) -> list[JSON]:
        """Return macros, optionally only (in)active ones, sorted as the API sorts."""
        with self._lock:
            records = [
                m for m in self._state.macros.values() if active is None or m["active"] == active
            ]
            if sort_by == "alphabetical":
                records.sort(key=lambda m: (m["title"].lower(), m["id"]))
            elif sort_by in ("created_at", "updated_at"):
                records.sort(key=lambda m: (m[str(sort_by)], m["id"]))
            else:
                records.sort(key=lambda m: (m["position"], m["id"]))
            if (sort_order or "asc").lower() == "desc":
                records.reverse()
            base = self._resolve_base(base_url)
            return [self._render_macro(m, base) for m in records]

    def get_macro(self, macro_id: int, *, base_url: str | None = None) -> JSON:
        """Return one macro (404 ApiError when unknown)."""
        with self._lock:
            record = self._state.macros.get(int(macro_id))
            if record is None:
                raise make_not_found()
            return self._render_macro(record, self._resolve_base(base_url))

    def update_macro(self, macro_id: int, data: JSON, *, base_url: str | None = None) -> JSON:
        """Update a macro; ``actions`` replaces the whole list when given."""
        if not isinstance(data, dict):
            raise make_record_invalid("macro", "Macro: must be an object")
        with self._lock:
            current = self._state.macros.get(int(macro_id))
            if current is None:
                raise make_not_found()
            working = copy.deepcopy(current)
            if "title" in data:
                title = data["title"]
                if not isinstance(title, str) or not title.strip():
                    raise make_record_invalid("title", "Title: cannot be blank", "BlankValue")
                working["title"] = title.strip()
            if "actions" in data:
                working["actions"] = _validate_actions(data["actions"])
            for key in ("description", "restriction"):
                if key in data:
                    working[key] = data[key]
            if "active" in data:
                working["active"] = _read_flag(data["active"])
            if "position" in data and isinstance(data["position"], int):
                working["position"] = data["position"]
            if working != current:
                self._bump(working)
            self._state.macros[working["id"]] = working
            return self._render_macro(working, self._resolve_base(base_url))

    def update_many_macros(self, items: Any, *, base_url: str | None = None) -> list[JSON]:
        """Change only position / active of several macros at once."""
        if not isinstance(items, list) or not items:
            raise make_record_invalid("macros", "Macros: must be a non-empty list")
        with self._lock:
            for item in items:
                if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                    raise make_record_invalid("macros", "Macros: each item needs an integer id")
                if item["id"] not in self._state.macros:
                    raise make_not_found()
            changed: list[JSON] = []
            for item in items:
                record = self._state.macros[item["id"]]
                before = copy.deepcopy(record)
                if isinstance(item.get("position"), int):
                    record["position"] = item["position"]
                if "active" in item:
                    record["active"] = _read_flag(item["active"])
                if record != before:
                    self._bump(record)
                changed.append(record)
            base = self._resolve_base(base_url)
            return [self._render_macro(m, base) for m in changed]

    def delete_macro(self, macro_id: int) -> None:
        """Delete a macro (404 ApiError when unknown)."""
        with self._lock:
            if self._state.macros.pop(int(macro_id), None) is None:
                raise make_not_found()

    def preview_macro(
        self, macro_id: int, ticket_id: int | None = None, *, base_url: str | None = None
    ) -> JSON:
        """Show what a macro would do, without side effects.

        Without a ticket: ``result.ticket`` holds only the attributes the macro
        changes and the comment is left unrendered. With a ticket: the full
        ticket as it would be after the changes, and the comment rendered
        (placeholders and Liquid) against that ticket.
        """
        with self._lock:
            macro = self._state.macros.get(int(macro_id))
            if macro is None:
                raise make_not_found()
            working: JSON | None = None
            if ticket_id is not None:
                current = self._state.tickets.get(int(ticket_id))
                if current is None:
                    raise make_not_found()
                working = copy.deepcopy(current)
            changes: JSON = {}
            texts: list[str] = []
            htmls: list[str] = []
            public = True
            for action in macro["actions"]:
                name, value = str(action.get("field")), action.get("value")
                if name == "comment_value":
                    texts.append(
                        str(value[-1]) if isinstance(value, list) and value else str(value)
                    )
                elif name == "comment_value_html":
                    htmls.append(
                        str(value[-1]) if isinstance(value, list) and value else str(value)
                    )
                elif name == "comment_mode_is_public":
                    public = _read_flag(value)
                else:
                    self._preview_action(name, value, changes, working)
            base = self._resolve_base(base_url)
            result: JSON = {
                "ticket": changes if working is None else self._render_ticket(working, base)
            }
            if texts or htmls:
                result["comment"] = self._preview_comment(texts, htmls, public, working, base)
            return {"result": result}

    def _preview_action(self, name: str, value: Any, changes: JSON, working: JSON | None) -> None:
        """Apply one non-comment macro action to the preview."""
        scratch: list[JSON] = []
        if name in ("status", "priority", "type", "subject", "assignee_id", "group_id"):
            changes[name] = value
            if working is not None:
                working[name] = value
        elif name in ("current_tags", "remove_tags", "set_tags"):
            tags = normalize_tags(value)
            key = {
                "current_tags": "additional_tags",
                "remove_tags": "remove_tags",
                "set_tags": "tags",
            }[name]
            changes[key] = tags
            if working is not None:
                if name == "current_tags":
                    new_tags = working["tags"] + [t for t in tags if t not in working["tags"]]
                elif name == "remove_tags":
                    new_tags = [t for t in working["tags"] if t not in tags]
                else:
                    new_tags = tags
                self._replace_tags(working, new_tags, scratch)
        elif name.startswith("custom_fields_"):
            try:
                field_id = int(name.removeprefix("custom_fields_"))
            except ValueError:
                return
            entry = {"id": field_id, "value": value}
            changes.setdefault("custom_fields", []).append(entry)
            changes.setdefault("fields", []).append(dict(entry))
            record = self._state.fields.get(field_id)
            if working is not None and record is not None and not record["system"]:
                if record["type"] == "multiselect" and isinstance(value, str):
                    value = value.split()
                self._set_field_value(working, record, value, scratch)

    def _preview_comment(
        self, texts: list[str], htmls: list[str], public: bool, ticket: JSON | None, base: str
    ) -> JSON:
        """Build the comment part of a macro preview, rendering Liquid for a ticket."""
        text = "\n".join(texts)
        markup = "\n".join(htmls)
        if ticket is not None:
            variables = self._build_liquid_variables(ticket, base)
            text = _render_liquid(text, variables) if text else text
            markup = _render_liquid(markup, variables) if markup else markup
        if markup:
            body = text or strip_html(markup)
            html_body = markup
        else:
            body = text
            html_body = render_text_as_html(text)
        return {
            "body": body,
            "html_body": html_body,
            "public": public,
            "scoped_body": [["channel:all", body]],
        }

    def _build_liquid_variables(self, ticket: JSON, base: str) -> dict[str, object]:
        """Placeholders available to macro comments, by dotted name."""
        variables: dict[str, object] = {
            "ticket.id": ticket["id"],
            "ticket.subject": ticket["subject"],
            "ticket.title": ticket["subject"],
            "ticket.description": ticket["description"],
            "ticket.status": ticket["status"],
            "ticket.priority": ticket["priority"],
            "ticket.ticket_type": ticket["type"],
            "ticket.tags": " ".join(ticket["tags"]),
            "ticket.url": f"{base}/agent/tickets/{ticket['id']}",
            "ticket.requester.name": CUSTOMER_NAME,
            "ticket.requester.first_name": CUSTOMER_NAME.split()[0],
            "ticket.requester.email": CUSTOMER_EMAIL,
            "ticket.assignee.name": AGENT_NAME if ticket["assignee_id"] else "",
            "current_user.name": AGENT_NAME,
            "current_user.first_name": AGENT_NAME.split()[0],
            "current_user.email": AGENT_EMAIL,
        }
        for record in self._list_custom_fields():
            value = ticket["fields"].get(record["id"])
            variables[f"ticket.ticket_field_{record['id']}"] = value
            titles = [
                _get_option_title(o)
                for o in record["options"]
                if (isinstance(value, list) and o["value"] in value) or o["value"] == value
            ]
            variables[f"ticket.ticket_field_option_title_{record['id']}"] = ", ".join(titles)
        return variables
