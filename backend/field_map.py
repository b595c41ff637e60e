"""The field map file (semantic key → Zendesk field id): one parser for CLI and API."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from backend.errors import SettingsError


def parse_field_map(path: Path) -> dict[str, int]:
    """Read and check a field map file; SettingsError naming the file otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return {str(key): int(value) for key, value in data.items()}
    except (OSError, ValueError, TypeError) as exc:
        raise SettingsError(
            f"field map {path.name} is unreadable ({exc}); run `guidepost fields bootstrap`"
        ) from None


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
            field_map = parse_field_map(path)
            self._entries[path] = (stamp, field_map)
            return dict(field_map)


FIELD_MAPS = FieldMapCache()
