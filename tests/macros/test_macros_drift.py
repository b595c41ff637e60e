"""Source drift: the recorded article hash against the article the gateway reads."""

from __future__ import annotations

import io
import re

import pytest
from macro_helpers import Zendesk

from backend.demo import SEEDS_DIR
from backend.domain.guides import GuideCatalog
from backend.emulator.articles import _split_title
from backend.macro_sync.commands import run_plan, run_sync_once
from backend.macro_sync.drift import hash_article, normalize_article_text

SEEDS = {
    "parking_onsite_payment": "000_c205ebaffaece5dd.txt",
    "force_reconnect": "004_d88a9bf861b2af20.txt",
}


def _seed(guide_id: str) -> tuple[str, str]:
    """The title and Markdown body the emulator serves for a guide's seed."""
    return _split_title((SEEDS_DIR / SEEDS[guide_id]).read_text("utf-8"))


def test_recorded_hashes_match_the_seeds(catalog: GuideCatalog) -> None:
    for guide_id in SEEDS:
        _, body = _seed(guide_id)
        assert catalog.guide(guide_id).source.article_sha256 == hash_article(body)


def test_normalising_ignores_markup_but_not_words() -> None:
    markdown = "## 1. 가이드\n\n**상담 유형 :** 대리\\_기사 ▶ [이동 링크](https://x.example/a)\n"
    html = (
        "<h2>1. 가이드</h2><p><strong>상담 유형&nbsp;:</strong> 대리_기사 &#9654; "
        '<a href="https://y.example/b">이동 링크</a></p>'
    )
    assert normalize_article_text(markdown) == "1 가이드 상담 유형 대리 기사 이동 링크"
    assert hash_article(markdown) == hash_article(html)
    assert hash_article(markdown) != hash_article(markdown.replace("대리", "탁송"))


def test_plan_reports_no_drift_on_the_seed_articles(zendesk: Zendesk) -> None:
    err = io.StringIO()
    assert run_plan(zendesk.settings, io.StringIO(), err, gateway_factory=zendesk.factory()) == 0
    assert err.getvalue() == ""


def test_plan_exits_3_naming_guide_and_article(zendesk: Zendesk) -> None:
    title, body = _seed("force_reconnect")
    zendesk.store.set_article(1002, "ko", title, body.replace("강제재연결", "강제 재연결", 1))
    out, err = io.StringIO(), io.StringIO()
    code = run_plan(zendesk.settings, out, err, as_json=True, gateway_factory=zendesk.factory())
    assert code == 3
    lines = err.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "drift: force_reconnect: Help Center article 1002 changed since the guide was written ("
    )
    assert '"create": 158' in out.getvalue()  # the plan itself is still printed


def test_reformatting_the_article_is_not_drift(zendesk: Zendesk) -> None:
    title, body = _seed("parking_onsite_payment")
    bold = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", body)
    as_html = "<div>" + bold.replace("\n", "<br>\n") + "</div>"
    zendesk.store.set_article(1001, "ko", title, as_html)
    err = io.StringIO()
    assert run_plan(zendesk.settings, io.StringIO(), err, gateway_factory=zendesk.factory()) == 0
    assert err.getvalue() == ""


def test_unreadable_article_is_a_failure_not_drift(zendesk: Zendesk) -> None:
    settings = zendesk.settings.model_copy(
        update={"article_ids": {"parking_onsite_payment": 1001, "force_reconnect": 9999}}
    )
    err = io.StringIO()
    assert run_plan(settings, io.StringIO(), err, gateway_factory=zendesk.factory()) == 1
    message = err.getvalue()
    assert "drift check: force_reconnect: could not read Help Center article 9999 (ko)" in message
    assert "NotFoundError" in message
    assert "drift:" not in message


def test_guide_without_article_id_is_skipped_with_a_note(zendesk: Zendesk) -> None:
    settings = zendesk.settings.model_copy(update={"article_ids": {"force_reconnect": 1002}})
    err = io.StringIO()
    assert run_plan(settings, io.StringIO(), err, gateway_factory=zendesk.factory()) == 0
    assert "parking_onsite_payment: skipped (no article id configured" in err.getvalue()


@pytest.mark.parametrize("change_body", [True, False])
def test_sync_reports_drift_but_still_writes(zendesk: Zendesk, change_body: bool) -> None:
    if change_body:
        title, _ = _seed("parking_onsite_payment")
        zendesk.store.set_article(1001, "ko", title, "주차권 정책이 바뀌었습니다.")
    out, err = io.StringIO(), io.StringIO()
    code = run_sync_once(zendesk.settings, out, err, gateway_factory=zendesk.factory())
    assert code == (3 if change_body else 0)
    assert ("drift: parking_onsite_payment: Help Center article 1001" in err.getvalue()) is (
        change_body
    )
    assert "macros sync: OK — create 158" in out.getvalue()
