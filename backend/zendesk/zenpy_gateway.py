"""The real `ZendeskGateway`: Zenpy over a `requests` session whose adapter we own.

Zenpy's traps (see shared/notes/ZENDESK.md) and what this module does about them:

- Zenpy keeps the object being sent on the shared API object and caches mutable
  objects: one client per thread (`threading.local`) and `disable_cache=True`.
- On 429 Zenpy sleeps `Retry-After` in an unbounded blocking loop, and retries 5xx
  only for 503/413 over https without backoff. We hand Zenpy a session whose
  `_GuardedAdapter` handles 429, 5xx, timeouts and dropped connections *before*
  Zenpy sees a response: it waits within the caller's budget or raises our own
  errors, so Zenpy's loop never runs and nothing hangs.
- Zenpy's default timeout is 60 s: we pass our own.
- Help Center articles: Zenpy's endpoint has no locale, so that one GET goes
  through the same session directly.

Never imports `backend.domain`: adapters speak only the gateway dataclasses.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, Macro, Ticket, TicketField
from zenpy.lib.exception import APIException, ZenpyException

from backend.errors import (
    ConflictError,
    GuidepostError,
    NotFoundError,
    RateLimitedError,
    SettingsError,
    TicketNotFoundError,
    ZendeskError,
    ZendeskRejectedError,
    ZendeskUnavailableError,
)
from backend.zendesk.gateway import (
    ArticleRecord,
    CommentRecord,
    FieldOption,
    FieldRecord,
    FieldSpec,
    JSONScalar,
    MacroAction,
    MacroRecord,
    MacroSpec,
    NewTicket,
    TicketRecord,
    TicketUpdate,
    WaitPolicy,
)

if TYPE_CHECKING:
    from backend.settings import Settings

log = logging.getLogger(__name__)

Resource = Literal["ticket", "other"]
# Methods safe to send twice. Every PUT Guidepost sends is: ticket updates carry
# safe_update + updated_stamp (a replay answers 409), field/macro PUTs replace whole.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Zendesk rounds Retry-After to whole seconds; 0 or a missing header still means "later".
MIN_RETRY_AFTER = 1.0
# Failures before or while reading an answer; Timeout covers connect and read timeouts.
NETWORK_ERRORS = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
)
MAX_DETAIL = 600


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait out a 429 and how to retry 5xx / network failures."""

    wait_policy: WaitPolicy
    max_wait_seconds: float
    retries: int
    backoff_base: float = 0.2
    backoff_cap: float = 5.0

    def backoff(self, attempt: int) -> float:
        """Compute the sleep before retry `attempt` (1-based): exponential, equal jitter."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


class _OperationState(threading.local):
    """Per-thread bookkeeping of the gateway operation in progress."""

    waited: float = 0.0
    # True once a request of this operation was re-sent after a 5xx / network failure.
    retried: bool = False
    calls: int = 0


class _GuardedAdapter(HTTPAdapter):
    """Transport that counts every request and owns 429 / 5xx / network retries."""

    def __init__(self, gateway: ZenpyGateway) -> None:
        # No urllib3 retries: every attempt must pass through (and be counted by) send().
        super().__init__(max_retries=0)
        self._gateway = gateway

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send with retries; never returns a 429 or a 5xx (raises instead)."""
        gateway = self._gateway
        method = (request.method or "GET").upper()
        where = f"{method} {urlsplit(request.url or '').path}"
        retryable = method in IDEMPOTENT_METHODS
        if timeout is None:
            timeout = gateway.timeout
        failures = 0
        while True:
            gateway.count_call()
            try:
                response = super().send(
                    request,
                    stream=stream,
                    timeout=timeout,
                    verify=verify,
                    cert=cert,
                    proxies=proxies,
                )
            except NETWORK_ERRORS as exc:
                failures += 1
                self._retry_or_raise(failures, retryable, where, _network_problem(exc))
                continue
            if not stream:
                # Read the body here, so a connection dropped mid-body is retried too
                # (requests would otherwise read it after send(), out of our reach).
                try:
                    _ = response.content
                except NETWORK_ERRORS as exc:
                    response.close()
                    failures += 1
                    self._retry_or_raise(failures, retryable, where, _network_problem(exc))
                    continue
            status = response.status_code
            if status == 429:
                retry_after = _retry_after(response)
                response.close()
                gateway.wait_for_rate_limit(where, retry_after)
                continue
            if status >= 500:
                response.close()
                failures += 1
                self._retry_or_raise(failures, retryable, where, f"answered {status}")
                continue
            return response

    def _retry_or_raise(self, failures: int, retryable: bool, where: str, problem: str) -> None:
        """Sleep before the next attempt, or raise when retrying is not allowed / used up."""
        policy = self._gateway.policy
        if not retryable or failures > policy.retries:
            raise _unavailable(where, problem, failures, retryable)
        self._pause(policy.backoff(failures), where, problem)

    def _pause(self, seconds: float, where: str, problem: str) -> None:
        """Sleep before a retry and note that this operation retried."""
        log.warning("zendesk %s %s; retrying in %.2fs", where, problem, seconds)
        self._gateway.state.retried = True
        time.sleep(seconds)


