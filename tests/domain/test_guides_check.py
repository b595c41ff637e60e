"""`guidepost guides check` — the real guide data passes; broken copies fail loudly.

Broken copies are made in tmp_path from macros/ with only the guide they break (the
parking proof walks ~254k paths and is slow; an id problem stops it before it starts).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from macros_copies import edit_yaml, macros_copy
from spec_ids import SPEC_BLOCKS, SPEC_BRANCHES, SPEC_NOTICES

from backend.cli import main
from backend.domain.check import check_guides

ROOT = Path(__file__).resolve().parents[2]


# --- the real data --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_check(catalog) -> tuple[list[str], list[str]]:
    """check_guides over the repo's guides, once (it walks every decision path)."""
    return check_guides(catalog)


def test_real_guides_have_no_problem(real_check):
    problems, _report = real_check
    assert problems == []


@pytest.mark.parametrize("guide", sorted(SPEC_BRANCHES))
def test_real_guides_reach_every_spec_id(real_check, guide):
    _problems, report = real_check
    (line,) = [line for line in report if line.startswith(f"{guide}:")]
    branches, blocks, notices = (
        len(SPEC_BRANCHES[guide]),
        len(SPEC_BLOCKS[guide]),
        len(SPEC_NOTICES[guide]),
    )
    assert "all total" in line
    assert f"{branches}/{branches} branches" in line
    assert f"{blocks}/{blocks} blocks" in line
    assert f"{notices}/{notices} notices" in line


@pytest.mark.parametrize("guide", sorted(SPEC_BRANCHES))
def test_guide_data_uses_exactly_the_spec_ids(catalog, guide):
    data = catalog.guide(guide)
    assert set(data.branch_ids()) == SPEC_BRANCHES[guide]
    assert set(data.branches) == SPEC_BRANCHES[guide]
    assert set(data.block_ids()) == SPEC_BLOCKS[guide]
    assert set(data.notice_ids()) == SPEC_NOTICES[guide]


def test_every_spec_block_and_notice_has_a_korean_label(catalog):
    blocks = set().union(*SPEC_BLOCKS.values())
    notices = set().union(*SPEC_NOTICES.values()) | {"guide_suggested_set_consult_type"}
    assert blocks <= set(catalog.labels["blocks"])
    assert notices <= set(catalog.labels["notices"])
    for label in [*catalog.labels["blocks"].values(), *catalog.labels["notices"].values()]:
        assert any("\uac00" <= ch <= "\ud7a3" for ch in label.ko)


# --- broken copies ----------------------------------------------------------------------------


def guides_check(guides_dir: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["guides", "check", "--guides-dir", str(guides_dir)], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def rows_by_branch(data: dict[str, Any], branch: str) -> list[int]:
    return [i for i, row in enumerate(data["rows"]) if row["branch"] == branch]


def test_unbroken_force_reconnect_copy_passes(tmp_path):
    code, out, err = guides_check(macros_copy(tmp_path))
    assert (code, err.split(" took ")[0]) == (0, "guides check:")  # only its elapsed time
    assert "guides check: OK" in out
    assert "12/12 branches" in out


def test_deleted_row_makes_the_table_not_total(tmp_path):
    macros = macros_copy(tmp_path)

    def drop_ask_presence(data: Any) -> None:
        (index,) = rows_by_branch(data, "reconnect.ask_presence")
        del data["rows"][index]

    edit_yaml(macros / "force_reconnect" / "guide.yaml", drop_ask_presence)
    code, out, err = guides_check(macros)
    assert code == 1
    assert "guides check: OK" not in out
    assert "force_reconnect" in err
    assert "not total" in err


def test_shadowed_row_makes_its_branch_unreachable(tmp_path):
    macros = macros_copy(tmp_path)

    def consigned_row_catches_all(data: Any) -> None:
        # Row 3 loses its trip_started part: rows 4 and 5 can never hit.
        index = rows_by_branch(data, "reconnect.consigned_not_started")[0]
        data["rows"][index]["when"] = {"fact": "call_type", "is": "consigned"}

    edit_yaml(macros / "force_reconnect" / "guide.yaml", consigned_row_catches_all)
    code, out, err = guides_check(macros)
    assert code == 1
    assert "guides check: OK" not in out
    assert (
        "guides check: force_reconnect: branch reconnect.consigned_already_driven is unreachable"
        in err.splitlines()
    )
    assert err.rstrip().endswith("problem(s))")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        pytest.param(
            lambda d: (
                d["rows"].pop(rows_by_branch(d, "reconnect.partner_situation_room")[0]),
                d["branches"].pop("reconnect.partner_situation_room"),
            ),
            # The guide stays consistent; its block's label is left declared and unused.
            "partner_call_use_situation_room",
            id="row2-and-its-branch-deleted",
        ),
        pytest.param(
            lambda d: d["rows"].pop(rows_by_branch(d, "reconnect.partner_situation_room")[0]),
            "reconnect.partner_situation_room",
            id="row2-deleted-branch-entry-kept",
        ),
        pytest.param(
            lambda d: d.update(checks=[c for c in d["checks"] if c["id"] != "driver_off_duty"]),
            "driver_off_duty",
            id="check-deleted",
        ),
        pytest.param(
            lambda d: d.update(
                notices=[n for n in d["notices"] if n["id"] != "reconnect_only_once"]
            ),
            "reconnect_only_once",
            id="notice-deleted",
        ),
    ],
)
def test_dropping_a_spec_id_fails(tmp_path, change, named):
    macros = macros_copy(tmp_path)
    edit_yaml(macros / "force_reconnect" / "guide.yaml", change)
    code, out, err = guides_check(macros)
    assert code == 1
    assert "guides check: OK" not in out
    problem = [line for line in err.splitlines() if named in line]
    assert problem
    assert any(word in problem[0] for word in ("unreachable", "missing", "not in the data"))


