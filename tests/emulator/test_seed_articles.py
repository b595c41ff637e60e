"""The emulator's copy of the seed articles equals the project's shared seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COPY = REPO / "backend" / "emulator" / "seed_articles"
SHARED = REPO.parent / "shared" / "seeds"


def test_the_copy_has_both_seed_articles() -> None:
    names = sorted(p.name for p in COPY.glob("*.txt"))
    assert names == ["000_c205ebaffaece5dd.txt", "004_d88a9bf861b2af20.txt"]


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared seeds are not beside this checkout")
def test_the_copy_equals_the_shared_seeds() -> None:
    for seed in sorted(SHARED.glob("*.txt")):
        assert (COPY / seed.name).read_bytes() == seed.read_bytes(), seed.name