def _network_problem(exc: Exception) -> str:
    """Name a transport failure without its (possibly long) message."""
    return "timed out" if isinstance(exc, requests.Timeout) else "connection failed"


def _unavailable(
    where: str, problem: str, attempts: int, retryable: bool
) -> ZendeskUnavailableError:
    """Build the error for a request that failed for good."""
    if retryable:
        return ZendeskUnavailableError(f"Zendesk {where} {problem} ({attempts} attempt(s))")
    # A create that failed may still have happened on Zendesk's side: never replay it.
    return ZendeskUnavailableError(
        f"Zendesk {where} {problem}; not retried (not idempotent, may or may not have applied)"
    )


def _retry_after(response: requests.Response) -> float:
    """Read Retry-After (seconds or an HTTP date) from a 429."""
    raw = (response.headers.get("Retry-After") or "").strip()
    if not raw:
        return MIN_RETRY_AFTER
    try:
        return max(float(raw), MIN_RETRY_AFTER)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return MIN_RETRY_AFTER
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), MIN_RETRY_AFTER)


class _Operation:
    """Context of one gateway call: translates Zenpy/requests failures on the way out."""

    def __init__(self, resource: Resource, what: str) -> None:
        self.resource = resource
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, GuidepostError):
            return
        if isinstance(exc, APIException | requests.HTTPError):
            raise _error_for_response(exc.response, self.resource, self.what) from None
        if isinstance(exc, requests.RequestException):
            raise ZendeskUnavailableError(f"{self.what}: {type(exc).__name__}") from None
        if isinstance(exc, ZenpyException | ValueError | KeyError | TypeError):
            # An answer we cannot read (not JSON, wrong shape). Only the type name: some
            # Zenpy messages embed the client's locals(), API token included.
            raise ZendeskUnavailableError(
                f"{self.what}: unexpected answer ({type(exc).__name__})"
            ) from None


