"""A CPU profile of the guidance request inside one process (what the overhead is made of).

The production app (`create_app`, instrumented as in `tooling.bench.server`) is driven
through `httpx.ASGITransport` against the emulator process, with anyio's threadpool hop
replaced by a direct call so cProfile (CPU timer) sees every line on one thread; the hops
are counted instead. Inclusive CPU time is attributed to the entry points below; the rest
is FastAPI / Starlette / ASGI plumbing.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import httpx

from backend.api.app import create_app
from backend.logs import configure_logging
from tooling.bench.server import StopwatchMiddleware, install_instruments
from tooling.bench.stack import EmulatorProcess, backend_settings
from tooling.testing import make_token

# (component, predicate on (filename, line, function)) — first match wins per entry point.
Key = tuple[str, int, str]
COMPONENTS: tuple[tuple[str, Callable[[Key], bool]], ...] = (
    (
        "Zendesk client (ZenpyGateway calls: wire, JSON, records)",
        lambda k: k[0].endswith("bench/server.py") and k[2] == "wrapper",
    ),
    (
        "engine: decide() incl. texts and note",
        lambda k: k[0].endswith("domain/engine.py") and k[2] == "decide",
    ),
    ("facts: parse the ticket's fields", lambda k: k[2] == "parse_ticket_record"),
    (
        "auth: session token verification",
        lambda k: k[0].endswith("api/auth.py") and k[2] == "verify_session",
    ),
    (
        "authorization: cached Zendesk permissions",
        lambda k: (
            k[0].endswith("api/routers/tickets.py")
            and k[2] in ("authorize_ticket", "authorize_ticket_edit")
        ),
    ),
    (
        "response model validation + JSON",
        lambda k: (
            (k[2] in ("serialize_response", "model_validate") and "fastapi" in k[0])
            or (k[2] == "model_validate" and "api/routers/" in k[0])
        ),
    ),
    (
        "access log line (masked JSON)",
        lambda k: k[0].endswith("api/edge.py") and k[2] == "_write_line",
    ),
)


@dataclass
class ProfileResult:
    """CPU per guidance request by component, and threadpool hops per request."""

    requests: int
    cpu_ms_per_request: float
    hops_per_request: float
    components: list[tuple[str, float]] = field(default_factory=list)
    top_functions: list[tuple[str, float]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON."""
        return {
            "requests": self.requests,
            "cpu_ms_per_request": self.cpu_ms_per_request,
            "hops_per_request": self.hops_per_request,
            "components": self.components,
            "top_functions": self.top_functions,
        }


def profile_guidance(emulator: EmulatorProcess, requests: int = 180) -> ProfileResult:
    """Profile `requests` guidance requests in this process (CPU time)."""
    hops = [0]
    original = anyio.to_thread.run_sync

    async def inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        hops[0] += 1
        return func(*args)

    settings = backend_settings(emulator)
    configure_logging(settings.log_level, io.StringIO())
    restore = install_instruments()
    app = StopwatchMiddleware(create_app(settings))
    headers = {"Authorization": "Bearer " + make_token(settings)}
    ids = emulator.ticket_ids

    async def drive(count: int) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for index in range(count):
                path = f"/v1/tickets/{ids[index % len(ids)]}/guidance"
                (await client.get(path, headers=headers)).raise_for_status()

    setattr(anyio.to_thread, "run_sync", inline)  # noqa: B010 (profiling only, restored)
    try:
        asyncio.run(drive(len(ids) * 2))  # warm up
        started = time.process_time()
        asyncio.run(drive(requests))  # unprofiled: the real CPU per request
        cpu = time.process_time() - started
        hops[0] = 0
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        asyncio.run(drive(requests))
        profiler.disable()
    finally:
        setattr(anyio.to_thread, "run_sync", original)  # noqa: B010
        restore()
    stats = pstats.Stats(profiler)
    table: dict[Key, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in table.values())
    # Shares come from the profile; milliseconds are those shares of the unprofiled CPU time.
    scale = cpu * 1000 / requests / total if total else 0.0
    components = []
    for name, matches in COMPONENTS:
        inclusive = sum(row[3] for key, row in table.items() if matches(key))
        components.append((name, inclusive * scale))
    client = sum(row[3] for key, row in table.items() if _is_client_send(key))
    app = sum(row[3] for key, row in table.items() if _is_app_entry(key))
    components.append(("httpx test client (bench only, not production)", (client - app) * scale))
    attributed = sum(ms for _, ms in components)
    components.append(
        ("FastAPI / Starlette / ASGI plumbing and the rest", total * scale - attributed)
    )
    top = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:12]
    top_functions = [(f"{_short(key[0])}:{key[2]}", row[2] * scale) for key, row in top]
    return ProfileResult(
        requests=requests,
        cpu_ms_per_request=cpu * 1000 / requests,
        hops_per_request=hops[0] / requests,
        components=components,
        top_functions=top_functions,
    )


def _is_client_send(key: Key) -> bool:
    """httpx's AsyncClient.send (the test client around the whole request)."""
    return "httpx/_client.py" in key[0] and key[2] == "send"


def _is_app_entry(key: Key) -> bool:
    """The ASGI app's entry (the bench middleware wraps the production app)."""
    return key[0].endswith("bench/server.py") and key[2] == "__call__"


def _short(filename: str) -> str:
    """A file name without the site-packages / repository prefix."""
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename
