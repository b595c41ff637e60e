"""Ticket endpoints beyond one ticket: Update Many and jobs, the tags endpoints, search."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from backend.emulator.search import parse_query
from backend.emulator.shapes import (
    JSON,
    MAX_BULK_IDS,
    ApiError,
    format_iso,
    make_not_found,
    make_record_invalid,
    normalize_tags,
)
from backend.emulator.tickets import TicketsMixin
from backend.emulator.validation import (
    _get_sort_key,
    _make_too_many_ids,
)


class TicketOpsMixin(TicketsMixin):
    """Update Many, job statuses, tags endpoints and search."""

    def update_many(
        self, ids: list[int] | None, data: JSON, *, base_url: str | None = None
    ) -> JSON:
        """Apply an Update Many request and return its queued job_status.

        Honours additional_tags / remove_tags. Accepts the bulk form
        (``ids`` + ``{"ticket": {...}}``) and the batch form (``{"tickets": [...]}``).
        The work is done at once; the job reports ``queued`` now and ``completed``
        when polled.
        """
        if not isinstance(data, dict):
            raise ApiError(400, {"error": "InvalidPayload", "description": "Expected an object"})
        jobs: list[tuple[int, JSON]] = []
        if isinstance(data.get("tickets"), list):
            for item in data["tickets"]:
                if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                    raise make_record_invalid("tickets", "Tickets: each ticket needs an integer id")
                jobs.append((item["id"], item))
        elif isinstance(data.get("ticket"), dict) and ids:
            jobs = [(i, data["ticket"]) for i in ids]
        else:
            raise ApiError(
                400,
                {
                    "error": "InvalidPayload",
                    "description": "Send ids with a ticket object, or a tickets array",
                },
            )
        if len(jobs) > MAX_BULK_IDS:
            raise _make_too_many_ids()
        with self._lock:
            results = [self._update_one_in_bulk(ticket_id, change) for ticket_id, change in jobs]
            job_id = uuid.uuid4().hex
            job: JSON = {
                "id": job_id,
                "job_type": "bulk_update",
                "total": len(jobs),
                "results": results,
                "created_at": self._now(),
            }
            self._state.jobs[job_id] = job
            return self._render_job(job, self._resolve_base(base_url), completed=False)

    def get_job_status(self, job_id: str, *, base_url: str | None = None) -> JSON:
        """Return a job_status; jobs complete immediately in the emulator."""
        with self._lock:
            job = self._state.jobs.get(job_id)
            if job is None:
                raise make_not_found()
            return self._render_job(job, self._resolve_base(base_url), completed=True)

    def comments(self, ticket_id: int) -> list[JSON]:
        """Return a ticket's comments, oldest first (404 ApiError for an unknown ticket)."""
        with self._lock:
            if int(ticket_id) not in self._state.tickets:
                raise make_not_found()
            return [
                {**copy.deepcopy(c), "created_at": format_iso(c["created_at"])}
                for c in self._state.comments[int(ticket_id)]
            ]

    def change_ticket_tags(
        self,
        ticket_id: int,
        operation: str = "get",
        tags: Any = None,
        *,
        safe_update: Any = None,
        updated_stamp: Any = None,
    ) -> list[str]:
        """Read or change tags through the tags endpoints: get, add, set or remove."""
        with self._lock:
            ticket = self._state.tickets.get(int(ticket_id))
            if ticket is None:
                raise make_not_found()
            if operation == "get":
                return list(ticket["tags"])
            self._check_safe_update(
                ticket, {"safe_update": safe_update, "updated_stamp": updated_stamp}
            )
            if ticket["status"] == "closed":
                raise make_record_invalid(
                    "status", "Status: closed prevents ticket update", "ClosedTicket"
                )
            given = normalize_tags(tags)
            if operation == "add":
                new_tags = ticket["tags"] + [t for t in given if t not in ticket["tags"]]
            elif operation == "set":
                new_tags = given
            elif operation == "remove":
                new_tags = [t for t in ticket["tags"] if t not in given]
            else:
                raise ValueError(f"unknown tag operation {operation!r}")
            working = copy.deepcopy(ticket)
            events: list[JSON] = []
            self._replace_tags(working, new_tags, events)
            self._commit_changes(working, events, None)
            return list(working["tags"])

    def search(
        self,
        query: str,
        *,
        sort_by: str | None = None,
        sort_order: str | None = None,
        base_url: str | None = None,
    ) -> list[JSON]:
        """Run a Zendesk search query over tickets; results carry result_type."""
        parsed = parse_query(query)
        with self._lock:
            # Which tickets match is the (possibly stale) index's answer; what is shown
            # is the ticket's current data.
            matched = [t["id"] for t in self._indexed_tickets() if parsed.matches(t)]
            hits = [self._state.tickets[i] for i in matched]
            hits.sort(key=lambda t: (_get_sort_key(t, sort_by), t["id"]))
            if (sort_order or "asc").lower() == "desc":
                hits.reverse()
            base = self._resolve_base(base_url)
            return [{**self._render_ticket(t, base), "result_type": "ticket"} for t in hits]

    def _update_one_in_bulk(self, ticket_id: int, change: JSON) -> JSON:
        """Apply one ticket's part of an Update Many job; return its result entry."""
        current = self._state.tickets.get(ticket_id)
        if current is None:
            return {
                "id": ticket_id,
                "action": "update",
                "success": False,
                "status": "Failed",
                "error": "TicketNotFound",
                "details": "Not found",
            }
        try:
            if current["status"] == "closed" and set(change) - {
                "id",
                "additional_tags",
                "remove_tags",
                "tags",
            }:
                raise make_record_invalid(
                    "status", "Status: closed prevents ticket update", "ClosedTicket"
                )
            working = copy.deepcopy(current)
            events, comment = self._apply_changes(working, change, bulk=True)
        except ApiError as exc:
            detail = exc.body if isinstance(exc.body, str) else exc.body.get("details")
            return {
                "id": ticket_id,
                "action": "update",
                "success": False,
                "status": "Failed",
                "error": "RecordInvalid",
                "details": detail,
            }
        self._commit_changes(working, events, comment)
        return {"id": ticket_id, "action": "update", "success": True, "status": "Updated"}
