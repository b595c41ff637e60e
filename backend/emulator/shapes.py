"""Zendesk's JSON shapes and errors: constants, ApiError, value helpers, renderers."""

from __future__ import annotations

import copy
import html
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]

AGENT_ID = 1_001_001
CUSTOMER_ID = 1_001_002
AGENT_NAME = "Emulator Agent"
AGENT_EMAIL = "agent@emulator.invalid"
CUSTOMER_NAME = "Emulator Customer"
CUSTOMER_EMAIL = "customer@emulator.invalid"
DEFAULT_BASE_URL = "http://127.0.0.1"
DEFAULT_RATE_LIMIT = 700
MAX_BULK_IDS = 100

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_TYPES = ("question", "incident", "problem", "task")
CUSTOM_FIELD_TYPES = (
    "text",
    "textarea",
    "integer",
    "decimal",
    "date",
    "checkbox",
    "tagger",
    "multiselect",
    "regexp",
)
OPTION_FIELD_TYPES = frozenset({"tagger", "multiselect"})
UPDATE_CONFLICT_DESCRIPTION = (
    "Safe Update prevented the update due to outdated ticket data. "
    "Please fetch the latest ticket data and try again."
)

# (type, title, system_field_options) of the system fields every account has.
_SYSTEM_FIELDS: list[tuple[str, str, list[tuple[str, str]] | None]] = [
    ("subject", "Subject", None),
    ("description", "Description", None),
    (
        "status",
        "Status",
        [(s.capitalize() if s != "hold" else "On-hold", s) for s in STATUSES],
    ),
    ("tickettype", "Type", [(t.capitalize(), t) for t in TICKET_TYPES]),
    ("priority", "Priority", [(p.capitalize(), p) for p in PRIORITIES]),
    ("group", "Group", None),
    ("assignee", "Assignee", None),
]
_SYSTEM_FIELD_FIRST_ID = 1_000_001
_INTEGER_RE = re.compile(r"-?\d+")
_DECIMAL_RE = re.compile(r"-?\d+(\.\d+)?")
_BLOCK_END_RE = re.compile(r"<\s*(br\s*/?|/p|/div|/li|/h\d|/tr)\s*>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]+>")


class ApiError(Exception):
    """An error answer in Zendesk's shape: HTTP status, body and extra headers."""

    def __init__(
        self, status: int, body: JSON | str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class RateDecision:
    """Outcome of taking one request from the per-minute budget."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int


def make_not_found() -> ApiError:
    """Zendesk's 404 for an unknown record."""
    return ApiError(404, {"error": "RecordNotFound", "description": "Not found"})


def make_record_invalid(attribute: str, description: str, error: str = "InvalidValue") -> ApiError:
    """Zendesk's 422 validation error with per-attribute details."""
    return ApiError(
        422,
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {attribute: [{"description": description, "error": error}]},
        },
    )


def normalize_tags(raw: Any) -> list[str]:
    """Normalise tags like Zendesk: lowercase, split on whitespace, drop duplicates."""
    if raw is None:
        return []
    if isinstance(raw, str):
        items: list[Any] = [raw]
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        raise make_record_invalid("tags", "Tags: must be a list of strings")
    tags: list[str] = []
    for item in items:
        if not isinstance(item, str | int | float) or isinstance(item, bool):
            raise make_record_invalid("tags", "Tags: must be a list of strings")
        for part in str(item).lower().split():
            if part not in tags:
                tags.append(part)
    return tags


def format_iso(timestamp: int) -> str:
    """Format epoch seconds as Zendesk does: YYYY-MM-DDTHH:MM:SSZ."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def parse_stamp(value: Any) -> int | None:
    """Parse an ISO 8601 timestamp into epoch seconds; None when unreadable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def render_text_as_html(text: str) -> str:
    """Render a plain comment body the way Zendesk wraps it in html_body."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()] or [""]
    inner = "".join(
        '<p dir="auto">' + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs
    )
    return f'<div class="zd-comment" dir="auto">{inner}</div>'


def strip_html(markup: str) -> str:
    """Reduce HTML to the plain text Zendesk keeps in body / plain_body."""
    text = _BLOCK_END_RE.sub("\n", markup)
    text = html.unescape(_TAG_RE.sub("", text))
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _read_flag(value: Any) -> bool:
    """Read JSON booleans that clients sometimes send as strings."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _get_option_title(option: JSON) -> str:
    """The visible title of an option: the last part of a ``::`` nested name."""
    return str(option["name"]).split("::")[-1].strip()


