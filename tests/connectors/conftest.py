"""Fixtures of the connector tests: the field catalog, a test connectors.yaml, settings.

Sources live on https://admin.test (mocked with respx; nothing leaves the machine) or on
the local admin emulator (loopback). SECRET is the auth token; tests prove it is sent and
never written anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from connector_helpers import CONNECTORS_YAML, ROOT, make_settings

from backend.connectors.config import ConnectorSet, load_connectors
from backend.connectors.fetch import FactCache
from backend.domain.fields import FieldCatalog, load_field_catalog
from backend.settings import Settings


@pytest.fixture(scope="session")
def fields() -> FieldCatalog:
    """The repo's field catalog (macros/fields.yaml)."""
    return load_field_catalog(ROOT / "macros" / "fields.yaml")


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str], Path]:
    """Write a connectors.yaml text into a temporary file and return its path."""

    written: list[Path] = []

    def write(text: str) -> Path:
        # A new name each time: the loader caches by path and modification time.
        path = tmp_path / f"connectors-{len(written)}.yaml"
        written.append(path)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def connectors(write_yaml: Callable[[str], Path]) -> ConnectorSet:
    """The two test connectors, loaded."""
    return load_connectors(write_yaml(CONNECTORS_YAML))


@pytest.fixture
def settings() -> Settings:
    """The default test settings (see make_settings)."""
    return make_settings()


@pytest.fixture
def cache() -> FactCache:
    """A fresh cache per test (the process-wide one would leak between tests)."""
    return FactCache()
