"""The dependency audit fails closed: fake pip-audit reports, a fake probe, no network."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from tooling import audit as audit_module
from tooling.audit import AuditResult, audit, check_ignores, check_pins, evaluate, main

TODAY = datetime(2026, 11, 30, tzinfo=UTC)
PINS = ("pip==26.3", "setuptools==84.2.1")
CURRENT = {"pip": "26.3", "setuptools": "84.2.1"}
OWN = {"name": "guidepost", "skip_reason": "distribution marked as editable"}


def _dep(name: str, vulns: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An audited dependency as pip-audit's JSON lists it."""
    return {"name": name, "version": "1.0", "vulns": vulns or []}


def _skipped(name: str) -> dict[str, Any]:
    """A dependency pip-audit could not look up."""
    return {
        "name": name,
        "skip_reason": f"Dependency not found on PyPI and could not be audited: {name} (1.0)",
    }


def _report(*deps: dict[str, Any]) -> str:
    """pip-audit's JSON output."""
    return json.dumps({"dependencies": [OWN, *deps], "fixes": []})


VULN = {"id": "GHSA-aaaa-bbbb-cccc", "fix_versions": ["1.1"], "aliases": [], "description": ""}


def _run(
    stdout: str,
    *,
    code: int = 0,
    if_reachable: bool = False,
    probe: str | None = None,
    environ: Mapping[str, str] | None = None,
    installed: Mapping[str, str] = CURRENT,
    entries: list[dict[str, Any]] | None = None,
) -> AuditResult:
    """One audit with everything outside faked."""
    calls: list[Mapping[str, str]] = []

    def fake_pip_audit(ignored: Mapping[str, str]) -> tuple[str, int, str]:
        calls.append(ignored)
        return stdout, code, "some stderr line"

    result = audit(
        if_reachable=if_reachable,
        requires=PINS,
        environ=environ or {},
        probe=lambda: probe,
        pip_audit=fake_pip_audit,
        installed=installed.get,
        ignore_entries=entries or [],
        today=TODAY,
    )
    if if_reachable and probe is not None:
        assert calls == []  # skipped: pip-audit never ran
    return result


def test_all_audited_and_clean_passes() -> None:
    result = _run(_report(_dep("fastapi"), _dep("zenpy")))
    assert (result.failed, result.status) == (False, "audited")
    assert "2 of 2 package(s) audited, 0 vulnerable, 0 not audited" in "\n".join(result.lines)


@pytest.mark.parametrize(
    ("stdout", "code", "why"),
    [
        (_report(*[_skipped(f"p{i}") for i in range(88)]), 0, "no package was audited"),
        (_report(), 0, "no package was audited"),
        (
            _report(_dep("fastapi"), _skipped("zenpy")),
            0,
            "1 package(s) could not be audited: zenpy",
        ),
        ("", 1, "pip-audit gave no report"),
        ("Traceback (most recent call last): ConnectionError", 1, "pip-audit gave no report"),
        ('{"unexpected": true}', 0, "pip-audit gave no report"),
        (_report(_dep("fastapi")), 2, "pip-audit exited 2"),
        (_report(_dep("fastapi", [VULN])), 1, "known vulnerabilities"),
    ],
)
def test_anything_unaudited_or_vulnerable_fails(stdout: str, code: int, why: str) -> None:
    result = _run(stdout, code=code)
    assert result.failed
    assert any(why in line for line in result.lines), result.lines


def test_offline_variable_excuses_an_audit_that_could_not_run_loudly() -> None:
    result = _run(_report(_skipped("fastapi")), environ={"GUIDEPOST_AUDIT_OFFLINE": "1"})
    assert (result.failed, result.status) == (False, "excused")
    assert any(line.startswith("!!! AUDIT NOT DONE") for line in result.lines)
    # It is "1" or nothing: other values do not excuse.
    assert _run(_report(_skipped("fastapi")), environ={"GUIDEPOST_AUDIT_OFFLINE": "yes"}).failed


def test_offline_variable_never_excuses_a_vulnerability() -> None:
    stdout = _report(_dep("fastapi", [VULN]), _skipped("zenpy"))
    assert _run(stdout, code=1, environ={"GUIDEPOST_AUDIT_OFFLINE": "1"}).failed


