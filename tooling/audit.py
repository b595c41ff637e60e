"""`make audit`: pip-audit over the installed (pinned) dependencies.

Fails on any known vulnerability not in `audit-ignore.toml`. When the vulnerability
service cannot be reached (this workplace's CI reaches PyPI's package index but not
its per-version JSON API), it says so plainly and passes, unless
GUIDEPOST_AUDIT_STRICT=1 makes "could not audit" a failure too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORE_FILE = ROOT / "audit-ignore.toml"


def read_ignored() -> dict[str, str]:
    """Vulnerability ids we accept, each with the reason (audit-ignore.toml)."""
    if not IGNORE_FILE.is_file():
        return {}
    data = tomllib.loads(IGNORE_FILE.read_text(encoding="utf-8"))
    return {str(item["id"]): str(item["reason"]) for item in data.get("ignore", [])}


def run_audit() -> int:
    """Run pip-audit, print a summary, return the exit code."""
    ignored = read_ignored()
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
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
    try:
        report = json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        report = {}
    dependencies = report.get("dependencies", [])
    if not dependencies:
        print(
            f"audit: pip-audit gave no report (exit {result.returncode}): "
            f"{result.stderr.strip().splitlines()[-1:]}"
        )
        return 1 if os.environ.get("GUIDEPOST_AUDIT_STRICT") == "1" else 0
    vulnerable = [d for d in dependencies if d.get("vulns")]
    unaudited = [d["name"] for d in dependencies if d.get("skip_reason")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            print(
                f"audit: {dep['name']} {dep['version']}: {vuln['id']} "
                f"(fixed in {', '.join(vuln.get('fix_versions', [])) or 'no release'})"
            )
    print(
        f"audit: {len(dependencies) - len(unaudited)} audited, {len(vulnerable)} vulnerable, "
        f"{len(unaudited)} not auditable here, {len(ignored)} ignored by audit-ignore.toml"
    )
    if vulnerable:
        return 1
    if unaudited and os.environ.get("GUIDEPOST_AUDIT_STRICT") == "1":
        print("audit: GUIDEPOST_AUDIT_STRICT=1 and some packages could not be audited")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(run_audit())
