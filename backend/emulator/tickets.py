"""Tickets: create, read, update (safe_update), comments, audits, tags ↔ fields."""

from __future__ import annotations

import copy
from typing import Any

from backend.emulator.shapes import (
    AGENT_ID,
    CUSTOMER_ID,
    JSON,
    MAX_BULK_IDS,
    PRIORITIES,
    STATUSES,
    TICKET_TYPES,
    UPDATE_CONFLICT_DESCRIPTION,
    ApiError,
    _read_flag,
    format_iso,
    make_not_found,
    make_record_invalid,
    normalize_tags,
    parse_stamp,
    render_text_as_html,
    strip_html,
)
from backend.emulator.state import StoreBase
from backend.emulator.validation import (
    _assign_enumerated,
    _list_value_tags,
    _make_too_many_ids,
    _validate_value,
)

# A touch waits for the clock to leave the ticket's last second (about one second at most).
TOUCH_ATTEMPTS = 5
TOUCH_MIN_WAIT = 0.01


class TicketsMixin(StoreBase):
    """Single-ticket endpoints and the change machinery they share."""

    search_lag_seconds: float

    # ---------------------------------------------------------------- tickets

    def create_ticket(self, data: JSON, *, base_url: str | None = None) -> JSON:
        """Create a ticket from an API-style payload; comment.body is the description."""
        ticket, _ = self.create_ticket_with_audit(data, base_url=base_url)
        return ticket

    def create_ticket_with_audit(
        self, data: JSON, *, base_url: str | None = None
    ) -> tuple[JSON, JSON]:
        """Create a ticket and return (ticket, audit) as POST /tickets answers."""
        if not isinstance(data, dict):
            raise make_record_invalid("ticket", "Ticket: must be an object")
        with self._lock:
            spec = dict(data)
            if "comment" not in spec and spec.get("description"):
                spec["comment"] = {"body": spec["description"]}
            if not spec.get("comment"):
                raise make_record_invalid(
                    "description", "Description: cannot be blank", "BlankValue"
                )
            now = self._now()
            ticket: JSON = {
                "id": self._state.next_ticket_id,
                "subject": None,
                "description": "",
                "status": "new",
                "priority": None,
                "type": None,
                "tags": [],
                "fields": {},
                "requester_id": CUSTOMER_ID,
                "submitter_id": AGENT_ID,
                "assignee_id": None,
                "group_id": None,
                "collaborator_ids": [],
                "external_id": None,
                "created_at": now,
                "updated_at": now,
            }
            events, comment = self._apply_changes(ticket, spec, bulk=False)
            assert comment is not None
            ticket["description"] = comment["plain_body"]
            self._state.next_ticket_id += 1
            self._state.tickets[ticket["id"]] = ticket
            self._state.comments[ticket["id"]] = []
            events.insert(
                0, {"type": "Create", "field_name": "subject", "value": ticket["subject"]}
            )
            self._index_ticket(ticket)
            audit = self._commit_audit(ticket, events, comment)
            base = self._resolve_base(base_url)
            return self._render_ticket(ticket, base), self._render_audit(audit)

    def get_ticket(self, ticket_id: int, *, base_url: str | None = None) -> JSON | None:
        """Return a ticket in Zendesk's shape, or None."""
        with self._lock:
            ticket = self._state.tickets.get(int(ticket_id))
            return (
                None
                if ticket is None
                else self._render_ticket(ticket, self._resolve_base(base_url))
            )

    def list_tickets(self, *, base_url: str | None = None) -> list[JSON]:
        """Return all tickets ordered by id."""
        with self._lock:
            base = self._resolve_base(base_url)
            return [self._render_ticket(t, base) for _, t in sorted(self._state.tickets.items())]

    def show_many(self, ids: list[int], *, base_url: str | None = None) -> list[JSON]:
        """Return the known tickets among ids (unknown ids are skipped, as Zendesk does)."""
        if len(ids) > MAX_BULK_IDS:
            raise _make_too_many_ids()
        with self._lock:
            base = self._resolve_base(base_url)
            return [
                self._render_ticket(self._state.tickets[i], base)
                for i in ids
                if i in self._state.tickets
            ]

    def touch_ticket(self, ticket_id: int) -> JSON:
        """Simulate another agent's edit, made now: `updated_at` becomes the current second.

        Zendesk stamps a change with the second it happened, never a later one
        (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/, `updated_at`).
        An edit within the second of the ticket's last change would leave `updated_at`
        as it was (a `safe_update` holder would not notice), so the simulated agent edits
        once that second is over: the touch waits, outside the lock. A stamp ahead of the
        clock would let a later write land on the very stamp a second writer holds.
        """
        for _ in range(TOUCH_ATTEMPTS):
            with self._lock:
                ticket = self._state.tickets.get(int(ticket_id))
                if ticket is None:
                    raise make_not_found()
                now = self._now()
                if now > int(ticket["updated_at"]):
                    ticket["updated_at"] = now
                    self._index_ticket(ticket)
                    return self._render_ticket(ticket, self._resolve_base(None))
                wait = int(ticket["updated_at"]) + 1 - self._clock()
            self._sleep(max(wait, TOUCH_MIN_WAIT))
        raise RuntimeError(f"the store's clock did not pass ticket {ticket_id}'s updated_at")

    def update_ticket(
        self, ticket_id: int, data: JSON, *, base_url: str | None = None
    ) -> tuple[JSON, JSON]:
        """Apply a single-ticket PUT; return (ticket, audit).

        additional_tags / remove_tags are ignored here, as on Zendesk's single
        Update Ticket endpoint (the server reports them); ``tags`` replaces.
        """
        if not isinstance(data, dict):
            raise make_record_invalid("ticket", "Ticket: must be an object")
        with self._lock:
            current = self._state.tickets.get(int(ticket_id))
            if current is None:
                raise make_not_found()
            self._check_safe_update(current, data)
            if current["status"] == "closed":
                raise make_record_invalid(
                    "status", "Status: closed prevents ticket update", "ClosedTicket"
                )
            working = copy.deepcopy(current)
            events, comment = self._apply_changes(working, data, bulk=False)
            audit = self._commit_changes(working, events, comment)
            base = self._resolve_base(base_url)
            return self._render_ticket(working, base), self._render_audit(audit)

    def _check_safe_update(self, ticket: JSON, data: JSON) -> None:
        """Answer 409 when safe_update is present and updated_stamp is not the current updated_at.

        Tickets API, `safe_update`: "When true and an update_stamp date is included,
        protects against ticket update collisions … A value of false has the same effect
        as true. Omit the property to force the updates to not be safe". So any value
        protects, only omitting it does not; and a missing stamp lets the update through.
        """
        if data.get("safe_update") is None or data.get("updated_stamp") is None:
            return
        if parse_stamp(data.get("updated_stamp")) != ticket["updated_at"]:
            raise ApiError(
                409, {"error": "UpdateConflict", "description": UPDATE_CONFLICT_DESCRIPTION}
            )

    def _apply_changes(
        self, ticket: JSON, data: JSON, *, bulk: bool
    ) -> tuple[list[JSON], JSON | None]:
        """Apply writable attributes to a working copy; return (change events, comment)."""
        events: list[JSON] = []

        def assign(name: str, value: Any) -> None:
            if ticket.get(name) != value:
                events.append(
                    {
                        "type": "Change",
                        "field_name": name,
                        "value": value,
                        "previous_value": ticket.get(name),
                    }
                )
                ticket[name] = value

        if "subject" in data:
            subject = data["subject"]
            if subject is not None and not isinstance(subject, str):
                raise make_record_invalid("subject", "Subject: must be a string")
            assign("subject", subject)
        _assign_enumerated(data, "status", STATUSES, assign, allow_none=False)
        _assign_enumerated(data, "priority", PRIORITIES, assign, allow_none=True)
        _assign_enumerated(data, "type", TICKET_TYPES, assign, allow_none=True)
        for key in ("assignee_id", "group_id", "requester_id", "external_id"):
            if key in data:
                assign(key, data[key])
        if "collaborator_ids" in data:
            # Tickets API: "The ids of users currently CC'ed on the ticket" (writable).
            ids = data["collaborator_ids"]
            if not isinstance(ids, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in ids
            ):
                raise make_record_invalid("collaborator_ids", "Collaborators: is invalid")
            assign("collaborator_ids", sorted(set(ids)))
        if "tags" in data:
            self._replace_tags(ticket, normalize_tags(data["tags"]), events)
        if bulk and "additional_tags" in data:
            extra = normalize_tags(data["additional_tags"])
            self._replace_tags(
                ticket, ticket["tags"] + [t for t in extra if t not in ticket["tags"]], events
            )
        if bulk and "remove_tags" in data:
            drop = normalize_tags(data["remove_tags"])
            self._replace_tags(ticket, [t for t in ticket["tags"] if t not in drop], events)
        for key in ("custom_fields", "fields"):
            if key in data and data[key] is not None:
                self._apply_custom_fields(ticket, data[key], events)
        comment = None
        if data.get("comment") is not None:
            comment = self._build_comment(data["comment"])
        return events, comment

    def _apply_custom_fields(self, ticket: JSON, raw: Any, events: list[JSON]) -> None:
        """Merge ``[{id, value}]`` (or ``{id: value}``) into the ticket, validating each value."""
        if isinstance(raw, dict):
            pairs = list(raw.items())
        elif isinstance(raw, list):
            pairs = []
            for item in raw:
                if not isinstance(item, dict) or "id" not in item:
                    raise make_record_invalid(
                        "custom_fields", "Custom fields: each entry needs an id"
                    )
                pairs.append((item["id"], item.get("value")))
        else:
            raise make_record_invalid(
                "custom_fields", "Custom fields: must be a list of {id, value}"
            )
        for raw_id, value in pairs:
            try:
                field_id = int(raw_id)
            except (TypeError, ValueError):
                raise make_record_invalid(
                    "custom_fields", f"Custom field id {raw_id!r} is invalid"
                ) from None
            record = self._state.fields.get(field_id)
            if record is None or record["system"]:
                raise make_record_invalid(
                    "custom_fields",
                    f"Custom field {field_id} does not exist",
                    "InvalidCustomField",
                )
            if _is_dropped_option(record, value):
                # Zendesk answers 200 and leaves the field as it was for a dropdown value
                # that is not one of its options ("REST API gives 200 response but the
                # request didn't work": compare what you sent with what comes back).
                # https://support.zendesk.com/hc/en-us/articles/4418443326106
                continue
            self._set_field_value(ticket, record, _validate_value(record, value), events)

    def _set_field_value(self, ticket: JSON, record: JSON, value: Any, events: list[JSON]) -> None:
        """Set a field value and keep the ticket's tags in step with it, as Zendesk does."""
        previous = ticket["fields"].get(record["id"])
        if previous == value:
            return
        old_tags = _list_value_tags(record, previous)
        new_tags = _list_value_tags(record, value)
        tags = [t for t in ticket["tags"] if t not in old_tags or t in new_tags]
        tags += [t for t in new_tags if t not in tags]
        if tags != ticket["tags"]:
            events.append(
                {
                    "type": "Change",
                    "field_name": "tags",
                    "value": tags,
                    "previous_value": ticket["tags"],
                }
            )
            ticket["tags"] = tags
        ticket["fields"][record["id"]] = value
        events.append(
            {
                "type": "Change",
                "field_name": str(record["id"]),
                "value": value,
                "previous_value": previous,
            }
        )

    def _replace_tags(self, ticket: JSON, tags: list[str], events: list[JSON]) -> None:
        """Replace the tag list, then let dropdown / multiselect / checkbox fields follow it."""
        if tags != ticket["tags"]:
            events.append(
                {
                    "type": "Change",
                    "field_name": "tags",
                    "value": tags,
                    "previous_value": ticket["tags"],
                }
            )
            ticket["tags"] = list(tags)
        present = set(ticket["tags"])
        for record in self._list_custom_fields():
            current = ticket["fields"].get(record["id"])
            if record["type"] == "tagger":
                values = [o["value"] for o in record["options"] if o["value"].lower() in present]
                if current is not None and str(current).lower() in present:
                    wanted: Any = current
                else:
                    wanted = values[0] if values else None
            elif record["type"] == "multiselect":
                selected = [o["value"] for o in record["options"] if o["value"].lower() in present]
                wanted = selected or None
            elif record["type"] == "checkbox" and record.get("tag"):
                if current is None and record["tag"] not in present:
                    continue
                wanted = record["tag"] in present
            else:
                continue
            if wanted != current:
                ticket["fields"][record["id"]] = wanted
                events.append(
                    {
                        "type": "Change",
                        "field_name": str(record["id"]),
                        "value": wanted,
                        "previous_value": current,
                    }
                )

    def _build_comment(self, raw: Any) -> JSON:
        """Validate a comment spec into body / html_body / plain_body / public / author."""
        spec: JSON = {"body": raw} if isinstance(raw, str) else raw
        if not isinstance(spec, dict):
            raise make_record_invalid("comment", "Comment: must be an object")
        html_body = spec.get("html_body")
        body = spec.get("body")
        if isinstance(html_body, str) and html_body.strip():
            markup = html_body
            plain = strip_html(html_body)
        elif isinstance(body, str) and body.strip():
            plain = body
            markup = render_text_as_html(body)
        else:
            raise make_record_invalid("comment", "Comment: body cannot be blank", "BlankValue")
        author = spec.get("author_id")
        return {
            "type": "Comment",
            "body": plain,
            "html_body": markup,
            "plain_body": plain,
            "public": _read_flag(spec.get("public", True)),
            "author_id": author if isinstance(author, int) else AGENT_ID,
            "attachments": [],
        }

    def _commit_changes(self, ticket: JSON, events: list[JSON], comment: JSON | None) -> JSON:
        """Store a changed working copy and return its audit.

        `updated_at` has one-second resolution, as Zendesk's API shows it (ISO 8601 to
        the second, e.g. "2011-05-05T10:38:52Z",
        https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/): two
        writes within one second leave the same `updated_at` (so a `safe_update` stamp
        read before the first still matches after it — the gateway guards against that).
        """
        if events or comment is not None:
            ticket["updated_at"] = self._now()
        self._state.tickets[ticket["id"]] = ticket
        self._index_ticket(ticket)
        return self._commit_audit(ticket, events, comment)

    def _index_ticket(self, ticket: JSON) -> None:
        """Queue the ticket as it is now for the search index (visible after the lag).

        Zendesk: "It can take up to a few minutes for new tickets, users, and other
        resources to be indexed for search."
        https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/
        """
        if self.search_lag_seconds <= 0:
            # No lag: search reads the tickets themselves; keep no copies.
            self._state.index.pop(ticket["id"], None)
            return
        now = self._clock()
        versions = self._state.index.setdefault(ticket["id"], [])
        versions.append((now, copy.deepcopy(ticket)))
        # Keep the newest version already visible and every one still in flight.
        horizon = now - self.search_lag_seconds
        while len(versions) > 1 and versions[1][0] <= horizon:
            versions.pop(0)

    def _indexed_tickets(self) -> list[JSON]:
        """The tickets as the search index holds them now (none newer than the lag)."""
        if self.search_lag_seconds <= 0:
            return list(self._state.tickets.values())
        horizon = self._clock() - self.search_lag_seconds
        found: list[JSON] = []
        for ticket_id, current in self._state.tickets.items():
            versions = self._state.index.get(ticket_id)
            if versions is None:
                # Written while there was no lag: long indexed.
                found.append(current)
                continue
            visible = [ticket for at, ticket in versions if at <= horizon]
            if visible:
                found.append(visible[-1])
        return found

    def _commit_audit(self, ticket: JSON, events: list[JSON], comment: JSON | None) -> JSON:
        """Number the events, append the comment, and build the audit record."""
        audit_id = self._state.next_audit_id
        self._state.next_audit_id += 1
        numbered: list[JSON] = []
        if comment is not None:
            comment = {
                **comment,
                "id": self._state.next_comment_id,
                "audit_id": audit_id,
                "created_at": ticket["updated_at"],
                "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
                "metadata": {"system": {}, "custom": {}},
            }
            self._state.next_comment_id += 1
            self._state.comments.setdefault(ticket["id"], []).append(comment)
            numbered.append(
                {
                    k: comment[k]
                    for k in (
                        "id",
                        "type",
                        "author_id",
                        "body",
                        "html_body",
                        "plain_body",
                        "public",
                        "attachments",
                        "audit_id",
                    )
                }
            )
        for event in events:
            numbered.append({"id": self._state.next_comment_id, **event})
            self._state.next_comment_id += 1
        return {
            "id": audit_id,
            "ticket_id": ticket["id"],
            "created_at": ticket["updated_at"],
            "author_id": AGENT_ID,
            "metadata": {"system": {}, "custom": {}},
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "events": numbered,
        }

    # --------------------------------------------------------------- renderers

    def _render_ticket(self, ticket: JSON, base: str) -> JSON:
        """Render a ticket in Zendesk's JSON shape."""
        custom = [
            {"id": f["id"], "value": copy.deepcopy(ticket["fields"].get(f["id"]))}
            for f in self._list_custom_fields()
        ]
        comments = self._state.comments.get(ticket["id"], [])
        return {
            "url": f"{base}/api/v2/tickets/{ticket['id']}.json",
            "id": ticket["id"],
            "external_id": ticket["external_id"],
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": format_iso(ticket["created_at"]),
            "updated_at": format_iso(ticket["updated_at"]),
            "type": ticket["type"],
            "subject": ticket["subject"],
            "raw_subject": ticket["subject"],
            "description": ticket["description"],
            "priority": ticket["priority"],
            "status": ticket["status"],
            "recipient": None,
            "requester_id": ticket["requester_id"],
            "submitter_id": ticket["submitter_id"],
            "assignee_id": ticket["assignee_id"],
            "organization_id": None,
            "group_id": ticket["group_id"],
            "collaborator_ids": list(ticket.get("collaborator_ids", [])),
            "follower_ids": [],
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": None,
            "has_incidents": False,
            "is_public": any(c["public"] for c in comments) if comments else True,
            "due_at": None,
            "tags": list(ticket["tags"]),
            "custom_fields": custom,
            "satisfaction_rating": None,
            "sharing_agreement_ids": [],
            "fields": copy.deepcopy(custom),
            "followup_ids": [],
            "ticket_form_id": None,
            "brand_id": None,
            "allow_channelback": False,
            "allow_attachments": True,
        }


def _is_dropped_option(record: JSON, value: Any) -> bool:
    """True for a dropdown value that is no option of the field (Zendesk drops it)."""
    if record["type"] != "tagger" or value is None or value == "":
        return False
    return value not in {o["value"] for o in record["options"]}