class ZenpyGateway:
    """`ZendeskGateway` over Zenpy: bounded waits, typed errors, counted calls."""

    def __init__(
        self,
        *,
        subdomain: str,
        email: str,
        token: str,
        timeout: float = 10.0,
        policy: RetryPolicy | None = None,
    ) -> None:
        if not subdomain:
            raise SettingsError("the Zendesk subdomain must not be empty (Zenpy refuses it)")
        if not email or not token:
            raise SettingsError("GUIDEPOST_ZENDESK_EMAIL and GUIDEPOST_ZENDESK_TOKEN are required")
        self._subdomain = subdomain
        self._email = email
        self._token = token
        self.timeout = timeout
        self.policy = policy or RetryPolicy("interactive", max_wait_seconds=3.0, retries=3)
        self.state = _OperationState()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: list[requests.Session] = []
        self._calls = 0
        self._closed = False

    @classmethod
    def from_settings(
        cls, settings: Settings, wait_policy: WaitPolicy = "interactive"
    ) -> ZenpyGateway:
        """Build a gateway from Settings; points Zenpy at the emulator when the URL is http."""
        if settings.zendesk_is_local:
            # Zenpy always builds https://{subdomain}.zendesk.com; these two env vars are
            # its (process-wide, read per request) override, the only way to the emulator.
            os.environ["ZENPY_FORCE_SCHEME"] = "http"
            os.environ["ZENPY_FORCE_NETLOC"] = settings.zendesk_netloc
        max_wait = (
            settings.interactive_max_wait_seconds
            if wait_policy == "interactive"
            else settings.batch_max_wait_seconds
        )
        return cls(
            subdomain=settings.zendesk_subdomain,
            email=settings.zendesk_email,
            token=settings.zendesk_token.get_secret_value(),
            timeout=settings.zendesk_timeout_seconds,
            policy=RetryPolicy(wait_policy, max_wait, settings.retries),
        )

    # ---- bookkeeping -------------------------------------------------------------

    @property
    def calls(self) -> int:
        """Count the HTTP requests actually sent (retries included)."""
        return self._calls

    @calls.setter
    def calls(self, value: int) -> None:
        with self._lock:
            self._calls = value

    @property
    def thread_calls(self) -> int:
        """Count the HTTP requests sent by the calling thread (per-request logging)."""
        return self.state.calls

    def count_call(self) -> None:
        """Count one HTTP request (called by the transport)."""
        with self._lock:
            self._calls += 1
        self.state.calls += 1

    def wait_for_rate_limit(self, where: str, retry_after: float) -> None:
        """Sleep out a 429 within this operation's budget, else raise RateLimitedError."""
        state = self.state
        budget = self.policy.max_wait_seconds - state.waited
        if retry_after > budget:
            raise RateLimitedError(
                f"Zendesk rate limit on {where}: retry after {retry_after:g}s "
                f"(this {self.policy.wait_policy} call may wait {budget:g}s more)",
                retry_after=retry_after,
            )
        log.warning("zendesk %s rate-limited; waiting %.1fs", where, retry_after)
        state.waited += retry_after
        time.sleep(retry_after)

    def close(self) -> None:
        """Close every thread's session (sockets included)."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
            self._closed = True
        for session in sessions:
            session.close()

    def __enter__(self) -> ZenpyGateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _client(self) -> Zenpy:
        """Return this thread's Zenpy client, creating it (and its session) on first use."""
        if self._closed:
            raise ZendeskError("the Zendesk gateway is closed")
        client: Zenpy | None = getattr(self._local, "client", None)
        if client is not None:
            return client
        session = requests.Session()
        adapter = _GuardedAdapter(self)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        with self._lock:
            if self._closed:
                session.close()
                raise ZendeskError("gateway is closed")
            self._sessions.append(session)
        client = Zenpy(
            subdomain=self._subdomain,
            email=self._email,
            token=self._token,
            session=session,
            timeout=self.timeout,
            disable_cache=True,
        )
        self._local.client = client
        self._local.session = session
        return client

    def _session(self) -> requests.Session:
        """Return this thread's guarded requests session (the one its Zenpy client uses)."""
        self._client()
        session: requests.Session = self._local.session
        return session

    def _operation(self, resource: Resource, what: str) -> _Operation:
        """Start one gateway operation: fresh wait budget, Zenpy/requests errors → ours."""
        self.state.waited = 0.0
        self.state.retried = False
        return _Operation(resource, what)

    # ---- tickets -------------------------------------------------------------------

    def get_ticket(self, ticket_id: int) -> TicketRecord:
        """Read one ticket (1 call); TicketNotFoundError when it does not exist."""
        with self._operation("ticket", f"ticket {ticket_id}"):
            return _ticket_record(self._client().tickets(id=ticket_id))

    def update_ticket(self, update: TicketUpdate) -> TicketRecord:
        """Write one safe update (1 call); ConflictError when the ticket changed."""
        # A clean partial object: Zenpy serializes only the attributes set here, so the
        # PUT carries exactly id, tags, custom_fields, comment, safe_update, updated_stamp.
        ticket = Ticket(id=update.ticket_id, safe_update=True, updated_stamp=update.updated_stamp)
        if update.tags is not None:
            ticket.tags = list(update.tags)
        if update.custom_fields:
            ticket.custom_fields = [
                {"id": field_id, "value": value} for field_id, value in update.custom_fields.items()
            ]
        if update.note_body is not None:
            ticket.comment = Comment(body=update.note_body, public=update.note_public)
        with self._operation("ticket", f"update of ticket {update.ticket_id}"):
            audit = self._client().tickets.update(ticket)
            if getattr(audit, "ticket", None) is None:
                raise ZenpyException("update answer carries no ticket")
            return _ticket_record(audit.ticket)

    def create_ticket(self, ticket: NewTicket) -> TicketRecord:
        """Create a ticket (1 call, never retried)."""
        new = Ticket(subject=ticket.subject, comment=Comment(body=ticket.description))
        if ticket.tags:
            new.tags = list(ticket.tags)
        if ticket.custom_fields:
            new.custom_fields = [
                {"id": field_id, "value": value} for field_id, value in ticket.custom_fields.items()
            ]
        with self._operation("other", "ticket creation"):
            audit = self._client().tickets.create(new)
            if getattr(audit, "ticket", None) is None:
                raise ZenpyException("create answer carries no ticket")
            return _ticket_record(audit.ticket)

    def list_comments(self, ticket_id: int) -> list[CommentRecord]:
        """Every comment of a ticket, oldest first (1 call per 100 comments)."""
        with self._operation("ticket", f"comments of ticket {ticket_id}"):
            return [
                CommentRecord(
                    id=int(comment.id),
                    body=comment.body or "",
                    public=bool(comment.public),
                    created_at=str(comment.created_at or ""),
                )
                for comment in self._client().tickets.comments(ticket=ticket_id)
            ]

    def search_tickets(self, query: str) -> list[TicketRecord]:
        """Every ticket the query finds, all pages (1 call per page of up to 100)."""
        if "type:" not in query:
            query = f"type:ticket {query}"
        with self._operation("other", "ticket search"):
            return [
                _ticket_record(result)
                for result in self._client().search(query)
                if isinstance(result, Ticket)
            ]

    # ---- ticket fields ------------------------------------------------------------

    def list_ticket_fields(self) -> list[FieldRecord]:
        """Every ticket field of the account (1 call per page)."""
        with self._operation("other", "ticket fields"):
            return [_field_record(field) for field in self._client().ticket_fields()]

    def create_ticket_field(self, spec: FieldSpec) -> FieldRecord:
        """Create a custom ticket field (1 call, never retried)."""
        field = TicketField(
            type=spec.type, title=spec.title, description=spec.description, active=spec.active
        )
        if spec.options:
            field.custom_field_options = _options_payload(spec.options)
        with self._operation("other", f"creation of ticket field {spec.title!r}"):
            return _field_record(self._client().ticket_fields.create(field))

    def update_ticket_field(self, field_id: int, spec: FieldSpec) -> FieldRecord:
        """Replace a field's title, description, options and active flag (1 call)."""
        # No `type`: Zendesk cannot change a field's type, and the PUT replaces the rest.
        field = TicketField(
            id=field_id, title=spec.title, description=spec.description, active=spec.active
        )
        if spec.type in ("tagger", "multiselect"):
            field.custom_field_options = _options_payload(spec.options)
        with self._operation("other", f"ticket field {field_id}"):
            return _field_record(self._client().ticket_fields.update(field))

    # ---- macros ---------------------------------------------------------------------

    def list_macros(self) -> Iterator[MacroRecord]:
        """Every macro, fetched lazily one cursor page (100) per call."""
        with self._operation("other", "macros"):
            for macro in self._client().macros():
                yield _macro_record(macro)

    def create_macro(self, spec: MacroSpec) -> MacroRecord:
        """Create a macro (1 call, never retried)."""
        with self._operation("other", f"creation of macro {spec.title!r}"):
            return _macro_record(self._client().macros.create(_macro_payload(None, spec)))

    def update_macro(self, macro_id: int, spec: MacroSpec) -> MacroRecord:
        """Replace a macro, the whole actions list included (1 call)."""
        with self._operation("other", f"macro {macro_id}"):
            return _macro_record(self._client().macros.update(_macro_payload(macro_id, spec)))

    def delete_macro(self, macro_id: int) -> None:
        """Delete a macro (1 call); a replayed delete that finds it gone is a success."""
        try:
            with self._operation("other", f"macro {macro_id}"):
                self._client().macros.delete(Macro(id=macro_id))
        except NotFoundError:
            # Our first DELETE may have landed before its answer was lost.
            if not self.state.retried:
                raise

    # ---- Help Center ------------------------------------------------------------------

    def get_article(self, locale: str, article_id: int) -> ArticleRecord:
        """Read a Help Center article in a locale (1 call)."""
        what = f"article {locale}/{article_id}"
        with self._operation("other", what):
            # Zenpy's article endpoint has no locale segment; send this GET ourselves
            # through the same guarded session.
            path = f"/api/v2/help_center/{quote(locale, safe='')}/articles/{int(article_id)}.json"
            url = _base_url(self._subdomain) + path
            response = self._session().get(url, timeout=self.timeout)
            if response.status_code >= 300:
                raise _error_for_response(response, "other", what)
            data = response.json()["article"]
            return ArticleRecord(
                id=int(data["id"]),
                locale=str(data.get("locale") or locale),
                title=str(data.get("title") or ""),
                body=str(data.get("body") or ""),
                updated_at=str(data.get("updated_at") or ""),
            )


