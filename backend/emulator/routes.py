"""Routing and dispatch of the emulator's API, and the ticket and search handlers."""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from email.message import Message
from urllib.parse import parse_qs, urlsplit

from backend.emulator.handlers_admin import AdminHandlers
from backend.emulator.http_shapes import (
    _TICKET_IN_PATH_RE,
    IGNORED_SINGLE_UPDATE_KEYS,
    RATE_LIMIT_MESSAGE,
    SEARCH_RESULT_LIMIT,
    _build_unsupported_header,
    _compile,
    _Handler,
    _is_authenticated,
    _make_bad_request,
    _make_rate_limited,
    _paginate,
    _Request,
    _Response,
    _Route,
)
from backend.emulator.store import ApiError, EmulatorStore, RateDecision, make_not_found

_SINGLE_TICKET_RE = re.compile(r"^/api/v2/tickets/(?P<id>\d+)(?:\.json)?/?$")


def _get_user(header: str | None) -> str:
    """The user a Basic header names (for per-user limits); '' when unreadable."""
    scheme, _, credentials = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return credentials
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[0].removesuffix("/token")


class _App(AdminHandlers):
    """Turns raw requests into responses; shared by all handler threads."""

    def __init__(self, store: EmulatorStore) -> None:
        self.store = store
        self.api_routes = self._build_api_routes()
        self.control_routes = self._build_control_routes()

    # ---------------------------------------------------------------- routing

    def _build_api_routes(self) -> list[_Route]:
        """The Zendesk API subset, most specific paths first."""
        table: list[tuple[str, str, _Handler]] = [
            ("GET", "/tickets", self.list_tickets),
            ("POST", "/tickets", self.create_ticket),
            ("GET", "/tickets/show_many", self.show_many),
            ("PUT", "/tickets/update_many", self.update_many),
            ("GET", "/tickets/{id}", self.show_ticket),
            ("PUT", "/tickets/{id}", self.update_ticket),
            ("GET", "/tickets/{id}/comments", self.list_comments),
            ("GET", "/tickets/{id}/tags", self.tags),
            ("PUT", "/tickets/{id}/tags", self.tags),
            ("POST", "/tickets/{id}/tags", self.tags),
            ("DELETE", "/tickets/{id}/tags", self.tags),
            ("GET", "/tickets/{id}/macros/{macro_id}/apply", self.apply_macro),
            ("GET", "/search", self.search),
            ("GET", "/search/count", self.count_search),
            ("GET", "/ticket_fields", self.list_fields),
            ("POST", "/ticket_fields", self.create_field),
            ("GET", "/ticket_fields/{id}", self.show_field),
            ("PUT", "/ticket_fields/{id}", self.update_field),
            ("DELETE", "/ticket_fields/{id}", self.delete_field),
            ("GET", "/macros", self.list_macros),
            ("POST", "/macros", self.create_macro),
            ("GET", "/macros/active", self.list_active_macros),
            ("PUT", "/macros/update_many", self.update_many_macros),
            ("GET", "/macros/{id}", self.show_macro),
            ("PUT", "/macros/{id}", self.update_macro),
            ("DELETE", "/macros/{id}", self.delete_macro),
            ("GET", "/macros/{macro_id}/apply", self.apply_macro),
            ("GET", "/job_statuses/{job_id}", self.show_job),
            ("GET", "/help_center/articles/{id}", self.show_article),
            ("GET", "/help_center/{locale}/articles/{id}", self.show_article),
            ("GET", "/ticket_forms", self.list_forms),
            ("POST", "/ticket_forms", self.create_form),
            ("GET", "/ticket_forms/{id}", self.show_form),
            ("PUT", "/ticket_forms/{id}", self.update_form),
            ("GET", "/custom_objects", self.list_custom_objects),
            ("POST", "/custom_objects", self.create_custom_object),
            ("GET", "/custom_objects/{key}", self.show_custom_object),
            ("DELETE", "/custom_objects/{key}", self.delete_custom_object),
            ("GET", "/custom_objects/{key}/fields", self.list_custom_object_fields),
            ("POST", "/custom_objects/{key}/fields", self.create_custom_object_field),
            ("GET", "/custom_objects/{key}/records", self.list_records),
            ("POST", "/custom_objects/{key}/records", self.create_record),
            ("DELETE", "/custom_objects/{key}/records/{record_id}", self.delete_record),
            ("GET", "/users/me", self.show_me),
            ("POST", "/users", self.create_user),
            ("GET", "/users/{id}/group_memberships", self.list_user_memberships),
            ("GET", "/users/{id}", self.show_user),
            ("POST", "/group_memberships", self.create_membership),
            ("POST", "/custom_roles", self.create_custom_role),
            ("GET", "/custom_roles/{id}", self.show_custom_role),
        ]
        return [
            _compile("/api/v2" + path, method, handler, json_suffix=True)
            for method, path, handler in table
        ]

    def _build_control_routes(self) -> list[_Route]:
        """The test/ops control API (not Zendesk; no auth, no rate limit)."""
        table: list[tuple[str, str, _Handler]] = [
            ("GET", "/counters", self.show_counters),
            ("POST", "/counters/reset", self.reset_counters),
            ("GET", "/faults", self.show_faults),
            ("POST", "/faults", self.set_faults),
            ("DELETE", "/faults", self.clear_faults),
            ("POST", "/reset", self.reset_state),
            ("POST", "/tickets/{id}/touch", self.touch_ticket),
            ("PUT", "/articles/{locale}/{id}", self.put_article),
            ("GET", "/rate_limit", self.show_rate_limit),
            ("POST", "/rate_limit", self.set_rate_limit),
            ("GET", "/search_lag", self.show_search_lag),
            ("POST", "/search_lag", self.set_search_lag),
        ]
        return [
            _compile("/__emulator" + path, method, handler, json_suffix=False)
            for method, path, handler in table
        ]

    @staticmethod
    def _match(
        routes: list[_Route], method: str, path: str
    ) -> tuple[_Route | None, re.Match[str] | None, list[str]]:
        """Find the route for method + path; also the methods the path allows."""
        allowed: list[str] = []
        for route in routes:
            match = route.pattern.match(path)
            if match is None:
                continue
            if route.method == method:
                return route, match, allowed
            allowed.append(route.method)
        return None, None, allowed

    # --------------------------------------------------------------- dispatch

    def handle(
        self, method: str, target: str, headers: Message, raw_body: bytes, base: str
    ) -> tuple[_Response | None, RateDecision]:
        """Answer one request; a None response means: drop the connection."""
        split = urlsplit(target)
        path = split.path
        query = parse_qs(split.query, keep_blank_values=True)
        if path == "/__emulator" or path.startswith("/__emulator/"):
            response = self._dispatch(self.control_routes, method, path, query, raw_body, base)
            return response, self.store.peek_rate_budget()
        route, _, _ = self._match(self.api_routes, method, path)
        self.store.record_request(f"{method} {route.template if route else '<unknown>'}")
        if not _is_authenticated(headers.get("Authorization")):
            return _Response(
                401, {"error": "Couldn't authenticate you"}
            ), self.store.peek_rate_budget()
        decision = self.store.take_rate_token()
        if not decision.allowed:
            return _make_rate_limited(decision.retry_after), decision
        endpoint_headers: dict[str, str] = {}
        ticket_update = _SINGLE_TICKET_RE.match(path) if method == "PUT" else None
        if ticket_update is not None:
            limited = self.store.take_update_ticket_token(
                int(ticket_update["id"]), _get_user(headers.get("Authorization"))
            )
            if limited is not None:
                endpoint_headers = limited.headers()
                if not limited.allowed:
                    return _Response(429, RATE_LIMIT_MESSAGE, endpoint_headers), decision
        for fault in self.store.consume_faults(method, path):
            if fault.kind == "latency":
                time.sleep(fault.ms / 1000.0)
            elif fault.kind == "conflict":
                self._touch_targets(method, path, query)
            elif fault.kind == "drop":
                return None, decision
            elif fault.kind == "rate_limit":
                return _make_rate_limited(fault.retry_after or 1), decision
            else:
                extra = (
                    {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                )
                body = {"error": "EmulatedFault", "description": f"Injected HTTP {fault.status}"}
                return _Response(fault.status, body, extra), decision
        response = self._dispatch(self.api_routes, method, path, query, raw_body, base)
        response.headers.update(endpoint_headers)
        if method != "GET" and 200 <= response.status < 300:
            self.store.record_write()
        return response, decision

    def _dispatch(
        self,
        routes: list[_Route],
        method: str,
        path: str,
        query: dict[str, list[str]],
        raw_body: bytes,
        base: str,
    ) -> _Response:
        """Route to a handler, turning ApiError into its response."""
        route, match, allowed = self._match(routes, method, path)
        if route is None or match is None:
            if allowed:
                return _Response(
                    405,
                    {"error": "InvalidEndpoint", "description": f"{method} is not allowed here"},
                    {"Allow": ", ".join(sorted(set(allowed)))},
                )
            return _Response(404, {"error": "InvalidEndpoint", "description": "Not found"})
        try:
            body = json.loads(raw_body) if raw_body.strip() else None
        except (ValueError, UnicodeDecodeError):
            return _Response(
                400, {"error": "BadRequest", "description": "The request body is not valid JSON"}
            )
        request = _Request(method, path, query, body, base)
        try:
            return route.handler(request, match)
        except ApiError as exc:
            return _Response(exc.status, exc.body, exc.headers)
        except ValueError as exc:
            return _Response(400, {"error": "BadRequest", "description": str(exc)})

    def _touch_targets(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        """For a conflict fault: edit the targeted tickets 'concurrently' before a PUT."""
        if method != "PUT":
            return
        ids = [int(m) for m in _TICKET_IN_PATH_RE.findall(path)]
        for raw in query.get("ids", []):
            ids += [int(p) for p in raw.split(",") if p.strip().isdigit()]
        for ticket_id in ids:
            try:
                self.store.touch_ticket(ticket_id)
            except ApiError:
                continue

    # ---------------------------------------------------------------- tickets

    def list_tickets(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /tickets."""
        return _Response(
            200, _paginate(request, self.store.list_tickets(base_url=request.base), "tickets")
        )

    def create_ticket(self, request: _Request, match: re.Match[str]) -> _Response:
        """POST /tickets: 201 with ticket and audit."""
        ticket, audit = self.store.create_ticket_with_audit(
            request.payload("ticket"), base_url=request.base
        )
        return _Response(201, {"ticket": ticket, "audit": audit})

    def show_many(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /tickets/show_many?ids=…"""
        return _Response(
            200, {"tickets": self.store.show_many(request.ids_param(), base_url=request.base)}
        )

    def update_many(self, request: _Request, match: re.Match[str]) -> _Response:
        """PUT /tickets/update_many: applies and answers a queued job_status."""
        ids = request.ids_param() if request.param("ids") else None
        body = request.body if isinstance(request.body, dict) else {}
        job = self.store.update_many(ids, body, base_url=request.base)
        return _Response(200, {"job_status": job})

    def show_ticket(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /tickets/{id}."""
        ticket = self.store.get_ticket(int(match["id"]), base_url=request.base)
        if ticket is None:
            raise make_not_found()
        return _Response(200, {"ticket": ticket})

    def update_ticket(self, request: _Request, match: re.Match[str]) -> _Response:
        """PUT /tickets/{id}; additional_tags / remove_tags are ignored and reported."""
        payload = request.payload("ticket")
        ignored = [key for key in IGNORED_SINGLE_UPDATE_KEYS if key in payload]
        headers = {"X-Emulator-Ignored": ",".join(ignored)} if ignored else {}
        if ignored:
            self.store.record_ignored_tag_ops()
        try:
            ticket, audit = self.store.update_ticket(
                int(match["id"]), payload, base_url=request.base
            )
        except ApiError as exc:
            exc.headers.update(headers)
            raise
        return _Response(200, {"ticket": ticket, "audit": audit}, headers)

    def list_comments(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /tickets/{id}/comments."""
        comments = self.store.comments(int(match["id"]))
        if (request.param("sort_order") or "asc").lower() == "desc":
            comments.reverse()
        return _Response(200, _paginate(request, comments, "comments"))

    def tags(self, request: _Request, match: re.Match[str]) -> _Response:
        """Tags endpoints: GET list, PUT add, POST set, DELETE remove."""
        operation = {"GET": "get", "PUT": "add", "POST": "set", "DELETE": "remove"}[request.method]
        body = request.body if isinstance(request.body, dict) else {}
        if operation != "get" and "tags" not in body:
            raise _make_bad_request("Expected a JSON object with a 'tags' list")
        tags = self.store.change_ticket_tags(
            int(match["id"]),
            operation,
            body.get("tags"),
            safe_update=body.get("safe_update"),
            updated_stamp=body.get("updated_stamp"),
        )
        if operation == "remove":
            return _Response(204)
        return _Response(201 if operation == "set" else 200, {"tags": tags})

    def apply_macro(self, request: _Request, match: re.Match[str]) -> _Response:
        """Macro previews, with or without a ticket."""
        groups = match.groupdict()
        ticket_id = int(groups["id"]) if groups.get("id") else None
        return _Response(
            200,
            self.store.preview_macro(int(match["macro_id"]), ticket_id, base_url=request.base),
        )

    # ----------------------------------------------------------------- search

    def search(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /search: offset pagination, at most 1,000 results reachable."""
        query = request.param("query")
        if query is None:
            raise ApiError(400, {"error": "invalid", "description": "query is required"})
        filter_type = request.param("filter[type]")
        results = (
            []
            if filter_type not in (None, "", "ticket")
            else self.store.search(
                query,
                sort_by=request.param("sort_by"),
                sort_order=request.param("sort_order"),
                base_url=request.base,
            )
        )
        per_page = min(max(request.int_param("per_page", 100), 1), 100)
        page = max(request.int_param("page", 1), 1)
        if (page - 1) * per_page >= SEARCH_RESULT_LIMIT:
            raise ApiError(
                422,
                {
                    "error": "invalid",
                    "description": "Invalid search: Requested response size was greater "
                    "than Search Response Limits",
                },
            )
        body = _paginate(request, results, "results", cursor=False)
        body["facets"] = None
        return _Response(200, body, _build_unsupported_header(query))

    def count_search(self, request: _Request, match: re.Match[str]) -> _Response:
        """GET /search/count."""
        query = request.param("query")
        if query is None:
            raise ApiError(400, {"error": "invalid", "description": "query is required"})
        count = len(self.store.search(query, base_url=request.base))
        return _Response(200, {"count": count}, _build_unsupported_header(query))
