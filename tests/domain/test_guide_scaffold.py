"""`guidepost guides new <id>`: the scaffold passes `guides check` at once, and is selectable."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
import yaml

from backend.cli import EXIT_BAD_INPUT, EXIT_OK, main
from backend.domain.engine import EngineOptions, decide
from backend.domain.facts import parse_input
from backend.domain.guides import load_catalog
from backend.domain.render import TextRenderer

ROOT = Path(__file__).resolve().parents[2]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def macros(tmp_path: Path) -> Path:
    """A macros folder with the repo's fields and note template and no guide yet."""
    target = tmp_path / "macros"
    target.mkdir()
    shutil.copy(ROOT / "macros" / "fields.yaml", target / "fields.yaml")
    shutil.copytree(ROOT / "macros" / "_common", target / "_common")
    labels = yaml.safe_load((ROOT / "macros" / "labels.yaml").read_text("utf-8"))
    platform = {"guide_suggested_set_consult_type", "connector_value_differs"}
    labels = {
        "blocks": {},
        "notices": {k: v for k, v in labels["notices"].items() if k in platform},
    }
    (target / "labels.yaml").write_text(yaml.safe_dump(labels, allow_unicode=True), "utf-8")
    return target


def test_new_guide_passes_guides_check_at_once(macros: Path) -> None:
    code, out, _err = run("guides", "new", "lost_item", "--macros-dir", str(macros))
    assert code == EXIT_OK
    assert "added 상담유형 option lost_item to fields.yaml" in out
    assert sorted(p.name for p in (macros / "lost_item").rglob("*") if p.is_file()) == [
        "RULINGS.md",
        "act.j2",
        "ask.j2",
        "guide.yaml",
    ]
    code, out, err = run("guides", "check", "--guides-dir", str(macros))
    assert (code, err.split(" took ")[0]) == (EXIT_OK, "guides check:"), err
    assert "lost_item: 3 decision paths, all total; 2/2 branches" in out
    assert out.endswith("guides check: OK\n")


def test_new_guide_decides_and_renders(macros: Path) -> None:
    run("guides", "new", "lost_item", "--macros-dir", str(macros))
    catalog = load_catalog(macros)
    renderer, options = TextRenderer(catalog), EngineOptions()
    asked = parse_input({"fields": {"consult_type": "lost_item"}}, catalog.fields)
    pending = decide(asked, catalog, renderer, options)
    assert (pending.branch, pending.outcome, pending.missing) == (
        "lost_item.collect_info",
        "pending",
        ["identity_verified"],
    )
    assert [t.key for t in pending.texts] == ["ask"]
    known = parse_input(
        {"fields": {"consult_type": "lost_item", "identity_verified": True}}, catalog.fields
    )
    done = decide(known, catalog, renderer, options)
    assert (done.branch, done.outcome) == ("lost_item.act", "eligible")
    assert done.texts[0].body.startswith("TODO")
    assert done.texts[0].from_article is False


def test_fields_yaml_keeps_its_comments_and_gets_one_option(macros: Path) -> None:
    before = (macros / "fields.yaml").read_text("utf-8")
    run("guides", "new", "lost_item", "--macros-dir", str(macros))
    after = (macros / "fields.yaml").read_text("utf-8")
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added == ['      lost_item: {ko: "TODO 상담유형", en: "TODO consultation type"}']
    assert (
        load_catalog(macros).fields.get("consult_type").options["lost_item"].ko == "TODO 상담유형"
    )


@pytest.mark.parametrize("bad", ["Lost", "x", "1abc", "lost-item", "../escape"])
def test_bad_guide_id_is_refused(macros: Path, bad: str) -> None:
    code, _out, err = run("guides", "new", bad, "--macros-dir", str(macros))
    assert code == EXIT_BAD_INPUT
    assert "a-z, 0-9 and _" in err
    assert [p.name for p in macros.iterdir() if p.is_dir()] == ["_common"]


def test_existing_guide_is_never_overwritten(macros: Path) -> None:
    run("guides", "new", "lost_item", "--macros-dir", str(macros))
    guide = macros / "lost_item" / "guide.yaml"
    guide.write_text("edited", "utf-8")
    code, _out, err = run("guides", "new", "lost_item", "--macros-dir", str(macros))
    assert code == EXIT_BAD_INPUT
    assert "already exists" in err
    assert guide.read_text("utf-8") == "edited"