def test_make_test_skips_loudly_when_the_service_is_unreachable() -> None:
    result = _run("never read", if_reachable=True, probe="URLError: no route")
    assert (result.failed, result.status) == (False, "skipped")
    assert any("AUDIT SKIPPED" in line and "no route" in line for line in result.lines)


def test_make_test_audits_strictly_when_the_service_answers() -> None:
    assert _run(_report(_skipped("fastapi")), if_reachable=True, probe=None).failed
    assert not _run(_report(_dep("fastapi")), if_reachable=True, probe=None).failed


def test_offline_checks_fail_even_when_the_audit_is_skipped() -> None:
    old = {"pip": "23.2.1", "setuptools": "65.5.0"}
    result = _run("never read", if_reachable=True, probe="down", installed=old)
    assert result.failed
    assert any(
        "setuptools 65.5.0 in the venv is older than the pinned 84.2.1" in line
        for line in result.lines
    )


def test_pins_compare_releases_not_strings() -> None:
    assert check_pins(["pip==26.3"], {"pip": "26.10"}.get) == []
    assert check_pins(["pip==26.3"], {"pip": "26.3.1"}.get) == []
    assert check_pins(["pip==26.3"], {"pip": "9.0"}.get) == [
        "pip 9.0 in the venv is older than the pinned 26.3"
    ]
    assert check_pins(["pip==26.3"], {}.get) == ["pip is not installed in the venv (want 26.3)"]


def test_accepted_vulnerabilities_need_a_reason_and_a_live_review_date() -> None:
    entries = [
        {"id": "GHSA-1", "reason": "not reachable from Guidepost", "review": "2027-01"},
        {"id": "GHSA-2", "reason": "", "review": "2027-01"},
        {"id": "GHSA-3", "reason": "old", "review": "2026-10"},
        {"id": "GHSA-4", "reason": "no date"},
        {"reason": "no id"},
    ]
    problems = check_ignores(entries, TODAY)
    assert len(problems) == 4
    assert "GHSA-2 has no reason" in problems[0]
    assert "GHSA-3: review date 2026-10 has passed" in problems[1]
    assert "GHSA-4: review must be YYYY-MM" in problems[2]
    assert "has no id" in problems[3]
    accepted = _run(
        _report(_dep("fastapi")),
        entries=[{"id": "GHSA-1", "reason": "r", "review": "2026-11"}],
    )
    assert not accepted.failed


def test_accepted_ids_reach_pip_audit() -> None:
    seen: list[Mapping[str, str]] = []

    def fake(ignored: Mapping[str, str]) -> tuple[str, int, str]:
        seen.append(ignored)
        return _report(_dep("fastapi")), 0, ""

    audit(
        if_reachable=False,
        requires=(),
        environ={},
        pip_audit=fake,
        ignore_entries=[{"id": "GHSA-1", "reason": "r", "review": "2027-01"}],
        today=TODAY,
    )
    assert seen == [{"GHSA-1": "r"}]


def test_main_prints_and_exits_by_the_result(capsys: pytest.CaptureFixture[str]) -> None:
    def offline() -> str:
        return "offline in tests"

    def no_report(ignored: Mapping[str, str]) -> tuple[str, int, str]:
        return "", 1, "no network"

    fakes: dict[str, Any] = {"environ": {}, "probe": offline, "pip_audit": no_report}
    assert main(["--if-reachable"], **fakes) == 0
    assert "OK WITHOUT AUDITING (skipped" in capsys.readouterr().out
    assert main([], **fakes) == 1
    assert capsys.readouterr().out.rstrip().endswith("audit: FAILED")
    excused = {**fakes, "environ": {"GUIDEPOST_AUDIT_OFFLINE": "1"}}
    assert main([], **excused) == 0  # e.g. OSV unreachable: pip-audit crashes, no report
    assert "AUDIT NOT DONE" in capsys.readouterr().out


def test_repo_ignore_file_passes_its_own_checks() -> None:
    assert check_ignores(audit_module.read_ignore_entries(), TODAY) == []


def test_evaluate_counts_the_project_itself_out() -> None:
    result = evaluate(_report(_dep("a"), _dep("b")), 0, "", {})
    assert "2 of 2 package(s) audited" in result.lines[0]
