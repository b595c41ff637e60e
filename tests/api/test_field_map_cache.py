"""The field map cache: one stat per recheck interval, the same map object until it changes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from backend.errors import SettingsError
from backend.field_map import FieldMapCache, parse_field_map


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, field_map: dict[str, int], bump_ns: int = 0) -> None:
    """Write a map; bump its mtime so a rewrite within the clock's tick is seen as one."""
    path.write_text(json.dumps(field_map), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump_ns))


@pytest.fixture
def clock() -> Clock:
    """A clock at 100 s."""
    return Clock()


def test_within_the_interval_the_file_is_not_looked_at(tmp_path: Path, clock: Clock) -> None:
    """A rewrite inside the interval is not seen; once it is over, it is."""
    path = tmp_path / "field_map.json"
    write(path, {"call_type": 1})
    cache = FieldMapCache(recheck_seconds=1.0, clock=clock)
    assert cache.read(path) == {"call_type": 1}
    write(path, {"call_type": 2}, bump_ns=10_000_000)
    clock.now += 0.5
    assert cache.read(path) == {"call_type": 1}
    clock.now += 0.5
    assert cache.read(path) == {"call_type": 2} == parse_field_map(path)


def test_a_removed_or_created_file_is_seen_after_the_interval(tmp_path: Path, clock: Clock) -> None:
    """None before bootstrap; the map once written; None again once removed."""
    path = tmp_path / "field_map.json"
    cache = FieldMapCache(recheck_seconds=1.0, clock=clock)
    assert cache.read(path) is None
    write(path, {"call_type": 7})
    clock.now += 1.0
    assert cache.read(path) == {"call_type": 7}
    path.unlink()
    clock.now += 1.0
    assert cache.read(path) is None


def test_an_unchanged_file_keeps_the_same_shared_map(tmp_path: Path, clock: Clock) -> None:
    """read_shared answers one object while the file is unchanged; read answers copies."""
    path = tmp_path / "field_map.json"
    write(path, {"call_type": 1, "plate": 2})
    cache = FieldMapCache(recheck_seconds=1.0, clock=clock)
    first = cache.read_shared(path)
    clock.now += 5.0
    assert cache.read_shared(path) is first
    copy = cache.read(path)
    assert copy == first
    assert copy is not first
    write(path, {"call_type": 3}, bump_ns=10_000_000)
    clock.now += 5.0
    assert cache.read_shared(path) == {"call_type": 3}


def test_zero_interval_looks_every_time_and_a_broken_file_is_refused(
    tmp_path: Path, clock: Clock
) -> None:
    """recheck_seconds=0 is the plain path: every read looks; a broken map names its fix."""
    path = tmp_path / "field_map.json"
    write(path, {"call_type": 1})
    cache = FieldMapCache(recheck_seconds=0.0, clock=clock)
    assert cache.read(path) == {"call_type": 1}
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(SettingsError, match="fields bootstrap"):
        cache.read(path)
