"""FastAPI dependencies as `Annotated` aliases; tests replace them with `dependency_overrides`."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from backend.api.auth import MAX_TOKEN_BYTES, verify_session, verify_session_until
from backend.authz import Agent, AgentDirectory, TicketAuthorizer
from backend.connectors import fetch_for_ticket
from backend.domain.engine import EngineOptions
from backend.domain.guides import GuideCatalog, load_catalog
from backend.domain.render import TextRenderer
from backend.errors import AuthError, SettingsError
from backend.fetched_facts import FactFetcher
from backend.field_map import FIELD_MAPS
from backend.logs import bind_request
from backend.service import ServiceContext
from backend.settings import Settings
from backend.zendesk.gateway import NowaitList, NowaitRead, ZendeskGateway
from backend.zendesk.read_cache import ReadCache

T = TypeVar("T")

bearer_scheme = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="Guidepost session token (POST /v1/session with Zendesk's signed app token)",
)


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return cast(Settings, request.app.state.settings)


SettingsDep = Annotated[Settings, Depends(get_settings)]


@dataclass(frozen=True)
class Engine:
    """The loaded guide catalog and its renderer (built once per guides folder)."""

    catalog: GuideCatalog
    renderer: TextRenderer


@lru_cache(maxsize=8)
def load_engine(guides_dir: Path) -> Engine:
    """Load and cache the guides of one folder (guide files are read once per process)."""
    catalog = load_catalog(guides_dir)
    return Engine(catalog=catalog, renderer=TextRenderer(catalog))


async def get_engine(settings: SettingsDep) -> Engine:
    """The cached catalog and renderer of the configured guides folder."""
    return load_engine(settings.guides_dir)


EngineDep = Annotated[Engine, Depends(get_engine)]


async def get_catalog(engine: EngineDep) -> GuideCatalog:
    """The cached guide catalog."""
    return engine.catalog


CatalogDep = Annotated[GuideCatalog, Depends(get_catalog)]


async def get_field_map(settings: SettingsDep) -> dict[str, int] | None:
    """The field map (semantic key → Zendesk field id), or None before `fields bootstrap`."""
    return FIELD_MAPS.read(settings.field_map)


FieldMapDep = Annotated[dict[str, int] | None, Depends(get_field_map)]


async def get_service_context(
    engine: EngineDep, settings: SettingsDep, field_map: FieldMapDep
) -> ServiceContext:
    """Bundle what the service needs to decide."""
    return build_service_context(settings, engine, field_map)


def build_service_context(
    settings: Settings, engine: Engine, field_map: dict[str, int] | None
) -> ServiceContext:
    """What the service needs to decide, for these settings, guides and field map."""
    return ServiceContext(
        catalog=engine.catalog,
        renderer=engine.renderer,
        options=EngineOptions(admin_call_url=settings.admin_call_url),
        field_map=field_map,
        search_fallback=settings.reconnection_search_fallback,
        fetch_facts=build_fact_fetcher(settings, engine),
    )


def build_fact_fetcher(settings: Settings, engine: Engine) -> FactFetcher | None:
    """The connectors' fetch for these settings (None when no connectors file is set)."""
    if settings.connectors_file is None:
        return None
    return functools.partial(fetch_for_ticket, settings=settings, fields=engine.catalog.fields)


ServiceContextDep = Annotated[ServiceContext, Depends(get_service_context)]


def open_gateway(state: Any) -> ZendeskGateway:
    """The process's one Zendesk gateway and agent directory, created once (thread-safe)."""
    from backend.zendesk.users import ZenpyDirectory
    from backend.zendesk.zenpy_gateway import ZenpyGateway

    with state.gateway_lock:
        if state.gateway is None:
            gateway = ZenpyGateway.from_settings(state.settings, wait_policy="interactive")
            state.directory = ZenpyDirectory(gateway)
            state.gateway = gateway
        return cast(ZendeskGateway, state.gateway)


def close_gateway(state: Any) -> None:
    """Close the process's gateway (app shutdown)."""
    with state.gateway_lock:
        gateway, state.gateway, state.directory = state.gateway, None, None
    if gateway is not None:
        gateway.close()


async def get_gateway(request: Request) -> ZendeskGateway:
    """The process's one Zendesk gateway (made in the app lifespan, or on first use)."""
    # async: no I/O (Zenpy clients open lazily per thread), so no threadpool hop.
    state = request.app.state
    gateway = state.gateway
    return cast(ZendeskGateway, gateway) if gateway is not None else open_gateway(state)


