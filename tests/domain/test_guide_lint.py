"""`guides check` names file, YAML line and a Korean/English message for an editor's mistakes."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from backend.cli import main
from backend.domain.derived import DERIVED
from backend.domain.fields import load_field_catalog
from backend.domain.guide_lint import Finding, lint_guide_file, lint_guides

ROOT = Path(__file__).resolve().parents[2]
GUIDE = "force_reconnect"


def broken_copy(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of macros/ whose force_reconnect guide.yaml has `old` replaced once by `new`.

    Returns the guide file and the 1-based line where `new` starts.
    """
    target = tmp_path / "macros"
    shutil.copytree(ROOT / "macros", target)
    path = target / GUIDE / "guide.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    changed = text.replace(old, new, 1)
    path.write_text(changed, encoding="utf-8")
    line = (
        changed[: changed.index(new)].count("\n")
        + 1
        + new[: len(new) - len(new.lstrip("\n"))].count("\n")
    )
    return path, line


def lint(path: Path) -> list[Finding]:
    fields = load_field_catalog(path.parent.parent / "fields.yaml")
    return lint_guide_file(path, fields, DERIVED)


def test_real_guides_have_no_finding() -> None:
    macros = ROOT / "macros"
    assert lint_guides(macros, load_field_catalog(macros / "fields.yaml"), DERIVED) == []


# (old text, new text, line offset of the mistake inside `new`, Korean words, English words)
MISTAKES = {
    "unknown key": (
        "    branch: reconnect.partner_situation_room\n",
        "    branch: reconnect.partner_situation_room\n    actoin: true\n",
        1,
        "알 수 없는 키 'actoin'",
        "unknown key 'actoin' (a typo?)",
    ),
    "wrong type": (
        "    branch: reconnect.customer_outbound\n    action: true\n",
        "    branch: reconnect.customer_outbound\n    action: sometimes\n",
        1,
        "'action'의 형식이 틀렸습니다",
        "wrong type for 'action'",
    ),
    "wrong literal": (
        "{key: q1.1.empathy, kind: reply,",
        "{key: q1.1.empathy, kind: replay,",
        0,
        "'replay'는 쓸 수 없는 값입니다",
        "'replay' is not allowed (expected 'reply', 'outbound', 'sms' or 'note')",
    ),
    "missing template": (
        "template: q1_1_empathy.j2",
        "template: q1_1_empathy_typo.j2",
        0,
        "템플릿 파일 templates/q1_1_empathy_typo.j2",
        "template file templates/q1_1_empathy_typo.j2 does not exist",
    ),
    "duplicate check id": (
        "  - {id: driver_off_duty, when: {fact: driver_on_duty, is: false}}\n",
        "  - {id: driver_off_duty, when: {fact: driver_on_duty, is: false}}\n"
        "  - {id: driver_off_duty, when: {fact: driver_on_duty, is: false}}\n",
        1,
        "id 'driver_off_duty'가 checks에 두 번",
        "id 'driver_off_duty' appears twice in checks",
    ),
    "duplicate yaml key": (
        '  partner_center_phone: "1644-8830"\n',
        '  partner_center_phone: "1644-8830"\n  partner_center_phone: "1588-0000"\n',
        1,
        "키 'partner_center_phone'가 두 번",
        "key 'partner_center_phone' appears twice (only the last one counts)",
    ),
    "bad condition shape": (
        "  - when: {fact: call_type, in: [partner, delivery_partner]}\n",
        "  - when: {fact: call_type, among: [partner, delivery_partner]}\n",
        0,
        "조건 형식이 잘못되었습니다",
        "bad condition shape: rows.1.when: expected {fact: <name>, <op>: <value>}",
    ),
    "empty all": (
        "  - when: {fact: call_type, in: [partner, delivery_partner]}\n",
        "  - when: {all: []}\n",
        0,
        "조건 형식이 잘못되었습니다",
        "`all` takes a non-empty list",
    ),
    "unknown fact": (
        "        - {fact: trip_started, is: false}\n",
        "        - {fact: trip_startd, is: false}\n",
        0,
        "알 수 없는 사실 'trip_startd'",
        "unknown fact 'trip_startd' (not in fields.yaml nor derived)",
    ),
    "wrong option": (
        "        - {fact: call_type, is: consigned}\n",
        "        - {fact: call_type, is: consignd}\n",
        0,
        "'consignd'는 'call_type'의 선택지가 아닙니다",
        "'consignd' is not an option of 'call_type' (options: ",
    ),
    "yes/no written as text": (
        "      - {id: identity_not_verified, when: {fact: identity_verified, is: false}}\n",
        '      - {id: identity_not_verified, when: {fact: identity_verified, is: "false"}}\n',
        0,
        "'identity_verified'는 예/아니오 값입니다",
        "'identity_verified' is yes/no: write true or false, not 'false'",
    ),
    "branch without entry": (
        "    branch: reconnect.partner_situation_room\n",
        "    branch: reconnect.partner_situation_rooom\n",
        0,
        "분기 'reconnect.partner_situation_rooom'가 branches에 없습니다",
        "branch 'reconnect.partner_situation_rooom' has no entry under branches",
    ),
    "unknown fact to collect": (
        "    collect: [customer_presence, reason]\n",
        "    collect: [customer_presense, reason]\n",
        0,
        "알 수 없는 사실 'customer_presense'",
        "unknown fact 'customer_presense'",
    ),
    "yaml syntax": (
        "    collect: [customer_presence, reason]\n",
        "    collect: [customer_presence, reason\n",
        2,  # YAML sees the missing `]` at the next token it reads
        "YAML 문법 오류",
        "YAML syntax error",
    ),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_mistake_names_file_line_and_both_languages(tmp_path: Path, mistake: str) -> None:
    old, new, offset, korean, english = MISTAKES[mistake]
    path, line = broken_copy(tmp_path, old, new)
    found = lint(path)
    assert found, mistake
    first = found[0]
    assert first.file == str(path)
    assert first.line == line + offset, (mistake, first)
    assert korean in first.ko
    assert english in first.en


def test_missing_required_key_points_at_the_mapping(tmp_path: Path) -> None:
    path, _ = broken_copy(tmp_path, 'title: "[채팅] 강제재연결 요청"\n', "")
    [finding] = lint(path)
    assert (finding.line, finding.ko, finding.en) == (
        2,
        "필수 키 'title'가 없습니다",
        "required key 'title' is missing",
    )


def test_guides_check_prints_file_and_line(tmp_path: Path) -> None:
    path, line = broken_copy(
        tmp_path,
        "        - {fact: call_type, is: consigned}\n",
        "        - {fact: call_type, is: consignd}\n",
    )
    shutil.rmtree(path.parent.parent / "parking_onsite_payment")  # its proof is slow
    out, err = io.StringIO(), io.StringIO()
    code = main(["guides", "check", "--guides-dir", str(path.parent.parent)], out=out, err=err)
    assert code == 1
    assert (
        f"guides check: {path}:{line}: 'consignd'는 'call_type'의 선택지가 아닙니다"
        in err.getvalue()
    )
    assert "problem(s))" in err.getvalue()