# ---- helpers ---------------------------------------------------------------------------


def _base_url(subdomain: str) -> str:
    """Return the scheme://host Zenpy itself would use (honouring its env overrides)."""
    scheme = os.environ.get("ZENPY_FORCE_SCHEME", "https")
    netloc = os.environ.get("ZENPY_FORCE_NETLOC") or f"{subdomain}.zendesk.com"
    return f"{scheme}://{netloc}"


def _error_for_response(
    response: requests.Response | None, resource: Resource, what: str
) -> ZendeskError:
    """Build the GuidepostError matching an error answer."""
    if response is None:
        return ZendeskUnavailableError(f"{what}: no answer")
    status = response.status_code
    detail = f"{what}: Zendesk answered {status}{_describe(response)}"[:MAX_DETAIL]
    if status in (401, 403):
        detail += " (check GUIDEPOST_ZENDESK_EMAIL, GUIDEPOST_ZENDESK_TOKEN and the agent's role)"
    if status == 404:
        if resource == "ticket":
            return TicketNotFoundError(detail)
        return NotFoundError(detail)
    if status == 409:
        return ConflictError(detail)
    if status == 429:
        return RateLimitedError(detail, retry_after=_retry_after(response))
    if status >= 500:
        return ZendeskUnavailableError(detail)
    return ZendeskRejectedError(detail, status)


