"""`make audit`: pip-audit over the installed (pinned) dependencies, failing closed.

`make audit` fails on any known vulnerability that `audit-ignore.toml` does not accept,
and equally when it could not audit: pip-audit unreachable or crashed, its report
unreadable, no package audited, or any package left unaudited ("not found on PyPI" is
what pip-audit says when PyPI's per-version JSON API cannot be reached). Only
GUIDEPOST_AUDIT_OFFLINE=1 lets an audit that could not run pass, and then it says so
in a loud banner.

`make test` runs `--if-reachable`: the same strict audit when the vulnerability
service answers a probe, a loud skip when it does not (tests never depend on the
network). The offline checks run in both: the venv's pip and setuptools are at least
the Makefile's pins, and every accepted vulnerability has a reason and a review date
that has not passed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
IGNORE_FILE = ROOT / "audit-ignore.toml"
OFFLINE_VARIABLE = "GUIDEPOST_AUDIT_OFFLINE"
# The project itself is installed editable: pip-audit skips it by design.
OWN_DISTRIBUTION = "guidepost"
EDITABLE_SKIP = "distribution marked as editable"
# pip-audit's default service: PyPI's per-version JSON API (the probe asks for pip's).
PROBE_URL = "https://pypi.org/pypi/{name}/{version}/json"
PROBE_TIMEOUT_SECONDS = 5.0
EXIT_OK = 0
EXIT_FAILED = 1

Probe = Callable[[], str | None]


@dataclass
class AuditResult:
    """What an audit found and the lines it prints; `failed` decides the exit code."""

    lines: list[str] = field(default_factory=list)
    failed: bool = False
    vulnerable: int = 0
    # "audited", "skipped" (make test, offline) or "excused" (GUIDEPOST_AUDIT_OFFLINE=1).
    status: str = "audited"

    def fail(self, line: str) -> None:
        """Record a reason to fail."""
        self.lines.append(f"audit: FAILED: {line}")
        self.failed = True

    def say(self, line: str) -> None:
        """Record a line for people."""
        self.lines.append(f"audit: {line}")


def banner(text: str) -> list[str]:
    """A line nobody scrolling past a build log can miss."""
    rule = "!" * 78
    return [rule, f"!!! {text}", rule]


def read_ignore_entries(path: Path = IGNORE_FILE) -> list[dict[str, Any]]:
    """The accepted vulnerabilities of audit-ignore.toml (`[[ignore]]` tables)."""
    if not path.is_file():
        return []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    entries = data.get("ignore", [])
    return [entry for entry in entries if isinstance(entry, dict)]


def read_ignored(path: Path = IGNORE_FILE) -> dict[str, str]:
    """Vulnerability ids we accept, each with the reason (audit-ignore.toml)."""
    return {
        str(entry.get("id")): str(entry.get("reason", "")) for entry in read_ignore_entries(path)
    }


def check_ignores(entries: Sequence[Mapping[str, Any]], today: datetime) -> list[str]:
    """Problems of the accepted list: an entry without id, reason or a live review date."""
    problems = []
    for entry in entries:
        ident = str(entry.get("id") or "").strip()
        if not ident:
            problems.append(f"audit-ignore.toml: an entry has no id: {dict(entry)}")
            continue
        if not str(entry.get("reason") or "").strip():
            problems.append(f"audit-ignore.toml: {ident} has no reason")
        review = str(entry.get("review") or "").strip()
        try:
            due = datetime.strptime(review, "%Y-%m").replace(tzinfo=UTC)
        except ValueError:
            problems.append(f"audit-ignore.toml: {ident}: review must be YYYY-MM, got {review!r}")
            continue
        if (due.year, due.month) < (today.year, today.month):
            problems.append(f"audit-ignore.toml: {ident}: review date {review} has passed")
    return problems


def _version_tuple(text: str) -> tuple[int, ...]:
    """The numeric release of a version ("84.2.1" → (84, 2, 1)); letters end it."""
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit()) if piece[:1].isdigit() else ""
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def check_pins(requires: Sequence[str], installed: Callable[[str], str | None]) -> list[str]:
    """Problems of the venv's own tools: missing, or older than the Makefile's pin."""
    problems = []
    for requirement in requires:
        name, _, wanted = requirement.partition("==")
        have = installed(name)
        if have is None:
            problems.append(f"{name} is not installed in the venv (want {wanted})")
        elif _version_tuple(have) < _version_tuple(wanted):
            problems.append(f"{name} {have} in the venv is older than the pinned {wanted}")
    return problems


def installed_version(name: str) -> str | None:
    """The installed version of a distribution, or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def evaluate(
    stdout: str,
    returncode: int,
    stderr: str,
    ignored: Mapping[str, str],
) -> AuditResult:
    """Judge one pip-audit run (JSON output): fail on vulnerabilities and on anything unaudited."""
    result = AuditResult()
    try:
        report = json.loads(stdout) if stdout.strip() else None
    except json.JSONDecodeError:
        report = None
    dependencies = report.get("dependencies") if isinstance(report, dict) else None
    if not isinstance(dependencies, list):
        last = stderr.strip().splitlines()[-1:] or ["no output"]
        result.fail(f"pip-audit gave no report (exit {returncode}): {last[0][:300]}")
        return result
    vulnerable = [d for d in dependencies if isinstance(d, dict) and d.get("vulns")]
    skipped = [
        d
        for d in dependencies
        if isinstance(d, dict)
        and d.get("skip_reason")
        and not (d.get("name") == OWN_DISTRIBUTION and d.get("skip_reason") == EDITABLE_SKIP)
    ]
    own = sum(1 for d in dependencies if isinstance(d, dict) and d.get("name") == OWN_DISTRIBUTION)
    audited = len(dependencies) - len(skipped) - own
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no release"
            result.say(f"{dep['name']} {dep.get('version', '?')}: {vuln['id']} (fixed in {fixed})")
    result.say(
        f"{audited} of {len(dependencies) - own} package(s) audited, {len(vulnerable)} "
        f"vulnerable, {len(skipped)} not audited, {len(ignored)} accepted in audit-ignore.toml"
    )
    result.vulnerable = len(vulnerable)
    if vulnerable:
        result.fail(f"{len(vulnerable)} package(s) with known vulnerabilities")
    if audited == 0:
        result.fail("no package was audited (is the vulnerability service reachable?)")
    elif skipped:
        names = ", ".join(sorted(str(d.get("name")) for d in skipped)[:10])
        result.fail(f"{len(skipped)} package(s) could not be audited: {names}")
    if returncode not in (0, 1):
        result.fail(f"pip-audit exited {returncode}")
    return result


