"""The event-loop read tests' fixtures: one seeded emulator per module, the production app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from seeded_app import Seeded, TestClient, production_client, seeded_emulator


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """One emulator for the module, fields bootstrapped and the demo seeded."""
    with seeded_emulator(tmp_path_factory.mktemp("loop")) as running:
        yield running


@pytest.fixture
def client(seeded: Seeded) -> Iterator[TestClient]:
    """The production app on the seeded emulator (overrides tests/api's fake-gateway client)."""
    with production_client(seeded) as test_client:
        yield test_client
