"""Fixtures: the guide catalog, and a live emulator with fields, demo tickets and articles."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import pytest
from macro_helpers import ARTICLE_IDS, TEST_TOKEN, Zendesk
from pydantic import SecretStr

from backend.bootstrap import bootstrap_fields
from backend.demo import SEEDS_DIR, seed_demo
from backend.domain.fields import FieldCatalog
from backend.domain.guides import GuideCatalog, load_catalog
from backend.emulator.articles import load_seed_articles
from backend.emulator.server import EmulatorServer
from backend.macro_sync.generator import DesiredMacro, generate_macros
from backend.settings import REPO_ROOT, Settings


@pytest.fixture(scope="session")
def catalog() -> GuideCatalog:
    """The repo's guides."""
    return load_catalog(REPO_ROOT / "macros")


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zendesk]:
    """An emulator on loopback, seeded like `guidepost emulator` (one for the session)."""
    with (
        pytest.MonkeyPatch.context() as patch,
        EmulatorServer(rate_limit_per_minute=100_000) as server,
    ):
        patch.setenv("ZENPY_FORCE_SCHEME", "http")
        patch.setenv("ZENPY_FORCE_NETLOC", server.url.removeprefix("http://"))
        field_map_path = tmp_path_factory.mktemp("zendesk") / "field_map.json"
        settings = Settings(
            zendesk_url=server.url,
            zendesk_token=SecretStr(TEST_TOKEN),
            field_map=field_map_path,
            guides_dir=REPO_ROOT / "macros",
            article_ids=dict(ARTICLE_IDS),
            help_center_locale="ko",
            macro_group_ids=[],
            batch_max_wait_seconds=30.0,
        )
        env = Zendesk(server=server, field_map={}, ticket_ids=[], settings=settings)
        gateway = env.gateway()
        env.field_map = bootstrap_fields(gateway, catalog_fields(), field_map_path)
        env.ticket_ids = seed_demo(gateway, catalog_fields(), env.field_map)
        load_seed_articles(server.store, SEEDS_DIR)
        # Every test starts from here: fields, demo tickets, articles, no macro.
        server.store.mark_initial()
        try:
            yield env
        finally:
            for made in env.gateways:
                made.close()


@pytest.fixture
def zendesk(seeded: Zendesk, monkeypatch: pytest.MonkeyPatch) -> Zendesk:
    """The session's emulator, reset to its seeded state (counters and faults cleared)."""
    seeded.store.reset()
    # ZenpyGateway.from_settings rewrites these process-wide: point them back here.
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", seeded.server.url.removeprefix("http://"))
    return seeded


@pytest.fixture(scope="session")
def generated(seeded: Zendesk, catalog: GuideCatalog) -> list[DesiredMacro]:
    """The repo's macros for the session emulator's field map."""
    return generate_macros(catalog, seeded.field_map, admin_call_url=seeded.settings.admin_call_url)


@lru_cache(maxsize=1)
def catalog_fields() -> FieldCatalog:
    """The field catalog of the repo's guides."""
    return load_catalog(REPO_ROOT / "macros").fields