def _describe(response: requests.Response) -> str:
    """Summarise Zendesk's error body (error, description, 422 details); never headers."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [str(body[key]) for key in ("error", "description") if body.get(key)]
    if isinstance(body.get("error"), dict):
        parts = [str(body["error"].get(k)) for k in ("title", "message") if body["error"].get(k)]
    if body.get("details"):
        parts.append(json.dumps(body["details"], ensure_ascii=False, sort_keys=True))
    return f" ({'; '.join(parts)})" if parts else ""


def _plain(value: Any) -> Any:
    """Copy Zenpy's ProxyDict/ProxyList values into plain JSON types."""
    return json.loads(json.dumps(value)) if value is not None else None


def _ticket_record(ticket: Any) -> TicketRecord:
    """Map a Zenpy Ticket to a TicketRecord (plain attributes only: properties call out)."""
    custom: dict[int, JSONScalar] = {}
    for entry in _plain(ticket.custom_fields) or []:
        custom[int(entry["id"])] = entry.get("value")
    return TicketRecord(
        id=int(ticket.id),
        subject=ticket.subject or "",
        description=ticket.description or "",
        status=ticket.status or "",
        tags=tuple(_plain(ticket.tags) or ()),
        custom_fields=custom,
        updated_at=str(ticket.updated_at or ""),
    )


def _options_payload(options: tuple[FieldOption, ...]) -> list[dict[str, str]]:
    """Build Zendesk's custom_field_options list (no ids: the PUT replaces the list)."""
    return [{"name": option.name, "value": option.value} for option in options]


def _field_record(field: Any) -> FieldRecord:
    """Map a Zenpy TicketField to a FieldRecord."""
    options = tuple(
        FieldOption(name=str(option.name), value=str(option.value))
        # System fields (subject, status…) come without the attribute at all.
        for option in (getattr(field, "custom_field_options", None) or ())
    )
    return FieldRecord(
        id=int(field.id),
        type=str(field.type or ""),
        title=str(field.title or ""),
        description=str(field.description or ""),
        options=options,
        active=bool(field.active) if field.active is not None else True,
    )


def _macro_payload(macro_id: int | None, spec: MacroSpec) -> Macro:
    """Build the whole-macro payload (Zenpy object) for a create or a replace."""
    macro = Macro(title=spec.title) if macro_id is None else Macro(id=macro_id, title=spec.title)
    # Set after construction: Zenpy's constructors leave None-valued attributes out of
    # the payload, but a replace must send `restriction: null` to clear a restriction.
    macro.description = spec.description
    macro.active = spec.active
    macro.actions = [{"field": action.field, "value": action.value} for action in spec.actions]
    macro.restriction = _plain(spec.restriction) if spec.restriction is not None else None
    return macro


def _macro_record(macro: Any) -> MacroRecord:
    """Map a Zenpy Macro to a MacroRecord."""
    actions = tuple(
        MacroAction(field=str(action["field"]), value=action.get("value"))
        for action in _plain(macro.actions) or []
    )
    restriction = _plain(macro.restriction)
    return MacroRecord(
        id=int(macro.id),
        title=str(macro.title or ""),
        description=str(macro.description or ""),
        actions=actions,
        active=bool(macro.active) if macro.active is not None else True,
        restriction=restriction if isinstance(restriction, dict) else None,
        updated_at=str(macro.updated_at or ""),
    )
