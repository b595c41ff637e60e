"""What each template reads, and Jinja's compiled templates, kept between `explain` runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from table_helpers import load_repo_catalog

from backend import catalog_cache
from backend.catalog_cache import bytecode_cache, cached_renderer, templates_key
from backend.domain.engine import EngineOptions, decide
from backend.domain.facts import parse_input
from backend.domain.guides import GuideCatalog, load_catalog
from backend.domain.render import TextRenderer
from backend.domain.template_facts import TemplateFacts
from tooling.decision_snapshot import read_snapshot

ROOT = Path(__file__).resolve().parents[2]
BASELINE = Path(__file__).parent / "data" / "decisions_baseline.jsonl"
OPTIONS = EngineOptions(admin_call_url="https://admin.example/calls/{call_id}")


@pytest.fixture
def macros(tmp_path: Path) -> Path:
    """A private copy of macros/ a test may edit."""
    return Path(shutil.copytree(ROOT / "macros", tmp_path / "macros"))


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every full analysis of the templates (a miss), recorded: a hit adds none."""
    seen: list[int] = []
    real = TextRenderer.template_facts

    def counting(self: TextRenderer) -> dict[str, dict[str, TemplateFacts | None]]:
        seen.append(1)
        return real(self)

    monkeypatch.setattr(TextRenderer, "template_facts", counting)
    return seen


def answers(renderer: TextRenderer, catalog: GuideCatalog) -> list[object]:
    """Everything the analysis tells, for every template of every guide."""
    told: list[object] = []
    for guide_id in sorted(catalog.guides):
        told += [renderer.names_read(guide_id), renderer.facts_read(guide_id)]
        for name in sorted(renderer._env(guide_id).list_templates()):
            told.append((guide_id, name, renderer.is_fact_free(guide_id, name)))
    return told


def test_a_second_renderer_reads_the_analysis_and_tells_the_same(macros, tmp_path, analyses):
    catalog = load_catalog(macros)
    first = cached_renderer(catalog, tmp_path / "cache")
    second = cached_renderer(catalog, tmp_path / "cache")
    assert len(analyses) == 1
    fresh = TextRenderer(catalog)
    assert answers(second, catalog) == answers(first, catalog) == answers(fresh, catalog)


def test_an_edited_template_is_analysed_again(macros, tmp_path, analyses):
    catalog = load_catalog(macros)
    cached_renderer(catalog, tmp_path / "cache")
    before = templates_key(catalog)
    template = next((macros / "_common").rglob("*.j2"))
    template.write_text(template.read_text("utf-8") + "{{ brand_new_name }}", "utf-8")
    assert templates_key(catalog) != before
    renderer = cached_renderer(catalog, tmp_path / "cache")
    assert len(analyses) == 2
    assert "brand_new_name" in (renderer.names_read("force_reconnect") or ())


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: b"[]", id="not-an-object"),
        pytest.param(
            lambda data: data.replace(b'"uses_templates": false', b'"uses_templates": 0', 1),
            id="wrong-type",
        ),
        pytest.param(lambda data: data.replace(b'"names": [', b'"names": [1, ', 1), id="bad-name"),
    ],
)
def test_a_damaged_entry_is_ignored_and_rewritten(macros, tmp_path, analyses, damage):
    catalog = load_catalog(macros)
    cached_renderer(catalog, tmp_path / "cache")
    (entry,) = (tmp_path / "cache").glob("templates-*.json")
    entry.write_bytes(damage(entry.read_bytes()))
    renderer = cached_renderer(catalog, tmp_path / "cache")
    assert len(analyses) == 2
    assert answers(renderer, catalog) == answers(TextRenderer(catalog), catalog)
    cached_renderer(catalog, tmp_path / "cache")
    assert len(analyses) == 2


def test_an_entry_others_may_write_is_not_trusted(macros, tmp_path, analyses):
    catalog = load_catalog(macros)
    cached_renderer(catalog, tmp_path / "cache")
    (entry,) = (tmp_path / "cache").glob("templates-*.json")
    entry.chmod(0o666)
    cached_renderer(catalog, tmp_path / "cache")
    assert len(analyses) == 2


def test_compiled_templates_come_only_from_a_private_folder(tmp_path):
    assert bytecode_cache(tmp_path / "cache") is not None
    (compiled,) = (tmp_path / "cache").glob("jinja-*")
    compiled.chmod(0o777)
    assert bytecode_cache(tmp_path / "cache") is None


