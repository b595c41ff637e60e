"""HTTP front of the Zendesk emulator: routing, auth, rate limiting, faults, pagination.

A real ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive, so injected
faults behave like network faults: ``drop`` closes the socket without an answer.
All state lives in an :class:`EmulatorStore`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from backend.emulator.search import parse_query
from backend.emulator.store import JSON, ApiError, EmulatorStore, RateDecision, make_not_found

__all__ = ["EmulatorServer", "serve_forever"]

RATE_LIMIT_MESSAGE = "Number of allowed API requests per minute exceeded"
SEARCH_RESULT_LIMIT = 1000
IGNORED_SINGLE_UPDATE_KEYS = ("additional_tags", "remove_tags")
_CURSOR_KEYS = ("page[size]", "page[after]", "page[before]")
_PAGE_KEYS = frozenset({"page", "per_page", *_CURSOR_KEYS})
_TICKET_IN_PATH_RE = re.compile(r"/api/v2/tickets/(\d+)")


@dataclass
class _Request:
    """One parsed API request."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    base: str

    def param(self, name: str) -> str | None:
        """First value of a query parameter, if any."""
        values = self.query.get(name)
        return values[0] if values else None

    def int_param(self, name: str, default: int) -> int:
        """Integer query parameter; 400 when it is not an integer."""
        raw = self.param(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise _make_bad_request(f"{name} must be an integer") from None

    def ids_param(self) -> list[int]:
        """The comma-separated ``ids`` parameter as integers."""
        raw = self.param("ids") or ""
        try:
            return [int(part) for part in raw.split(",") if part.strip()]
        except ValueError:
            raise _make_bad_request("ids must be comma-separated integers") from None

    def payload(self, key: str) -> JSON:
        """The object under the root key of the JSON body (``{"ticket": {...}}``)."""
        if not isinstance(self.body, dict) or not isinstance(self.body.get(key), dict):
            raise _make_bad_request(f"Expected a JSON object with a {key!r} object")
        value: JSON = self.body[key]
        return value


@dataclass
class _Response:
    """What to send back; a str body goes out as text/plain."""

    status: int
    body: JSON | str | None = None
    headers: dict[str, str] = field(default_factory=dict)


_Handler = Callable[[_Request, "re.Match[str]"], _Response]


@dataclass
class _Route:
    """A method + path pattern, with the template used as the counter key."""

    method: str
    pattern: re.Pattern[str]
    template: str
    handler: _Handler


def _make_bad_request(description: str) -> ApiError:
    """400 answer for malformed input."""
    return ApiError(400, {"error": "BadRequest", "description": description})


def _encode_cursor(offset: int) -> str:
    """Opaque cursor for an offset into a listing."""
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    """Offset from a cursor; 400 when it was not made here."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        kind, _, number = text.partition(":")
        if kind != "o":
            raise ValueError(cursor)
        return max(0, int(number))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(
            400, {"error": "InvalidPaginationParameter", "description": "Invalid cursor"}
        ) from None


def _build_page_url(request: _Request, extra: list[tuple[str, str]]) -> str:
    """Absolute URL of another page of the same listing (the Host the client used)."""
    pairs = [(k, v) for k, values in request.query.items() if k not in _PAGE_KEYS for v in values]
    return f"{request.base}{request.path}?{urlencode(pairs + extra)}"


def _paginate(request: _Request, items: list[JSON], key: str, *, cursor: bool = True) -> JSON:
    """Cursor pagination when page[size]/page[after]/page[before] is given, else offset."""
    if cursor and any(k in request.query for k in _CURSOR_KEYS):
        size = min(max(request.int_param("page[size]", 100), 1), 100)
        after, before = request.param("page[after]"), request.param("page[before]")
        if after:
            start = _decode_cursor(after)
            end = start + size
        elif before:
            end = _decode_cursor(before)
            start = max(0, end - size)
        else:
            start, end = 0, size
        page = items[start:end]
        has_more = start + len(page) < len(items)
        after_cursor = _encode_cursor(start + len(page)) if page else None
        before_cursor = _encode_cursor(start) if page else None
        size_pair = ("page[size]", str(size))
        return {
            key: page,
            "meta": {
                "has_more": has_more,
                "after_cursor": after_cursor,
                "before_cursor": before_cursor,
            },
            "links": {
                "next": _build_page_url(request, [size_pair, ("page[after]", after_cursor)])
                if has_more and after_cursor
                else None,
                "prev": _build_page_url(request, [size_pair, ("page[before]", before_cursor)])
                if start > 0 and before_cursor
                else None,
            },
        }
    per_page = min(max(request.int_param("per_page", 100), 1), 100)
    number = max(request.int_param("page", 1), 1)
    start = (number - 1) * per_page
    return {
        key: items[start : start + per_page],
        "next_page": _build_page_url(
            request, [("page", str(number + 1)), ("per_page", str(per_page))]
        )
        if start + per_page < len(items)
        else None,
        "previous_page": _build_page_url(
            request, [("page", str(number - 1)), ("per_page", str(per_page))]
        )
        if number > 1
        else None,
        "count": len(items),
    }


def _is_authenticated(header: str | None) -> bool:
    """Accept any well-formed Basic (email/token:TOKEN or email:password) or Bearer."""
    if not header:
        return False
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return bool(credentials)
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, separator, secret = decoded.partition(":")
    return bool(separator and user and secret)


def _read_flag_param(request: _Request, name: str) -> bool | None:
    """Optional true/false query parameter."""
    raw = request.param(name)
    if raw is None or raw == "":
        return None
    return raw.lower() in ("true", "1")


class _App:
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
            ("GET", "/users/me", self.show_me),
            ("GET", "/users/{id}", self.show_user),
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
            safe_update=body.get("safe_update", False),
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


def _compile(path: str, method: str, handler: _Handler, *, json_suffix: bool) -> _Route:
    """Turn ``/tickets/{id}`` into a regex; Zendesk paths take an optional .json suffix."""
    pattern = ""
    for part in re.split(r"(\{\w+\})", path):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            pattern += (
                rf"(?P<{name}>[A-Za-z0-9_-]+)"
                if name in ("job_id", "locale")
                else rf"(?P<{name}>\d+)"
            )
        else:
            pattern += re.escape(part)
    suffix = r"(?:\.json)?" if json_suffix else ""
    template = re.sub(r"\{macro_id\}", "{id}", path) if "/tickets/" not in path else path
    return _Route(method, re.compile(f"^{pattern}{suffix}/?$"), template, handler)


def _build_unsupported_header(query: str) -> dict[str, str]:
    """Name the Zendesk search keywords the emulator ignored, so tests can see them."""
    unsupported = parse_query(query).unsupported
    return {"X-Emulator-Unsupported": ",".join(unsupported)} if unsupported else {}


def _make_rate_limited(retry_after: int) -> _Response:
    """Zendesk's account rate-limit answer: 429, Retry-After, plain-text body."""
    return _Response(429, RATE_LIMIT_MESSAGE, {"Retry-After": str(retry_after)})


class _HTTPServer(ThreadingHTTPServer):
    """Threaded server that remembers open connections so stop() can close them."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: _App) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse-DNS lookup of the host name."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hang up mid-answer; report anything else."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def track(self, connection: socket.socket) -> None:
        """Remember an accepted connection."""
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        """Forget a finished connection."""
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Shut down idle keep-alive connections so their threads end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue


class _RequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler delegating to the shared _App."""

    protocol_version = "HTTP/1.1"
    server_version = "ZendeskEmulator/1.0"
    # Idle keep-alive connections end after this many seconds.
    timeout = 30.0

    def setup(self) -> None:
        """Track the connection for a clean shutdown; disable Nagle."""
        super().setup()
        # Headers and body go out in two writes; without NODELAY the client's delayed
        # ACK stalls every response by ~40 ms.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._get_http_server().track(self.connection)

    def finish(self) -> None:
        """Untrack the connection."""
        try:
            super().finish()
        finally:
            self._get_http_server().untrack(self.connection)

    def version_string(self) -> str:
        """Name the emulator in the Server header (no Python version)."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests and the CLI own the console."""

    def do_GET(self) -> None:
        """Serve GET."""
        self._serve()

    def do_POST(self) -> None:
        """Serve POST."""
        self._serve()

    def do_PUT(self) -> None:
        """Serve PUT."""
        self._serve()

    def do_DELETE(self) -> None:
        """Serve DELETE."""
        self._serve()

    def do_PATCH(self) -> None:
        """Serve PATCH (no route uses it, so it answers 405/404)."""
        self._serve()

    def _get_http_server(self) -> _HTTPServer:
        """The owning server, typed."""
        assert isinstance(self.server, _HTTPServer)
        return self.server

    def _serve(self) -> None:
        """Read the body, answer, or drop the connection for a drop fault."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._send(
                _Response(400, {"error": "BadRequest", "description": "Bad Content-Length"}), None
            )
            return
        raw = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or "{}:{}".format(
            *self._get_http_server().server_address[:2]
        )
        try:
            response, rate = self._get_http_server().app.handle(
                self.command, self.path, self.headers, raw, f"http://{host}"
            )
        except Exception as exc:  # a bug must surface as a 500, not a hung client
            response, rate = (
                _Response(500, {"error": "InternalError", "description": repr(exc)}),
                None,
            )
        if response is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(response, rate)

    def _send(self, response: _Response, rate: RateDecision | None) -> None:
        """Write status, headers and body with an exact Content-Length."""
        if response.body is None:
            data, content_type = b"", None
        elif isinstance(response.body, str):
            data, content_type = response.body.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            data = json.dumps(response.body, ensure_ascii=False).encode("utf-8")
            content_type = "application/json; charset=utf-8"
        self.send_response(response.status)
        if content_type:
            self.send_header("Content-Type", content_type)
        if rate is not None:
            self.send_header("X-Rate-Limit", str(rate.limit))
            self.send_header("X-Rate-Limit-Remaining", str(rate.remaining))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if data and response.status != 204:
            self.wfile.write(data)


class EmulatorServer:
    """The emulator on a background thread; use as a context manager or start()/stop()."""

    def __init__(
        self,
        store: EmulatorStore | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit_per_minute: int = 700,
    ) -> None:
        self.store = store if store is not None else EmulatorStore()
        self.host = host
        self.rate_limit_per_minute = rate_limit_per_minute
        self._requested_port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _bind(self) -> _HTTPServer:
        """Create the listening server and point the store's URLs at it."""
        self.store.set_rate_limit(self.rate_limit_per_minute, as_default=True)
        httpd = _HTTPServer((self.host, self._requested_port), _App(self.store))
        self._httpd = httpd
        self.store.base_url = self.url
        if not self.store.is_marked:
            self.store.mark_initial()
        return httpd

    def start(self) -> EmulatorServer:
        """Start serving on a daemon thread (idempotent)."""
        if self._httpd is not None:
            return self
        httpd = self._bind()
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"zendesk-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and join the thread."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    @property
    def port(self) -> int:
        """The bound port (known once started)."""
        if self._httpd is None:
            raise RuntimeError("the emulator is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def __enter__(self) -> EmulatorServer:
        """Start on entering the with block."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop on leaving the with block."""
        self.stop()


def serve_forever(
    host: str = "127.0.0.1",
    port: int = 8090,
    store: EmulatorStore | None = None,
    rate_limit_per_minute: int = 700,
) -> None:
    """Run the emulator in the foreground until interrupted (for the CLI)."""
    server = EmulatorServer(store, host, port, rate_limit_per_minute)
    httpd = server._bind()
    try:
        httpd.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.close_connections()
        httpd.server_close()
