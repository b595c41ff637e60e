"""The catalog cache of `guidepost explain`: never stale, corrupt entries rebuilt, never shared."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fresh_process import run_fresh_python
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from macros_copies import edit_yaml

from backend import catalog_cache
from backend.catalog_cache import cache_folder, entry_path, load_catalog_cached
from backend.domain import guides
from backend.domain.guides import GuideCatalog

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def macros(tmp_path: Path) -> Path:
    """A private copy of macros/ a test may edit."""
    return Path(shutil.copytree(ROOT / "macros", tmp_path / "macros"))


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every real (YAML + pydantic) catalog load, recorded: a hit adds none."""
    real = guides.load_catalog
    seen: list[Path] = []

    def counting(root: Path) -> GuideCatalog:
        seen.append(root)
        return real(root)

    monkeypatch.setattr(guides, "load_catalog", counting)
    return seen


def same_catalog(left: GuideCatalog, right: GuideCatalog) -> bool:
    """Equal guides, labels, root and field definitions (FieldCatalog has no __eq__)."""
    return (
        left.guides == right.guides
        and left.labels == right.labels
        and left.root == right.root
        and left.fields.fields() == right.fields.fields()
    )


def test_second_load_is_a_hit_equal_to_a_fresh_load(macros, tmp_path, loads):
    folder = tmp_path / "cache"
    first = load_catalog_cached(macros, folder)
    second = load_catalog_cached(macros, folder)
    assert loads == [macros]
    assert second is not first
    assert same_catalog(second, guides.load_catalog(macros))


def test_an_edited_guide_file_is_seen_by_the_next_load(macros, tmp_path, loads):
    folder = tmp_path / "cache"
    assert load_catalog_cached(macros, folder).guide("force_reconnect").title != "바뀐 제목"
    edit_yaml(macros / "force_reconnect" / "guide.yaml", lambda d: d.update(title="바뀐 제목"))
    assert load_catalog_cached(macros, folder).guide("force_reconnect").title == "바뀐 제목"
    assert load_catalog_cached(macros, folder).guide("force_reconnect").title == "바뀐 제목"
    assert len(loads) == 2


@pytest.mark.parametrize("name", ["fields.yaml", "labels.yaml"])
def test_an_edited_fields_or_labels_file_makes_a_miss(macros, tmp_path, loads, name):
    folder = tmp_path / "cache"
    load_catalog_cached(macros, folder)
    with (macros / name).open("a", encoding="utf-8") as handle:
        handle.write("# an editor's comment\n")
    load_catalog_cached(macros, folder)
    assert len(loads) == 2


def test_a_removed_guide_folder_is_gone_from_the_next_load(macros, tmp_path):
    folder = tmp_path / "cache"
    assert set(load_catalog_cached(macros, folder).guides) == {
        "force_reconnect",
        "parking_onsite_payment",
    }
    shutil.rmtree(macros / "parking_onsite_payment")
    assert set(load_catalog_cached(macros, folder).guides) == {"force_reconnect"}


def test_a_broken_guide_is_an_error_every_time_never_a_cached_success(macros, tmp_path):
    folder = tmp_path / "cache"
    load_catalog_cached(macros, folder)
    edit_yaml(macros / "force_reconnect" / "guide.yaml", lambda d: d.pop("rows"))
    for _ in range(2):
        with pytest.raises(guides.GuideDataError, match="rows"):
            load_catalog_cached(macros, folder)


def test_a_missing_guides_folder_gets_load_catalogs_error(tmp_path):
    with pytest.raises(guides.GuideDataError, match=r"fields\.yaml"):
        load_catalog_cached(tmp_path / "nowhere", tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: data[:200] + b"\x00" * 64 + data[264:], id="zeroed"),
        pytest.param(lambda data: b"not a cache entry", id="garbage"),
        pytest.param(lambda data: b"", id="empty"),
    ],
)
def test_a_corrupt_entry_is_ignored_and_rebuilt(macros, tmp_path, loads, damage):
    folder = tmp_path / "cache"
    load_catalog_cached(macros, folder)
    entry = entry_path(folder, macros)
    entry.write_bytes(damage(entry.read_bytes()))
    assert same_catalog(load_catalog_cached(macros, folder), guides.load_catalog(macros))
    # Rebuilt: the next load is a hit again.
    count = len(loads)
    load_catalog_cached(macros, folder)
    assert len(loads) == count


