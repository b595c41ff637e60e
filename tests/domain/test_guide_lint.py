"""`guides check` names file, YAML line and a Korean/English message for an editor's mistakes."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from backend.cli import main
from backend.domain.derived import DERIVED
from backend.domain.fields import load_field_catalog
from backend.domain.guide_lint import (
    Finding,
    lint_fields_file,
    lint_guide_file,
    lint_guides,
    lint_labels_file,
    lint_macros,
    read_labels,
)

ROOT = Path(__file__).resolve().parents[2]
GUIDE = "force_reconnect"


def broken_file(tmp_path: Path, relative: str, old: str, new: str) -> tuple[Path, int]:
    """A copy of macros/ whose file `relative` has `old` replaced once by `new`.

    Returns the file and the 1-based line where `new` starts.
    """
    target = tmp_path / "macros"
    if not target.exists():
        shutil.copytree(ROOT / "macros", target)
    path = target / relative
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


def broken_copy(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of macros/ whose force_reconnect guide.yaml has `old` replaced once by `new`."""
    return broken_file(tmp_path, f"{GUIDE}/guide.yaml", old, new)


def lint(path: Path) -> list[Finding]:
    macros = path.parent.parent
    fields = load_field_catalog(macros / "fields.yaml")
    return lint_guide_file(path, fields, DERIVED, read_labels(macros / "labels.yaml"))


