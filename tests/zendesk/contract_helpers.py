"""Contract-suite helpers shared by tests/zendesk (a module name unique across test folders)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from backend.emulator.store import EmulatorStore

LIVE_ENV = (
    "GUIDEPOST_LIVE_ZENDESK_URL",
    "GUIDEPOST_LIVE_ZENDESK_EMAIL",
    "GUIDEPOST_LIVE_ZENDESK_TOKEN",
)
LIVE_SKIP = (
    "live Zendesk not configured: set GUIDEPOST_LIVE_ZENDESK_URL, GUIDEPOST_LIVE_ZENDESK_EMAIL "
    "and GUIDEPOST_LIVE_ZENDESK_TOKEN (sandbox only) and run `make test-live`"
)
WRITE_METHODS = frozenset(
    {
        "update_ticket",
        "create_ticket",
        "create_ticket_field",
        "update_ticket_field",
        "create_macro",
        "update_macro",
        "delete_macro",
        "create_reconnection",
        "delete_reconnection",
        "set_ticket_form_fields",
    }
)


class WriteSpy:
    """Wraps a gateway and records every call that writes (ensure_ledger when it wrote)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.writes: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name in WRITE_METHODS:

            def record(*args: Any, **kwargs: Any) -> Any:
                self.writes.append(name)
                return attr(*args, **kwargs)

            return record
        if name == "ensure_ledger":

            def ensure() -> bool:
                wrote = bool(attr())
                if wrote:
                    self.writes.append(name)
                return wrote

            return ensure
        return attr


@dataclass
class Backend:
    """One Zendesk the contract runs against: its gateway, store (None when live), prefix."""

    name: str
    gateway: Any
    store: EmulatorStore | None
    prefix: str
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def later(self, action: Callable[[], None]) -> None:
        """Undo something on teardown (live: remove what the test created)."""
        self.cleanup.append(action)