def test_renamed_block_is_not_declared(tmp_path):
    macros = macros_copy(tmp_path)

    def rename(data: Any) -> None:
        index = rows_by_branch(data, "reconnect.partner_situation_room")[0]
        data["rows"][index]["blocks"][0]["id"] = "partner_call_situation_room"

    edit_yaml(macros / "force_reconnect" / "guide.yaml", rename)
    code, out, err = guides_check(macros)
    assert code == 1
    assert "guides check: OK" not in out
    lines = err.splitlines()
    assert (
        "guides check: force_reconnect: block 'partner_call_situation_room' has no label in "
        "labels.yaml" in lines
    )
    assert (
        "guides check: labels.yaml: block 'partner_call_use_situation_room' is declared but not "
        "in the data (no guide uses it)" in lines
    )


def test_renamed_parking_notice_is_not_declared(tmp_path):
    # An id problem stops the (slow) parking proof before it starts.
    macros = macros_copy(tmp_path, keep="parking_onsite_payment")

    def rename(data: Any) -> None:
        index = rows_by_branch(data, "parking.offer_t_points")[0]
        data["rows"][index]["notices"] = ["operator_not_cancellable"]

    edit_yaml(macros / "parking_onsite_payment" / "guide.yaml", rename)
    code, out, err = guides_check(macros)
    assert code == 1
    assert "guides check: OK" not in out
    assert (
        "guides check: parking_onsite_payment: notice 'operator_not_cancellable' has no label "
        "in labels.yaml" in err.splitlines()
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            lambda d: d["checks"][[c["id"] for c in d["checks"]].index("customer_refused")].update(
                when={
                    "all": [
                        {"fact": "customer_consent", "is": "refused"},
                        {"fact": "customer_consent", "is": "agreed"},
                    ]
                }
            ),
            "guides check: force_reconnect: check customer_refused is never produced",
            id="impossible-check",
        ),
        pytest.param(
            lambda d: d["rows"][rows_by_branch(d, "reconnect.verify_identity")[0]]["blocks"][
                0
            ].update(when={"fact": "identity_verified", "is": True}),
            "guides check: force_reconnect: block identity_not_verified on "
            "reconnect.verify_identity is never produced",
            id="impossible-row-block",
        ),
    ],
)
def test_block_that_can_never_be_produced(tmp_path, change, message):
    macros = macros_copy(tmp_path)
    edit_yaml(macros / "force_reconnect" / "guide.yaml", change)
    code, out, err = guides_check(macros)
    assert code == 1
    assert "guides check: OK" not in out
    assert message in err.splitlines()


def test_missing_template_file(tmp_path):
    macros = macros_copy(tmp_path)
    (macros / "force_reconnect" / "templates" / "q1_4_call_back.j2").unlink()
    code, out, err = guides_check(macros)
    assert code == 1
    assert "guides check: OK" not in out
    assert (
        "guides check: force_reconnect/reconnect.call_back_when_together/q1.4.call_back: "
        "no template q1_4_call_back.j2" in err.splitlines()
    )


def test_template_with_an_undefined_variable(tmp_path):
    macros = macros_copy(tmp_path)
    template = macros / "force_reconnect" / "templates" / "q1_4_call_back.j2"
    template.write_text(
        template.read_text(encoding="utf-8") + "\n{{ no_such_variable }}\n", encoding="utf-8"
    )
    code, out, err = guides_check(macros)
    assert code == 1
    assert "guides check: OK" not in out
    problems = [line for line in err.splitlines() if "no_such_variable" in line]
    assert problems
    assert all("q1_4_call_back.j2" in line and "undefined" in line for line in problems)


def test_block_without_a_label(tmp_path):
    macros = macros_copy(tmp_path)
    edit_yaml(macros / "labels.yaml", lambda d: d["blocks"].pop("wait_until_together"))
    code, out, err = guides_check(macros)
    assert code == 1
    assert "guides check: OK" not in out
    assert (
        "guides check: force_reconnect: block 'wait_until_together' has no label in labels.yaml"
        in err.splitlines()
    )


def test_unreadable_guide_yaml_fails_with_the_file_named(tmp_path):
    macros = macros_copy(tmp_path)
    path = macros / "force_reconnect" / "guide.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n  : [unclosed\n", encoding="utf-8")
    code, out, err = guides_check(macros)
    assert (code, out) == (1, "")
    assert err.startswith("guides check:")
    assert "guide.yaml" in err


def test_placeholder_settings_are_reported(catalog):
    """ERRATA 2: "A setting still at a placeholder (상황실 000-0000-0000, example URLs) is
    flagged by `guides check`" — reported, not a failure: texts show 설정 필요."""
    from backend.domain.check import placeholder_settings

    assert placeholder_settings(catalog.guide("force_reconnect")) == [
        "situation_room_phone='000-0000-0000'"
    ]
    assert placeholder_settings(catalog.guide("parking_onsite_payment")) == []


def test_cli_reports_the_placeholder_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("GUIDEPOST_ADMIN_CALL_URL", "https://admin.example/calls/{call_id}")
    code, out, _err = guides_check(macros_copy(tmp_path))
    assert code == 0
    assert "setting force_reconnect.situation_room_phone='000-0000-0000' is a placeholder" in out
    assert "setting GUIDEPOST_ADMIN_CALL_URL=" in out
