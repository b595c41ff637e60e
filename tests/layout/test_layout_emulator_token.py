"""`macros plan` / `fields bootstrap` against the loopback emulator need no real Zendesk token."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from backend.cli import EMULATOR_TOKEN, for_local_emulator, main
from backend.demo import start_emulator_with_demo
from backend.emulator.server import EmulatorServer
from backend.settings import Settings


def settings_for(url: str, token: str = "") -> Settings:
    """Settings for a Zendesk URL and token, ignoring the environment's .env."""
    return Settings(_env_file=None, zendesk_url=url, zendesk_token=SecretStr(token))  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]:8765"]
)
@pytest.mark.parametrize("token", ["", "change-me"])
def test_a_loopback_emulator_gets_a_stand_in_token(url: str, token: str) -> None:
    local = for_local_emulator(settings_for(url, token))
    assert local.zendesk_token.get_secret_value() == EMULATOR_TOKEN


@pytest.mark.parametrize(
    ("url", "token"),
    [
        ("https://acme.zendesk.com", ""),
        ("http://127.0.0.1:8765", "a-real-token-the-user-set"),
    ],
)
def test_anything_else_keeps_its_token(url: str, token: str) -> None:
    settings = settings_for(url, token)
    assert for_local_emulator(settings) is settings


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5:8765", "http://emulator.internal:8765", "https://127.0.0.1:8765"]
)
def test_a_url_that_is_neither_zendesk_nor_the_loopback_emulator_is_refused(url: str) -> None:
    """No stand-in token for a non-loopback host: Settings refuses the URL outright."""
    with pytest.raises(ValidationError, match=r"zendesk\.com"):
        settings_for(url)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The demo emulator on a free port, and the field map it wrote."""
    field_map = tmp_path / "field_map.json"
    seeded = Settings(_env_file=None, field_map=field_map)  # type: ignore[call-arg]
    server: EmulatorServer
    server, _ids = start_emulator_with_demo(seeded, "127.0.0.1", 0, io.StringIO())
    try:
        yield server.url, field_map
    finally:
        server.stop()


def test_macros_plan_runs_against_the_emulator_without_a_token(
    emulator: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, field_map = emulator
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("GUIDEPOST_ZENDESK_URL", url)
    monkeypatch.setenv("GUIDEPOST_ZENDESK_TOKEN", "")
    monkeypatch.setenv("GUIDEPOST_FIELD_MAP", str(field_map))
    out, err = io.StringIO(), io.StringIO()
    assert main(["macros", "plan", "--json"], out, err) == 0, err.getvalue()
    assert json.loads(out.getvalue())["create"] > 0
    assert "macros plan: took" in err.getvalue()