def test_real_guides_have_no_finding() -> None:
    macros = ROOT / "macros"
    labels = read_labels(macros / "labels.yaml")
    assert lint_guides(macros, load_field_catalog(macros / "fields.yaml"), DERIVED, labels) == []
    assert lint_macros(macros, DERIVED) == []


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
    "duplicate text key": (
        "      - {key: q1.2.trip_number, kind: reply,",
        "      - {key: q1.2.trip_info, kind: reply,",
        2,  # the text it repeats is two lines up (where `new` is first found)
        "문구 키 'q1.2.trip_info'가 이 분기에서 두 번",
        "text key 'q1.2.trip_info' is used twice in this branch",
    ),
    "duplicate notice id": (
        "  - {id: reconnect_only_once, when: eligible}\n",
        "  - {id: reconnect_only_once, when: eligible}\n"
        "  - {id: reconnect_only_once, when: eligible}\n",
        1,
        "id 'reconnect_only_once'가 notices에 두 번",
        "id 'reconnect_only_once' appears twice in notices",
    ),
    "unknown block label": (
        "  - {id: customer_refused, when: {fact: customer_consent, is: refused}}\n",
        "  - {id: customer_refusd, when: {fact: customer_consent, is: refused}}\n",
        0,
        "'customer_refusd'의 문구가 labels.yaml의 blocks에 없습니다",
        "'customer_refusd' has no wording under blocks in labels.yaml",
    ),
    "unknown notice label": (
        "  - {id: reconnect_only_once, when: eligible}\n",
        "  - {id: reconnect_only_twice, when: eligible}\n",
        0,
        "'reconnect_only_twice'의 문구가 labels.yaml의 notices에 없습니다",
        "'reconnect_only_twice' has no wording under notices in labels.yaml",
    ),
    "unknown notice label on a row": (
        "    notices: [no_insurance_collect_cash]\n",
        "    notices: [no_insurance_collect_money]\n",
        0,
        "'no_insurance_collect_money'의 문구가 labels.yaml의 notices에 없습니다",
        "'no_insurance_collect_money' has no wording under notices",
    ),
    "unknown top-level key": (
        "fields: [call_type,",
        "feilds: [x]\nfields: [call_type,",
        0,
        "알 수 없는 키 'feilds'",
        "unknown key 'feilds' (a typo?)",
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


# (file, old text, new text, line offset of the mistake inside `new`, Korean, English)
CATALOG_MISTAKES = {
    "field with a bad type": (
        "fields.yaml",
        "  identity_verified:\n    type: tristate\n",
        "  identity_verified:\n    type: yesno\n",
        1,
        "'yesno'는 쓸 수 없는 값입니다",
        "'yesno' is not allowed (expected 'tristate', 'dropdown',",
    ),
    "field key not snake_case": (
        "fields.yaml",
        "  identity_verified:\n",
        "  IdentityVerified:\n",
        0,
        "키 'IdentityVerified'는 소문자_밑줄 형식이어야 합니다",
        "key 'IdentityVerified' must be lower_snake_case",
    ),
    "field without its label": (
        "fields.yaml",
        "    label: {ko: 본인확인 완료, en: Identity verified}\n",
        "    # label: left out\n",
        -1,  # the field's mapping starts one line up
        "필수 키 'label'가 없습니다",
        "required key 'label' is missing",
    ),
    "unknown field key": (
        "fields.yaml",
        "    type: tristate\n",
        "    type: tristate\n    zendsk: false\n",
        1,
        "알 수 없는 키 'zendsk'",
        "unknown key 'zendsk' (a typo?)",
    ),
    "dropdown without options": (
        "fields.yaml",
        "  identity_verified:\n    type: tristate\n",
        "  identity_verified:\n    type: dropdown\n",
        1,
        "선택지(options)는 dropdown에만",
        "'identity_verified': options are required for dropdowns and only there",
    ),
    "option code not snake_case": (
        "fields.yaml",
        "      own_vip: {ko:",
        "      Own-VIP: {ko:",
        0,
        "선택지 코드 'Own-VIP'는 소문자_밑줄 형식",
        "option code 'Own-VIP' must be lower_snake_case",
    ),
    "duplicate field": (
        "fields.yaml",
        "  identity_verified:\n    type: tristate\n",
        "  identity_verified:\n    type: tristate\n  identity_verified:\n    type: tristate\n",
        2,
        "키 'identity_verified'가 두 번",
        "key 'identity_verified' appears twice",
    ),
    "label entry missing ko": (
        "labels.yaml",
        '  customer_refused: {ko: "고객이 강제재연결에 동의하지 않았습니다.", en:',
        "  customer_refused: {en:",
        0,
        "필수 키 'ko'가 없습니다",
        "required key 'ko' is missing",
    ),
    "unknown labels section": (
        "labels.yaml",
        "notices:\n",
        "notice:\n",
        0,
        "알 수 없는 키 'notice'",
        "unknown key 'notice' (a typo?)",
    ),
    "label that is not a pair": (
        "labels.yaml",
        '  customer_refused: {ko: "고객이 강제재연결에 동의하지 않았습니다.", en:',
        '  customer_refused: "거절"\n  x_ignored: {ko: "", en:',
        0,
        "'customer_refused'의 형식이 틀렸습니다",
        "wrong type for 'customer_refused'",
    ),
}


@pytest.mark.parametrize("mistake", sorted(CATALOG_MISTAKES))
def test_catalog_mistake_names_file_line_and_both_languages(tmp_path: Path, mistake: str) -> None:
    name, old, new, offset, korean, english = CATALOG_MISTAKES[mistake]
    path, line = broken_file(tmp_path, name, old, new)
    found = lint_fields_file(path) if name == "fields.yaml" else lint_labels_file(path)
    assert found, mistake
    first = found[0]
    assert (first.file, first.line) == (str(path), line + offset), (mistake, first)
    assert korean in first.ko
    assert english in first.en
    assert first in lint_macros(path.parent, DERIVED)


def test_template_syntax_error_names_the_template_and_its_line(tmp_path: Path) -> None:
    path, line = broken_file(
        tmp_path,
        f"{GUIDE}/templates/q1_1_empathy.j2",
        '{% if admin_status != "completed" %}',
        '{% if admin_status != "completed" %}\n{{ reason | or_blank("OOO" }}',
    )
    found = lint(path.parent.parent / "guide.yaml")
    assert [(f.file, f.line) for f in found] == [(str(path), line + 1)]
    assert "템플릿 문법 오류" in found[0].ko
    assert "template syntax error" in found[0].en


def test_guides_check_reports_a_fields_yaml_mistake_with_its_line(tmp_path: Path) -> None:
    path, line = broken_file(
        tmp_path,
        "fields.yaml",
        "  identity_verified:\n    type: tristate\n",
        "  identity_verified:\n    type: yesno\n",
    )
    out, err = io.StringIO(), io.StringIO()
    code = main(["guides", "check", "--guides-dir", str(path.parent)], out=out, err=err)
    assert code == 1
    assert f"guides check: {path}:{line + 1}: 'yesno'는 쓸 수 없는 값입니다" in err.getvalue()