def run_pip_audit(ignored: Mapping[str, str]) -> tuple[str, int, str]:
    """Run pip-audit over the venv (JSON); return stdout, exit code, stderr."""
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--local",
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--skip-editable",
    ]
    for vuln_id in ignored:
        command += ["--ignore-vuln", vuln_id]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", -1, f"{type(exc).__name__}: {exc}"
    return done.stdout, done.returncode, done.stderr


def probe_service(timeout: float = PROBE_TIMEOUT_SECONDS) -> str | None:
    """Ask the vulnerability service for one record; None when it answers, else why not."""
    url = PROBE_URL.format(name="pip", version=installed_version("pip") or "0")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            json.loads(response.read(2_000_000))
    except Exception as exc:  # any failure means "not reachable from here"
        return f"{type(exc).__name__}: {exc}"
    return None


def audit(
    *,
    if_reachable: bool,
    requires: Sequence[str],
    environ: Mapping[str, str],
    probe: Probe = probe_service,
    pip_audit: Callable[[Mapping[str, str]], tuple[str, int, str]] = run_pip_audit,
    installed: Callable[[str], str | None] = installed_version,
    ignore_entries: Sequence[Mapping[str, Any]] | None = None,
    today: datetime | None = None,
) -> AuditResult:
    """The whole audit: offline checks, then pip-audit (or a loud skip when allowed)."""
    result = AuditResult()
    entries = read_ignore_entries() if ignore_entries is None else ignore_entries
    for problem in check_ignores(entries, today or datetime.now(UTC)):
        result.fail(problem)
    for problem in check_pins(requires, installed):
        result.fail(problem)
    ignored = {str(entry.get("id")): str(entry.get("reason", "")) for entry in entries}
    offline_allowed = environ.get(OFFLINE_VARIABLE) == "1"
    if if_reachable:
        unreachable = probe()
        if unreachable is not None:
            result.lines += banner(
                "AUDIT SKIPPED in `make test`: the vulnerability service is unreachable "
                f"({unreachable[:120]}). Dependencies were NOT audited; run `make audit` "
                "where it is reachable."
            )
            result.status = "skipped"
            return result
    ran = evaluate(*pip_audit(ignored), ignored)
    result.lines += ran.lines
    # Offline may excuse "could not audit", never a vulnerability found.
    if ran.failed and offline_allowed and not ran.vulnerable:
        result.lines += banner(
            f"AUDIT NOT DONE: {OFFLINE_VARIABLE}=1 lets `make audit` pass although "
            "dependencies could not be audited. Do not ship on this."
        )
        result.status = "excused"
        return result
    result.failed = result.failed or ran.failed
    return result


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    probe: Probe = probe_service,
    pip_audit: Callable[[Mapping[str, str]], tuple[str, int, str]] = run_pip_audit,
) -> int:
    """`python -m tooling.audit [--if-reachable] [--require NAME==VERSION ...]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--if-reachable", action="store_true")
    parser.add_argument("--require", action="append", default=[], metavar="NAME==VERSION")
    args = parser.parse_args(argv)
    result = audit(
        if_reachable=args.if_reachable,
        requires=args.require,
        environ=os.environ if environ is None else environ,
        probe=probe,
        pip_audit=pip_audit,
    )
    for line in result.lines:
        print(line)
    if result.failed:
        print("audit: FAILED")
    elif result.status == "audited":
        print("audit: OK")
    else:
        print(f"audit: OK WITHOUT AUDITING ({result.status}; the offline checks passed)")
    return EXIT_FAILED if result.failed else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