def test_an_entry_holding_something_else_is_ignored(macros, tmp_path, loads):
    folder = tmp_path / "cache"
    load_catalog_cached(macros, folder)
    entry = entry_path(folder, macros)
    header = entry.read_bytes().split(b"\n", 2)
    entry.write_bytes(header[0] + b"\n" + header[1] + b"\n" + b"\x80\x05K*.")  # pickled 42
    assert isinstance(load_catalog_cached(macros, folder), GuideCatalog)
    assert len(loads) == 2


def test_an_entry_others_may_write_is_not_trusted(macros, tmp_path, loads):
    folder = tmp_path / "cache"
    load_catalog_cached(macros, folder)
    entry = entry_path(folder, macros)
    entry.chmod(0o666)
    load_catalog_cached(macros, folder)
    assert len(loads) == 2
    # Rewritten private (mkstemp: 0600), so trusted again.
    assert entry.stat().st_mode & 0o077 == 0
    load_catalog_cached(macros, folder)
    assert len(loads) == 2


def test_the_cache_folder_is_private(macros, tmp_path):
    folder = tmp_path / "cache" / "guidepost"
    load_catalog_cached(macros, folder)
    assert folder.stat().st_mode & 0o077 == 0


def test_an_unwritable_cache_still_loads(macros, tmp_path, loads):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder would be")
    for _ in range(2):
        assert set(load_catalog_cached(macros, blocker / "guidepost").guides) >= {"force_reconnect"}
    assert len(loads) == 2


def test_the_same_folder_spelled_differently_keeps_its_own_root(macros, tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.chdir(macros.parent)
    relative = load_catalog_cached(Path("macros"), folder)
    absolute = load_catalog_cached(macros, folder)
    assert (relative.root, absolute.root) == (Path("macros"), macros)


def test_cache_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_folder() == tmp_path / "guidepost"
    # XDG: a relative path is invalid and ignored.
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_folder() == tmp_path / "home" / ".cache" / "guidepost"


def test_the_key_names_the_model_sources(macros, monkeypatch, tmp_path):
    before = catalog_cache.catalog_key(macros)
    other = tmp_path / "guides_copy.py"
    other.write_text(Path(guides.__file__).read_text("utf-8") + "\n# changed\n", "utf-8")
    monkeypatch.setattr(guides, "__file__", str(other))
    assert catalog_cache.catalog_key(macros) != before


def test_the_key_names_the_validators_version(macros, monkeypatch):
    """The pickled catalog is what pydantic validated: another pydantic, another key."""
    before = catalog_cache.catalog_key(macros)
    assert b"VERSION" in catalog_cache._validator_version()
    monkeypatch.setattr(catalog_cache, "_validator_version", lambda: b"VERSION = '9.9.9'\n")
    assert catalog_cache.catalog_key(macros) != before


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(noise=st.binary(max_size=512), keep=st.integers(min_value=0, max_value=100_000))
def test_any_bytes_in_the_entry_give_the_fresh_catalog(macros, tmp_path, noise, keep):
    folder = tmp_path / "cache"
    load_catalog_cached(macros, folder)
    entry = entry_path(folder, macros)
    entry.write_bytes(entry.read_bytes()[:keep] + noise)
    assert same_catalog(load_catalog_cached(macros, folder), guides.load_catalog(macros))


def run_explain_process(macros: Path, cache_home: Path, tmp_path: Path) -> dict[str, object]:
    """`python -m backend explain` in a fresh process with its own cache folder."""
    ticket = tmp_path / "ticket.json"
    ticket.write_text(
        json.dumps({"fields": {"consult_type": "driver_force_rerun_own_normal"}}), "utf-8"
    )
    stdout = run_fresh_python(
        ["-m", "backend", "explain", str(ticket)],
        tmp_path,
        cache_home,
        env={"GUIDEPOST_GUIDES_DIR": str(macros)},
    )
    decision = json.loads(stdout)
    assert isinstance(decision, dict)
    return decision


def test_explain_processes_see_an_edited_guide(macros, tmp_path):
    cache_home = tmp_path / "xdg"

    def titles() -> list[object]:
        decision = run_explain_process(macros, cache_home, tmp_path)
        texts = decision["texts"]
        assert isinstance(texts, list)
        return [text["title"] for text in texts]

    before = titles()
    assert list((cache_home / "guidepost").glob("catalog-*.pickle"))
    assert titles() == before

    def retitle(data: dict[str, object]) -> None:
        done: set[int] = set()  # YAML anchors share one text between branches
        for branch in data["branches"].values():  # type: ignore[attr-defined]
            for text in branch.get("texts", []):
                if id(text) not in done:
                    done.add(id(text))
                    text["title"] = "편집된 " + text["title"]

    edit_yaml(macros / "force_reconnect" / "guide.yaml", retitle)
    assert titles() == ["편집된 " + str(title) for title in before]
