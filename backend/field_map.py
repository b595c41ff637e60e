"""The field map file (semantic key → Zendesk field id): one parser for CLI and API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
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


# How long a read field map is served before its file is looked at again: a stat per
# request is a syscall per request (slow in sandboxes); a `fields bootstrap` rewrite (or
# a removed file) is seen at most this late.
FIELD_MAP_RECHECK_SECONDS = 1.0


class FieldMapCache:
    """The field map file, re-read when its mtime or size changes (bootstrap rewrites it).

    The file is looked at again at most every `recheck_seconds` (0: on every read).
    """

    def __init__(
        self,
        recheck_seconds: float = FIELD_MAP_RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.recheck_seconds = recheck_seconds
        self.clock = clock
        self._lock = threading.Lock()
        # path → (checked at, (mtime_ns, size) or None when absent, the map or None)
        self._entries: dict[Path, tuple[float, tuple[int, int] | None, dict[str, int] | None]] = {}

    def read(self, path: Path) -> dict[str, int] | None:
        """Return (a copy of) the map at `path`, None when the file does not exist."""
        field_map = self.read_shared(path)
        return None if field_map is None else dict(field_map)

    def read_shared(self, path: Path) -> Mapping[str, int] | None:
        """The map at `path` (None when absent), shared: the same object until it changes."""
        now = self.clock()
        entry = self._entries.get(path)
        if entry is not None and now - entry[0] < self.recheck_seconds:
            return entry[2]
        try:
            stat = path.stat()
        except FileNotFoundError:
            with self._lock:
                self._entries[path] = (now, None, None)
            return None
        except OSError as exc:
            raise SettingsError(f"field map {path.name}: cannot read ({exc.strerror})") from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._entries.get(path)
            if cached is not None and cached[1] == stamp:
                field_map = cached[2]
            else:
                field_map = parse_field_map(path)
            self._entries[path] = (now, stamp, field_map)
            return field_map


FIELD_MAPS = FieldMapCache()