class Renderers:
    """Zendesk JSON shapes of stored records (static: no state needed)."""

    @staticmethod
    def _render_audit(audit: JSON) -> JSON:
        """Render an audit with ISO timestamps."""
        return {**copy.deepcopy(audit), "created_at": format_iso(audit["created_at"])}

    @staticmethod
    def _render_job(job: JSON, base: str, *, completed: bool) -> JSON:
        """Render a job_status, queued right after the request and completed afterwards."""
        total = job["total"]
        return {
            "id": job["id"],
            "url": f"{base}/api/v2/job_statuses/{job['id']}.json",
            "job_type": job["job_type"],
            "total": total,
            "progress": total if completed else 0,
            "status": "completed" if completed else "queued",
            "message": f"Completed at {format_iso(job['created_at'])}" if completed else None,
            "results": copy.deepcopy(job["results"]) if completed else None,
        }

    @staticmethod
    def _render_field(record: JSON, base: str) -> JSON:
        """Render a ticket field in Zendesk's JSON shape."""
        rendered: JSON = {
            "url": f"{base}/api/v2/ticket_fields/{record['id']}.json",
            "id": record["id"],
            "type": record["type"],
            "title": record["title"],
            "raw_title": record["title"],
            "description": record["description"],
            "raw_description": record["description"],
            "position": record["position"],
            "active": record["active"],
            "required": record["required"],
            "collapsed_for_agents": record["collapsed_for_agents"],
            "regexp_for_validation": record["regexp_for_validation"],
            "title_in_portal": record["title_in_portal"],
            "raw_title_in_portal": record["title_in_portal"],
            "visible_in_portal": record["visible_in_portal"],
            "editable_in_portal": record["editable_in_portal"],
            "required_in_portal": record["required_in_portal"],
            "tag": record["tag"],
            "created_at": format_iso(record["created_at"]),
            "updated_at": format_iso(record["updated_at"]),
            "removable": record["removable"],
            "key": None,
            "agent_description": record["agent_description"],
        }
        if record["type"] in OPTION_FIELD_TYPES:
            rendered["custom_field_options"] = [
                {
                    "id": o["id"],
                    "name": o["name"],
                    "raw_name": o["name"],
                    "value": o["value"],
                    "default": o["default"],
                }
                for o in record["options"]
            ]
        if record["system_options"] is not None:
            rendered["system_field_options"] = copy.deepcopy(record["system_options"])
        return rendered

    @staticmethod
    def _render_macro(record: JSON, base: str) -> JSON:
        """Render a macro in Zendesk's JSON shape."""
        return {
            "url": f"{base}/api/v2/macros/{record['id']}.json",
            "id": record["id"],
            "title": record["title"],
            "raw_title": record["title"],
            "description": record["description"],
            "active": record["active"],
            "position": record["position"],
            "default": False,
            "actions": copy.deepcopy(record["actions"]),
            "restriction": copy.deepcopy(record["restriction"]),
            "created_at": format_iso(record["created_at"]),
            "updated_at": format_iso(record["updated_at"]),
        }

    @staticmethod
    def _render_article(record: JSON, translations: dict[str, JSON], base: str) -> JSON:
        """Render a Help Center article in Zendesk's JSON shape."""
        locale = record["locale"]
        return {
            "id": record["id"],
            "url": f"{base}/api/v2/help_center/{locale}/articles/{record['id']}.json",
            "html_url": f"{base}/hc/{locale}/articles/{record['id']}",
            "author_id": AGENT_ID,
            "comments_disabled": False,
            "draft": False,
            "promoted": False,
            "position": 0,
            "vote_sum": 0,
            "vote_count": 0,
            "section_id": 1,
            "created_at": format_iso(record["created_at"]),
            "updated_at": format_iso(record["updated_at"]),
            "edited_at": format_iso(record["updated_at"]),
            "name": record["title"],
            "title": record["title"],
            "source_locale": next(iter(translations)),
            "locale": locale,
            "outdated": False,
            "outdated_locales": [],
            "permission_group_id": 1,
            "user_segment_id": None,
            "label_names": [],
            "content_tag_ids": [],
            "body": record["body"],
        }