def test_every_way_of_loading_a_template_decides_alike(tmp_path):
    """Compiled from the analysis' tree, by Jinja's loader, into and out of the bytecode cache."""
    catalog = load_repo_catalog()
    known = TextRenderer(catalog).template_facts()
    renderers = {
        "tree": TextRenderer(catalog),
        "loader": TextRenderer(catalog, known),
        "bytecode fill": TextRenderer(catalog, known, bytecode_cache(tmp_path)),
    }
    tickets = [parse_input(data, catalog.fields) for _, data, _ in read_snapshot(BASELINE)[::5]]

    def decided_by(renderer: TextRenderer) -> list[str]:
        return [json.dumps(decide(t, catalog, renderer, OPTIONS).to_json()) for t in tickets]

    decided = {label: decided_by(renderer) for label, renderer in renderers.items()}
    (compiled,) = tmp_path.glob("jinja-*")
    assert list(compiled.iterdir())  # the fill wrote compiled code
    decided["bytecode hit"] = decided_by(TextRenderer(catalog, known, bytecode_cache(tmp_path)))
    assert len({tuple(lines) for lines in decided.values()}) == 1


def test_the_key_names_render_py(macros, monkeypatch, tmp_path):
    catalog = load_catalog(macros)
    before = templates_key(catalog)
    from backend.domain import render

    other = tmp_path / "render_copy.py"
    other.write_text(Path(render.__file__).read_text("utf-8") + "\n# changed\n", "utf-8")
    monkeypatch.setattr(render, "__file__", str(other))
    assert templates_key(catalog) != before
    assert catalog_cache.TEMPLATES_FORMAT.startswith(b"guidepost-template-facts")


@pytest.mark.parametrize("module_name", ["render", "render_filters"])
def test_compiled_templates_are_kept_per_environment_source(module_name, monkeypatch, tmp_path):
    """Jinja compiles filter calls and sandboxed operators from these modules' code."""
    import importlib

    module = importlib.import_module(f"backend.domain.{module_name}")
    before = bytecode_cache(tmp_path / "cache")
    other = tmp_path / f"{module_name}_copy.py"
    other.write_text(Path(module.__file__).read_text("utf-8") + "\n# changed\n", "utf-8")
    monkeypatch.setattr(module, "__file__", str(other))
    after = bytecode_cache(tmp_path / "cache")
    assert before is not None
    assert after is not None
    assert before.directory != after.directory


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: data[:40] + b"\x00" * 40 + data[80:], id="zeroed"),
        pytest.param(lambda data: b"garbage", id="garbage"),
    ],
)
def test_damaged_compiled_templates_are_compiled_afresh(tmp_path, damage):
    catalog = load_repo_catalog()
    known = TextRenderer(catalog).template_facts()
    tickets = [parse_input(data, catalog.fields) for _, data, _ in read_snapshot(BASELINE)[::40]]

    def decided_by(renderer: TextRenderer) -> list[object]:
        return [decide(t, catalog, renderer, OPTIONS).to_json() for t in tickets]

    expected = decided_by(TextRenderer(catalog, known, bytecode_cache(tmp_path)))
    entries = [p for p in next(tmp_path.glob("jinja-*")).iterdir()]
    assert entries
    for entry in entries:
        entry.write_bytes(damage(entry.read_bytes()))
    assert decided_by(TextRenderer(catalog, known, bytecode_cache(tmp_path))) == expected


def test_an_unwritable_bytecode_folder_still_renders(tmp_path):
    catalog = load_repo_catalog()
    cache = bytecode_cache(tmp_path)
    assert cache is not None
    # The folder gone, a file in its place (root may write anywhere else): writes fail.
    folder = next(tmp_path.glob("jinja-*"))
    folder.rmdir()
    folder.write_text("not a folder")
    ticket = parse_input(read_snapshot(BASELINE)[0][1], catalog.fields)
    renderer = TextRenderer(catalog, TextRenderer(catalog).template_facts(), cache)
    plain = decide(ticket, catalog, TextRenderer(catalog), OPTIONS).to_json()
    assert decide(ticket, catalog, renderer, OPTIONS).to_json() == plain


def test_a_file_where_the_bytecode_folder_would_be_means_no_bytecode_cache(tmp_path):
    assert bytecode_cache(tmp_path) is not None
    folder = next(tmp_path.glob("jinja-*"))
    folder.rmdir()
    folder.write_text("not a folder")
    folder.chmod(0o600)
    assert bytecode_cache(tmp_path) is None
