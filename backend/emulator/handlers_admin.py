"""Handlers for fields, macros, jobs, Help Center, users and the control API."""

from __future__ import annotations

import re

from backend.emulator.http_shapes import (
    _make_bad_request,
    _paginate,
    _read_flag_param,
    _Request,
    _Response,
)
from backend.emulator.store import ApiError, EmulatorStore


class AdminHandlers:
    """Handlers that only read or change account configuration (and the control API)."""

    store: EmulatorStore

    # ---------------------------------------------------------- ticket fields

    def list_fields(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /ticket_fields."""
        return _Response(
            200, _paginate(request, self.store.fields(base_url=request.base), "ticket_fields")
        )

    def create_field(self, request: _Request, match: re.Match[str]) -> _Response:
        """POST /ticket_fields: 201."""
        created = self.store.create_field(request.payload("ticket_field"), base_url=request.base)
        return _Response(201, {"ticket_field": created})

    def show_field(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /ticket_fields/{id}."""
        return _Response(
            200, {"ticket_field": self.store.get_field(int(match["id"]), base_url=request.base)}
        )

    def update_field(self, request: _Request, match: re.Match[str]) -> _Response:
        """PUT /ticket_fields/{id}."""
        updated = self.store.update_field(
            int(match["id"]), request.payload("ticket_field"), base_url=request.base
        )
        return _Response(200, {"ticket_field": updated})

    def delete_field(self, request: _Request, match: re.Match[str]) -> _Response:
        """DELETE /ticket_fields/{id}: 204."""
        self.store.delete_field(int(match["id"]))
        return _Response(204)

    # ----------------------------------------------------------------- macros

    def list_macros(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /macros: cursor (page[size]) or offset (page/per_page) pagination."""
        macros = self.store.macros(
            active=_read_flag_param(request, "active"),
            sort_by=request.param("sort_by"),
            sort_order=request.param("sort_order"),
            base_url=request.base,
        )
        return _Response(200, _paginate(request, macros, "macros"))

    def list_active_macros(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /macros/active."""
        macros = self.store.macros(
            active=True,
            sort_by=request.param("sort_by"),
            sort_order=request.param("sort_order"),
            base_url=request.base,
        )
        return _Response(200, _paginate(request, macros, "macros"))

    def create_macro(self, request: _Request, match: re.Match[str]) -> _Response:
        """POST /macros."""
        return _Response(
            200, {"macro": self.store.create_macro(request.payload("macro"), base_url=request.base)}
        )

    def show_macro(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /macros/{id}."""
        return _Response(
            200, {"macro": self.store.get_macro(int(match["id"]), base_url=request.base)}
        )

    def update_macro(self, request: _Request, match: re.Match[str]) -> _Response:
        """PUT /macros/{id}."""
        updated = self.store.update_macro(
            int(match["id"]), request.payload("macro"), base_url=request.base
        )
        return _Response(200, {"macro": updated})

    def delete_macro(self, request: _Request, match: re.Match[str]) -> _Response:
        """DELETE /macros/{id}: 204."""
        self.store.delete_macro(int(match["id"]))
        return _Response(204)

    def update_many_macros(self, request: _Request, match: re.Match[str]) -> _Response:
        """PUT /macros/update_many: only position / active change."""
        items = request.body.get("macros") if isinstance(request.body, dict) else None
        return _Response(
            200, {"macros": self.store.update_many_macros(items, base_url=request.base)}
        )

    # ------------------------------------------------------------ odds & ends

    def show_job(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /job_statuses/{id}."""
        return _Response(
            200, {"job_status": self.store.get_job_status(match["job_id"], base_url=request.base)}
        )

    def show_article(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /help_center[/{locale}]/articles/{id}."""
        locale = match.groupdict().get("locale")
        article = self.store.get_article(int(match["id"]), locale, base_url=request.base)
        return _Response(200, {"article": article})

    def show_me(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /users/me."""
        return _Response(200, {"user": self.store.get_current_user(base_url=request.base)})

    def show_user(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /users/{id}."""
        return _Response(
            200, {"user": self.store.get_user(int(match["id"]), base_url=request.base)}
        )

    def create_user(self, request: _Request, match: re.Match[str]) -> _Response:
        """POST /users: 201."""
        user = self.store.create_user(request.payload("user"), base_url=request.base)
        return _Response(201, {"user": user})

    def list_user_memberships(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /users/{id}/group_memberships."""
        return _Response(
            200, self.store.list_group_memberships(int(match["id"]), base_url=request.base)
        )

    def create_membership(self, request: _Request, match: re.Match[str]) -> _Response:
        """POST /group_memberships: 201."""
        membership = self.store.create_group_membership(
            request.payload("group_membership"), base_url=request.base
        )
        return _Response(201, {"group_membership": membership})

    def create_custom_role(self, request: _Request, match: re.Match[str]) -> _Response:
        """POST /custom_roles: 201."""
        return _Response(
            201, {"custom_role": self.store.create_custom_role(request.payload("custom_role"))}
        )

    def show_custom_role(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /custom_roles/{id}."""
        return _Response(200, {"custom_role": self.store.get_custom_role(int(match["id"]))})

    # ------------------------------------------------------------ control API

    def show_counters(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /__emulator/counters."""
        return _Response(200, self.store.counters())

    def reset_counters(self, request: _Request, match: re.Match[str]) -> _Response:
        """POST /__emulator/counters/reset."""
        self.store.reset_counters()
        return _Response(200, self.store.counters())

    def show_faults(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /__emulator/faults."""
        return _Response(200, {"faults": self.store.list_faults()})

    def set_faults(self, request: _Request, match: re.Match[str]) -> _Response:
        """POST /__emulator/faults: replaces the rules."""
        body = request.body if isinstance(request.body, dict) else {}
        seed = body.get("seed")
        if seed is not None and not isinstance(seed, int):
            raise _make_bad_request("seed must be an integer")
        self.store.set_faults(body.get("faults", []), seed=seed)
        return _Response(200, {"faults": self.store.list_faults()})

    def clear_faults(self, request: _Request, match: re.Match[str]) -> _Response:
        """DELETE /__emulator/faults."""
        self.store.clear_faults()
        return _Response(204)

    def reset_state(self, request: _Request, match: re.Match[str]) -> _Response:
        """POST /__emulator/reset: back to the initial seeded state."""
        self.store.reset()
        return _Response(200, {"reset": True})

    def touch_ticket(self, request: _Request, match: re.Match[str]) -> _Response:
        """POST /__emulator/tickets/{id}/touch."""
        self.store.touch_ticket(int(match["id"]))
        ticket = self.store.get_ticket(int(match["id"]), base_url=request.base)
        return _Response(200, {"ticket": ticket})

    def put_article(self, request: _Request, match: re.Match[str]) -> _Response:
        """PUT /__emulator/articles/{locale}/{id}: create or replace, bumping updated_at."""
        body = request.body if isinstance(request.body, dict) else {}
        article_id, locale = int(match["id"]), match["locale"]
        try:
            current = self.store.get_article(article_id, locale)
        except ApiError:
            current = None
        title = body.get("title", current["title"] if current else None)
        text = body.get("body", current["body"] if current else None)
        if not isinstance(title, str) or not isinstance(text, str):
            raise _make_bad_request("title and body (strings) are required for a new article")
        self.store.set_article(article_id, locale, title, text)
        return _Response(
            200, {"article": self.store.get_article(article_id, locale, base_url=request.base)}
        )

    def show_rate_limit(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /__emulator/rate_limit."""
        return _Response(200, {"per_minute": self.store.rate_limit_per_minute})

    def set_rate_limit(self, request: _Request, match: re.Match[str]) -> _Response:
        """POST /__emulator/rate_limit with {"per_minute": n}."""
        body = request.body if isinstance(request.body, dict) else {}
        per_minute = body.get("per_minute")
        if not isinstance(per_minute, int) or isinstance(per_minute, bool) or per_minute < 1:
            raise _make_bad_request("per_minute must be a positive integer")
        self.store.set_rate_limit(per_minute)
        return _Response(200, {"per_minute": self.store.rate_limit_per_minute})

    def show_search_lag(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /__emulator/search_lag."""
        return _Response(200, {"seconds": self.store.search_lag_seconds})

    def set_search_lag(self, request: _Request, match: re.Match[str]) -> _Response:
        """POST /__emulator/search_lag with {"seconds": n}: search's indexing lag."""
        body = request.body if isinstance(request.body, dict) else {}
        seconds = body.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise _make_bad_request("seconds must be a number >= 0")
        self.store.search_lag_seconds = float(seconds)
        return _Response(200, {"seconds": self.store.search_lag_seconds})

    # ---------------------------------------------------------- ticket forms

    def list_forms(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /ticket_forms."""
        forms = self.store.list_ticket_forms(base_url=request.base)
        return _Response(200, _paginate(request, forms, "ticket_forms"))

    def create_form(self, request: _Request, match: re.Match[str]) -> _Response:
        """POST /ticket_forms: 201."""
        form = self.store.create_ticket_form(request.payload("ticket_form"), base_url=request.base)
        return _Response(201, {"ticket_form": form})

    def show_form(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /ticket_forms/{id}."""
        form = self.store.get_ticket_form(int(match["id"]), base_url=request.base)
        return _Response(200, {"ticket_form": form})

    def update_form(self, request: _Request, match: re.Match[str]) -> _Response:
        """PUT /ticket_forms/{id}."""
        form = self.store.update_ticket_form(
            int(match["id"]), request.payload("ticket_form"), base_url=request.base
        )
        return _Response(200, {"ticket_form": form})

    # -------------------------------------------------------- custom objects

    def list_custom_objects(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /custom_objects."""
        return _Response(
            200, {"custom_objects": self.store.list_custom_objects(base_url=request.base)}
        )

    def create_custom_object(self, request: _Request, match: re.Match[str]) -> _Response:
        """POST /custom_objects: 201."""
        body = request.body.get("custom_object") if isinstance(request.body, dict) else None
        created = self.store.create_custom_object(body, base_url=request.base)
        return _Response(201, {"custom_object": created})

    def show_custom_object(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /custom_objects/{key}."""
        found = self.store.get_custom_object(match["key"], base_url=request.base)
        return _Response(200, {"custom_object": found})

    def delete_custom_object(self, request: _Request, match: re.Match[str]) -> _Response:
        """DELETE /custom_objects/{key}: 204."""
        self.store.delete_custom_object(match["key"])
        return _Response(204)

    def list_custom_object_fields(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /custom_objects/{key}/fields."""
        fields = self.store.list_custom_object_fields(match["key"], base_url=request.base)
        return _Response(200, {"custom_object_fields": fields})

    def create_custom_object_field(self, request: _Request, match: re.Match[str]) -> _Response:
        """POST /custom_objects/{key}/fields: 201."""
        body = request.body.get("custom_object_field") if isinstance(request.body, dict) else None
        created = self.store.create_custom_object_field(match["key"], body, base_url=request.base)
        return _Response(201, {"custom_object_field": created})

    def list_records(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /custom_objects/{key}/records[?filter[external_ids]=a,b][&filter[ids]=…].

        Always cursor-paginated (`meta.has_more`, `links.next`), 100 per page by default.
        """
        if not any(k.startswith("page[") for k in request.query):
            request.query["page[size]"] = ["100"]
        records = self.store.list_custom_object_records(
            match["key"],
            external_ids=_split_filter(request.param("filter[external_ids]")),
            ids=_split_filter(request.param("filter[ids]")),
            base_url=request.base,
        )
        page = _paginate(request, records, "custom_object_records")
        page["count"] = len(records)
        return _Response(200, page)

    def create_record(self, request: _Request, match: re.Match[str]) -> _Response:
        """POST /custom_objects/{key}/records: 201."""
        body = request.body.get("custom_object_record") if isinstance(request.body, dict) else None
        created = self.store.create_custom_object_record(match["key"], body, base_url=request.base)
        return _Response(201, {"custom_object_record": created})

    def delete_record(self, request: _Request, match: re.Match[str]) -> _Response:
        """DELETE /custom_objects/{key}/records/{id}: 204."""
        self.store.delete_custom_object_record(match["key"], match["record_id"])
        return _Response(204)


def _split_filter(raw: str | None) -> list[str] | None:
    """A comma-separated filter parameter; None when absent."""
    if raw is None:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]
