"""The emulator's HTTP vocabulary: requests, responses, routes, pagination, auth."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from backend.emulator.search import parse_query
from backend.emulator.store import JSON, ApiError

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


def _compile(path: str, method: str, handler: _Handler, *, json_suffix: bool) -> _Route:
    """Turn ``/tickets/{id}`` into a regex; Zendesk paths take an optional .json suffix."""
    pattern = ""
    for part in re.split(r"(\{\w+\})", path):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            pattern += (
                rf"(?P<{name}>[A-Za-z0-9_-]+)"
                if name in ("job_id", "locale", "key", "record_id")
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