class CountedGateway:
    """The shared gateway seen by one request: counts the Zendesk calls it makes."""

    def __init__(self, gateway: ZendeskGateway) -> None:
        self._gateway = gateway
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._gateway, name)
        if not callable(target) or name.startswith("_"):
            return target

        def counted(*args: Any, **kwargs: Any) -> Any:
            # Per-thread counts when the gateway keeps them (shared by concurrent requests).
            before = self._thread_calls()
            try:
                return target(*args, **kwargs)
            finally:
                self.calls += self._thread_calls() - before

        return counted

    async def get_ticket_nowait(self, ticket_id: int) -> NowaitRead | None:
        """The ticket read on the event loop, if the gateway can (None: it cannot).

        Its call is counted here (a loop read is not in any thread's count); a Zendesk
        error answer is raised as the blocking read raises it. A read without a record
        is made again in a thread, after `after_nowait(read)`.
        """
        read = getattr(self._gateway, "get_ticket_nowait", None)
        if read is None:
            return None  # e.g. the FakeGateway: blocking reads only
        result: NowaitRead = await read(ticket_id)
        self.calls += result.calls
        if result.error is not None:
            raise result.error
        return result

    async def list_nowait(self, name: str, argument: str) -> NowaitList[Any] | None:
        """A list read (`list_reconnections` / `search_tickets`) on the event loop.

        None when the gateway has no such read (e.g. the FakeGateway). Its calls are
        counted here; a read without items is made again in a thread, after
        `after_nowait(read)`.
        """
        read = getattr(self._gateway, f"{name}_nowait", None)
        if read is None:
            return None
        result: NowaitList[Any] = await read(argument)
        self.calls += result.calls
        return result

    def after_nowait(self, read: NowaitRead | NowaitList[Any]) -> None:
        """In the thread, before the blocking read: sit out what the loop attempt met."""
        wait = getattr(self._gateway, "after_nowait", None)
        got = read.record if isinstance(read, NowaitRead) else read.items
        if wait is not None and got is None:
            wait(read.where, read.retry_after, read.problem)

    def count_during(self, action: Callable[[], T]) -> T:
        """Run `action` (e.g. an authorization read on the same transport), counting its calls."""
        before = self._thread_calls()
        try:
            return action()
        finally:
            self.calls += self._thread_calls() - before

    def _thread_calls(self) -> int:
        count = getattr(self._gateway, "thread_calls", None)
        if not isinstance(count, int):
            count = getattr(self._gateway, "calls", 0)
        return count if isinstance(count, int) else 0


def count_calls(gateway: ZendeskGateway) -> CountedGateway:
    """Wrap the shared gateway for one request and register it with the access log."""
    counted = CountedGateway(gateway)
    bind_request(gateway=counted)
    return counted


async def get_directory(request: Request) -> AgentDirectory:
    """Where agents' Zendesk permissions are read (built with the gateway)."""
    state = request.app.state
    if state.directory is None:
        open_gateway(state)
    if state.directory is None:
        raise SettingsError("no agent directory: authorization cannot run")
    return cast(AgentDirectory, state.directory)


