"""FastAPI dependency providers; tests replace them with `app.dependency_overrides`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import cast

from fastapi import Depends, Request

from backend.domain.engine import EngineOptions
from backend.domain.guides import GuideCatalog, load_catalog
from backend.domain.render import TextRenderer
from backend.errors import SettingsError
from backend.logs import bind_request
from backend.settings import Settings
from backend.zendesk.gateway import ZendeskGateway


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return cast(Settings, request.app.state.settings)


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


def get_engine(settings: Settings = Depends(get_settings)) -> Engine:  # noqa: B008
    """The cached catalog and renderer of the configured guides folder."""
    return load_engine(settings.guides_dir)


def get_catalog(engine: Engine = Depends(get_engine)) -> GuideCatalog:  # noqa: B008
    """The cached guide catalog."""
    return engine.catalog


def get_renderer(engine: Engine = Depends(get_engine)) -> TextRenderer:  # noqa: B008
    """The cached text renderer."""
    return engine.renderer


def get_engine_options(settings: Settings = Depends(get_settings)) -> EngineOptions:  # noqa: B008
    """Engine knobs taken from the settings."""
    return EngineOptions(admin_call_url=settings.admin_call_url)


class FieldMapCache:
    """The field map file, re-read whenever its mtime or size changes (bootstrap rewrites it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Path, tuple[tuple[int, int], dict[str, int]]] = {}

    def read(self, path: Path) -> dict[str, int] | None:
        """Return the map at `path`, None when the file does not exist."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SettingsError(f"field map {path.name}: cannot read ({exc.strerror})") from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._entries.get(path)
            if cached is not None and cached[0] == stamp:
                return dict(cached[1])
            field_map = self._parse(path)
            self._entries[path] = (stamp, field_map)
            return dict(field_map)

    @staticmethod
    def _parse(path: Path) -> dict[str, int]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            return {str(key): int(value) for key, value in data.items()}
        except (OSError, ValueError, TypeError) as exc:
            raise SettingsError(
                f"field map {path.name} is unreadable ({exc}); run `guidepost fields bootstrap`"
            ) from None


FIELD_MAPS = FieldMapCache()


def get_field_map(settings: Settings = Depends(get_settings)) -> dict[str, int] | None:  # noqa: B008
    """The field map (semantic key → Zendesk field id), or None before `fields bootstrap`."""
    return FIELD_MAPS.read(settings.field_map)


def get_gateway(settings: Settings = Depends(get_settings)) -> Iterator[ZendeskGateway]:  # noqa: B008
    """A fresh Zendesk gateway per request (zenpy is not thread-safe), interactive waits."""
    from backend.zendesk.zenpy_gateway import ZenpyGateway

    gateway = ZenpyGateway.from_settings(settings, wait_policy="interactive")
    try:
        yield gateway
    finally:
        close = getattr(gateway, "close", None)
        if callable(close):
            close()


def use_gateway(gateway: ZendeskGateway = Depends(get_gateway)) -> ZendeskGateway:  # noqa: B008
    """The request's gateway, registered so the access log can report its call count."""
    bind_request(gateway=gateway)
    return gateway