class VerifiedSessions:
    """Session tokens this app verified, kept until they expire (a check per token, not per call).

    Keyed by the whole token (signature included): any other string is verified in full.
    Past `exp` an entry is ignored and the token verified again (PyJWT's leeway and its
    expiry error included), so the cache never accepts what verification would refuse.
    """

    max_entries = 10_000

    def __init__(
        self,
        verify: Callable[[str, Settings], tuple[Agent, float]] = verify_session_until,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._verify = verify
        self._clock = clock
        self._entries: dict[str, tuple[float, Agent]] = {}

    def agent(self, token: str, settings: Settings) -> Agent:
        """The token's agent: from the cache while unexpired, else verified (AuthError)."""
        entry = self._entries.get(token)
        if entry is not None and self._clock() < entry[0]:
            return entry[1]
        agent, expires = self._verify(token, settings)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # bound memory; each live session is verified once more
        self._entries[token] = (expires, agent)
        return agent


async def require_agent(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Agent:
    """The agent of the request's session token (401 otherwise)."""
    return authenticate(request, credentials)


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Agent:
    """`require_agent`'s check, callable from a dependency that solves it itself."""
    # The app's settings read directly (as get_settings does): one dependency less to solve.
    settings: Settings = request.app.state.settings
    raw_header = request.headers.get("authorization", "")
    if len(raw_header.encode("utf-8")) > MAX_TOKEN_BYTES + len("Bearer "):
        raise AuthError("token too large")
    if credentials is None or not credentials.credentials:
        raise AuthError("missing bearer token")
    sessions = getattr(request.app.state, "verified_sessions", None)
    if isinstance(sessions, VerifiedSessions):
        agent = sessions.agent(credentials.credentials, settings)
    else:
        agent = verify_session(credentials.credentials, settings)
    bind_request(auth="ok", agent_id=agent.user_id)
    return agent


AgentDep = Annotated[Agent, Depends(require_agent)]


NOT_OVERRIDDEN: Any = object()


async def call_override(request: Request, dependency: Callable[..., Any]) -> Any:
    """The value of `app.dependency_overrides[dependency]`, NOT_OVERRIDDEN without one.

    For a dependency that calls `dependency` itself instead of declaring it (one node
    less for FastAPI to solve per request). Overrides taking no parameters only (what the
    tests use); sync ones run in the threadpool, as FastAPI runs them.
    """
    overrides = request.app.dependency_overrides
    override = overrides.get(dependency) if overrides else None
    if override is None:
        return NOT_OVERRIDDEN
    if inspect.signature(override).parameters or inspect.isgeneratorfunction(override):
        raise TypeError(
            f"the override of {dependency.__name__} must be a plain function without "
            "parameters (it is called directly, not solved by FastAPI)"
        )
    if inspect.iscoroutinefunction(override):
        return await override()
    value = await run_in_threadpool(override)
    # A callable object with an async __call__ answers a coroutine.
    return await value if inspect.isawaitable(value) else value


class SessionBearer(HTTPBearer):
    """The bearer scheme that also verifies the session: `require_agent` in one dependency.

    For `authorize_ticket`: FastAPI's solving costs per dependency, and the scheme must
    stay declared (the OpenAPI document's security comes from it; auth runs before the
    path is validated). An override of `require_agent` is honoured.
    """

    async def __call__(self, request: Request) -> Agent:  # type: ignore[override]
        """The agent of the request's session token (401 otherwise)."""
        agent = await call_override(request, require_agent)
        if agent is NOT_OVERRIDDEN:
            agent = authenticate(request, await super().__call__(request))
        return cast(Agent, agent)


# Same name and description as `bearer_scheme`: one scheme in the OpenAPI document.
session_bearer = SessionBearer(
    auto_error=False,
    bearerFormat="JWT",
    scheme_name="HTTPBearer",
    description=bearer_scheme.model.description,
)
SessionAgentDep = Annotated[Agent, Depends(session_bearer)]


async def gateway_and_directory(request: Request) -> tuple[ZendeskGateway, AgentDirectory]:
    """What `get_gateway` and `get_directory` give, their overrides honoured.

    Called by `authorize_ticket` instead of declaring them (one node less each to solve).
    """
    gateway = await call_override(request, get_gateway)
    if gateway is NOT_OVERRIDDEN:
        gateway = await get_gateway(request)
    directory = await call_override(request, get_directory)
    if directory is NOT_OVERRIDDEN:
        directory = await get_directory(request)
    return gateway, directory


def process_authorizer(
    state: Any, settings: Settings, directory: AgentDirectory
) -> TicketAuthorizer:
    """The app's one authorizer for this directory (made again when the directory changes)."""
    # Its cache lives as long as the app.
    authorizer = getattr(state, "authorizer", None)
    if not isinstance(authorizer, TicketAuthorizer) or authorizer.directory is not directory:
        authorizer = TicketAuthorizer(directory, ttl=settings.authz_cache_seconds)
        state.authorizer = authorizer
    return authorizer


DirectoryDep = Annotated[AgentDirectory, Depends(get_directory)]
RawGatewayDep = Annotated[ZendeskGateway, Depends(get_gateway)]


@dataclass(frozen=True)
class TicketRequest:
    """What a ticket route works with, resolved by one dependency (`authorize_ticket`)."""

    ticket_id: int
    agent: Agent
    # The shared gateway seen by this request (its calls counted for the access log).
    gateway: CountedGateway
    cache: ReadCache
    context: ServiceContext

    @property
    def zendesk(self) -> ZendeskGateway:
        """The counted gateway, typed as the gateway interface."""
        return cast(ZendeskGateway, self.gateway)


def open_ticket_request(
    state: Any, ticket_id: int, agent: Agent, gateway: ZendeskGateway
) -> TicketRequest:
    """Bundle the request's ticket, agent, counted gateway, read cache and service context."""
    settings: Settings = state.settings
    engine = load_engine(settings.guides_dir)
    return TicketRequest(
        ticket_id=ticket_id,
        agent=agent,
        gateway=count_calls(gateway),
        cache=cast(ReadCache, state.read_cache),
        context=ticket_service_context(state, settings, engine),
    )


def ticket_service_context(state: Any, settings: Settings, engine: Engine) -> ServiceContext:
    """The service context for these guides and the current field map, made once per change.

    The same (frozen) context while the field map object is the same (FIELD_MAPS shares
    it until the file changes): it is built from nothing else that can change.
    """
    field_map = FIELD_MAPS.read_shared(settings.field_map)
    made = getattr(state, "ticket_context", None)
    if made is not None and made[0] is field_map and made[1] is engine and made[2] is settings:
        return cast(ServiceContext, made[3])
    context = build_service_context(
        settings, engine, None if field_map is None else dict(field_map)
    )
    state.ticket_context = (field_map, engine, settings, context)
    return context
