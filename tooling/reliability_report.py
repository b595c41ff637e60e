"""`docs/RELIABILITY.md`: the reliability and security figures of a published suite run.

The reliability tests (`tests/reliability/`) record their figures in
`test-artifacts/reliability.json`; at the end of the pytest session the suite calls
`write_report`, which renders them into `test-artifacts/RELIABILITY.md` (ignored: a test
run never rewrites a tracked file). `python -m tooling.reliability_report --publish`
(`make reliability-report`) copies the last run's figures to `docs/reliability.json` and
renders `docs/RELIABILITY.md` from them; tests/layout proves the committed document is
exactly what this generator writes for the committed figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIGURES_PATH = ROOT / "test-artifacts" / "reliability.json"
REPORT_PATH = ROOT / "test-artifacts" / "RELIABILITY.md"
PUBLISHED_FIGURES = ROOT / "docs" / "reliability.json"
PUBLISHED_REPORT = ROOT / "docs" / "RELIABILITY.md"
AUDIT_IGNORE = ROOT / "audit-ignore.toml"


@dataclass(frozen=True)
class Item:
    """One item of the reliability issue: its id in the JSON, title, method and figures."""

    key: str
    title: str
    test: str
    method: str
    # Figure key → label, in display order; keys not listed here follow, labelled by key.
    labels: tuple[tuple[str, str], ...]
    # The figure key that summarises the item in the overview table.
    headline: str = ""
    # The figure that must be 0 (shown in the overview's failures column).
    failure_key: str = ""


ITEMS: tuple[Item, ...] = (
    Item(
        "api_fuzz",
        "1. API fuzzing",
        "tests/reliability/test_api_fuzz.py",
        "Schemathesis generates positive and negative requests for every operation of the "
        "backend's own OpenAPI document and sends them with a valid JWT to the real backend "
        "(uvicorn) in front of the Zendesk emulator seeded with the demo tickets. About 70 % "
        "of the positive ticket requests go to demo tickets (the rest keep random ids), and "
        "half of those applies carry the ticket's real branch and `updated_at`, so the "
        "write path runs too. Every response must pass `not_a_server_error`, "
        "`status_code_conformance`, `content_type_conformance`, "
        "`response_schema_conformance`, `response_headers_conformance` and "
        "`negative_data_rejection`. Bodies no generator writes (100,000-deep nesting, "
        "5,000-digit numbers, NaN, invalid UTF-8, lone surrogates) are sent as well and must "
        "not get a 5xx. `GUIDEPOST_LONG=1` runs 20,000 requests (outside `make test`).",
        (
            ("requests", "requests tried"),
            ("positive", "positive (valid) requests"),
            ("negative", "negative (invalid) requests"),
            ("demo_ticket_requests", "requests on demo tickets"),
            ("operations", "operations covered"),
            ("server_errors", "5xx answers"),
            ("check_failures", "check failures (schema violations included)"),
            ("known_discrepancies", "accepted undocumented input (known findings, strict xfail)"),
            ("statuses", "answers by status"),
            ("seconds", "duration (s)"),
            ("mode", "run"),
        ),
        headline="requests",
        failure_key="server_errors",
    ),
    Item(
        "explain_fuzz",
        "2. Input fuzzing (`guidepost explain`)",
        "tests/reliability/test_explain_fuzz.py",
        "Hypothesis feeds `guidepost explain` (the CLI entry point, in process) arbitrary "
        "JSON, semantic and Zendesk-shaped inputs whose values are Korean text, emoji, "
        "control characters, huge strings, NaN/Infinity, huge integers and wrong types, plus "
        "text that is not JSON at all. Every run must end with exit 0 and a decision JSON "
        "on stdout, or exit 2 with one line on stderr and nothing on stdout; never a "
        "traceback. A sample of nasty inputs also runs through a real `python -m backend "
        "explain` process.",
        (
            ("inputs", "inputs tried"),
            ("decisions", "decisions (exit 0)"),
            ("validation_errors", "clean validation errors (exit 2)"),
            ("subprocess_inputs", "inputs run in a real process"),
            ("tracebacks", "tracebacks"),
            ("other_exit_codes", "other exit codes"),
            ("known_crashes", "known crashes still open (strict xfail, reported as findings)"),
            ("seconds", "duration (s)"),
        ),
        headline="inputs",
        failure_key="tracebacks",
    ),
    Item(
        "fault_soak",
        "3. Fault soak (exactly-once write-back)",
        "tests/reliability/test_fault_soak.py",
        "1,000 randomized `apply` requests in ten rounds across the applicable demo tickets, "
        "eight agents at a time, some clicking twice at once, through the real backend "
        "over HTTP: each agent loads the guidance, then applies what it showed. The emulator "
        "injects 429 (1 s and 45 s `Retry-After`), 500/503, latency (some beyond the "
        "backend's Zendesk timeout, so a write can land after its request gave up), dropped "
        "connections and concurrent ticket edits (409) at random rates; between rounds "
        "another agent changes ticket fields so decisions differ. Afterwards every ticket is "
        "checked: internal notes and `gp_applied_*` fingerprint tags match one to one, "
        "every `applied: true` answer's note and fingerprint are on its ticket, every "
        "`applied: false` answer's fingerprint is too, no decision was answered "
        "`applied: true` twice and no tag appears twice. (Checked to fail when the "
        "fingerprint check or Zendesk's `safe_update` is disabled.)",
        (
            ("applies", "apply requests"),
            ("applied", "answered 200, applied: true"),
            ("already_applied", "answered 200, applied: false"),
            ("conflicts", "answered 409"),
            ("rate_limited", "answered 503 (rate limit)"),
            ("unavailable", "answered 502 (Zendesk failed)"),
            ("other_statuses", "other answers"),
            ("faults_injected", "faults injected"),
            ("faults_by_kind", "faults injected by kind"),
            ("field_edits", "field edits by another agent between rounds"),
            ("guidance_loads", "guidance loads before the applies"),
            ("tickets", "tickets checked"),
            ("decisions", "distinct decisions written"),
            ("notes", "internal notes written"),
            ("duplicates", "duplicate notes or tags found"),
            ("lost_writes", "lost writes"),
            ("server_errors", "500 answers (unexpected)"),
            ("seconds", "duration (s)"),
        ),
        headline="applies",
        failure_key="server_errors",
    ),
    Item(
        "sync_faults",
        "4. Macro sync under faults",
        "tests/reliability/test_sync_faults.py",
        "The real `python -m backend macros sync` runs against the emulator and is killed "
        "with SIGKILL after a random number of writes, several times, while some creates "
        "answer only after the client gave up. A create whose answer is lost is made to land "
        "after the next run created the macro again (a twin). A changed set of macros is "
        "then synced under 429 storms (short and over-budget `Retry-After`), 500/503, "
        "dropped connections and a Ctrl-C at a random write, until a run succeeds. "
        "Afterwards a clean run has nothing left to do, each key has exactly one active "
        "macro, the twin is retired (and deleted by `--prune`), and every unmanaged macro "
        "(including look-alike descriptions) is exactly as it was.",
        (
            ("runs", "sync runs"),
            ("kills", "runs killed mid-way (SIGKILL or Ctrl-C)"),
            ("faults_injected", "faults injected"),
            ("managed_macros", "managed macros"),
            ("unmanaged_macros", "unmanaged macros"),
            ("duplicates", "duplicate active macros"),
            ("retired_twins", "lost-answer twins retired (then pruned)"),
            ("unmanaged_touched", "unmanaged macros changed"),
            ("converged", "converged to the plan"),
            ("seconds", "duration (s)"),
        ),
        headline="runs",
        failure_key="unmanaged_touched",
    ),
    Item(
        "auth_attacks",
        "5. Auth attacks",
        "tests/reliability/test_auth_attacks.py",
        "Every authenticated route (guides, preview, guidance, apply) gets: no header, a "
        "bare scheme, Basic auth, a token without scheme, garbage, a missing segment, an "
        "expired token, a not-yet-valid one (`nbf`, future `iat`), no `exp`, the wrong key, "
        "`alg: none` (three spellings), a stripped signature, a tampered payload, HS512 "
        "with the right secret, HS/RS confusion (an RS256 header, a forged RS256 "
        "signature, HS256 signed with a public key), a `kid` path injection, wrong or "
        "missing `aud`/`iss`, an oversized token and tokens whose `ticket_id` claim names "
        "another ticket or is malformed. Each must answer 401 (problem+json, "
        "`WWW-Authenticate: Bearer`) and the emulator's request counter must not move.",
        (
            ("attacks", "attack requests"),
            ("kinds", "kinds of attack"),
            ("routes", "authenticated routes"),
            ("answered_401", "answered 401"),
            ("zendesk_requests", "requests that reached Zendesk"),
            ("not_401", "attacks not answered 401"),
        ),
        headline="attacks",
        failure_key="not_401",
    ),
    Item(
        "injection",
        "6. Injection",
        "tests/reliability/test_injection.py",
        "HTML/script and template-syntax payloads go into every text field and the subject "
        "of tickets. The internal notes written back are plain-text comments (Zendesk escapes "
        "them), the generated macros' HTML is escaped, the sidebar renders them as text in "
        "headless Chromium (no script runs, no element is injected), and the guide "
        "templates run in Jinja2's sandbox (attribute access to internals is refused).",
        (
            ("payloads", "payloads"),
            ("fields", "text fields probed"),
            ("notes_checked", "internal notes checked"),
            ("macros_checked", "macros checked"),
            ("sidebar_checked", "sidebar views checked (browser)"),
            ("sandbox_probes", "sandbox escape probes refused"),
            ("executed", "payloads executed"),
        ),
        headline="payloads",
        failure_key="executed",
    ),
    Item(
        "privacy",
        "7. Privacy (logs)",
        "tests/reliability/test_privacy.py",
        "Every log line the backend, the gateway and the servers wrote while the reliability "
        "suite ran (structlog and standard logging) is captured and scanned for car plates, "
        "phone numbers, JWTs, the shared secret and the Zendesk token. The scan also follows "
        "requests made on purpose with personal data in tickets, bodies, query strings and "
        "tokens, and Zendesk failures the gateway logs. The tests' own HTTP client (httpx) "
        "lines are left out: they quote the attack URLs the tests build.",
        (
            ("lines", "log lines scanned"),
            ("provoking_requests", "requests sent with personal data on purpose"),
            ("plates", "car plates in clear"),
            ("phones", "phone numbers in clear"),
            ("tokens", "JWTs in clear"),
            ("secrets", "secrets in clear"),
            ("leaks", "leaks in total"),
        ),
        headline="lines",
        failure_key="leaks",
    ),
    Item(
        "sync_concurrency",
        "9. Macro sync on two hosts at once",
        "tests/reliability/test_sync_concurrency.py",
        "Pairs of real `python -m backend macros sync` processes with separate lock files "
        "(as on two hosts) start together against the emulator, whose macro endpoints answer "
        "slowly so the runs overlap: on an empty account, after a change of every macro, and "
        "with `--prune` while a human's edited clone of a Guidepost macro (same `guidepost:` "
        "key) is in the account. The lease held in Zendesk (a marker macro, create-then-list, "
        "lowest live id wins) lets one run write; the other skips. Then the lease is defeated "
        "(two syncs without it, at once, on an empty account) to prove the recheck alone: "
        "each run that wrote lists again and retires the twins, keeping the lowest id per "
        "key. After every pair each key has exactly one active macro, no lease marker is "
        "left, and the clone and the unmanaged macro are exactly as they were.",
        (
            ("cli_pairs", "pairs of concurrent CLI syncs (lease)"),
            ("skipped_by_lease", "runs that found the lease held and wrote nothing"),
            ("lease_markers_left", "lease markers left behind"),
            ("recheck_pairs", "pairs of concurrent syncs without the lease"),
            ("race_twins", "twins those races created"),
            ("recheck_writes", "recheck writes (both runs retire the same twins)"),
            ("duplicates", "duplicate active macros afterwards"),
            ("clone_survived_prune", "edited clone survived `--prune`"),
            ("unmanaged_touched", "unmanaged macros changed"),
            ("seconds", "duration (s)"),
        ),
        headline="cli_pairs",
        failure_key="duplicates",
    ),
    Item(
        "trust",
        "10. Trust (authorization, what apply writes)",
        "tests/reliability/test_trust_attacks.py",
        "The API over an in-memory Zendesk (tickets) and directory (users, custom roles, "
        "group memberships): agents of every kind ask for guidance and apply on tickets "
        "placed in their group, another group, assigned to them or to someone else. "
        "Refusals must be 403 `forbidden` with no ticket read and no write. Also proven: "
        "sessions past their bounded lifetime are refused, the note's author is the agent, "
        "each apply audited before it writes, an eligibility flip between guidance and apply "
        "is 409 `decision-changed`, A → B → A leaves exactly the current decision's gp_* tags "
        "(plus a property test over apply sequences), closed tickets answer 409.",
        (
            ("refused", "refused requests (403, no read, no write)"),
            ("admin_calls_first", "directory calls for an admin's first request"),
            ("group_agent_calls_first", "directory calls for a group agent's first request"),
        ),
        headline="refused",
    ),
    Item(
        "slow_clients",
        "11. Slow clients",
        "tests/reliability/test_slow_clients.py",
        "`guidepost serve` runs in a child process limited to 1,024 file descriptors. "
        "1,100 connections send a partial request head, then one header line per second "
        "(slowloris). The request-head deadline drops them; accept errors are logged "
        "sparsely. Afterwards one normal request is timed, and the server's stderr is "
        "measured.",
        (
            ("connections", "slow connections"),
            ("opened", "connections opened"),
            ("server_fd_limit", "server descriptor limit"),
            ("header_timeout_s", "request-head deadline (s)"),
            ("attack_seconds", "attack duration (s)"),
            ("dropped_by_server", "slow connections dropped by the server"),
            ("normal_request_ms", "normal request afterwards (ms)"),
            ("stderr_bytes", "server stderr (bytes)"),
            ("log_bytes", "server log (bytes)"),
            ("accept_failed_lines", "accept_failed log lines"),
            ("tracebacks", "tracebacks"),
        ),
        headline="connections",
        failure_key="tracebacks",
    ),
)


def _format_value(value: Any) -> str:
    """Render one figure for a Markdown table cell."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, Mapping):
        if not value:
            return "—"
        return ", ".join(f"{key}: {_format_value(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_format_value(item) for item in value) or "—"
    if value is None:
        return "—"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _ordered_figures(item: Item, figures: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Figures in the item's display order, then any others by key."""
    known = dict(item.labels)
    rows = [(label, figures[key]) for key, label in item.labels if key in figures]
    rows += [(key, value) for key, value in sorted(figures.items()) if key not in known]
    return rows


def read_figures(path: Path) -> dict[str, dict[str, Any]]:
    """The recorded items (`{key: {"recorded_at", "figures"}}`); empty when there are none."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    items = data.get("items", {}) if isinstance(data, dict) else {}
    return {str(key): value for key, value in items.items() if isinstance(value, dict)}


def record_figures(path: Path, key: str, figures: Mapping[str, Any]) -> None:
    """Merge one item's figures into the JSON file (stamped with the current time)."""
    items = read_figures(path)
    items[key] = {
        "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "figures": dict(figures),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"items": items}, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    tmp.replace(path)


def _audit_section() -> list[str]:
    """Item 8: the dependency audit runs as `make audit`, outside pytest."""
    ignored: dict[str, str] = {}
    try:
        from tooling.audit import read_ignored

        ignored = read_ignored()
    except Exception:
        ignored = {}
    lines = [
        "## 8. Dependencies",
        "",
        "`make audit` (`tooling/audit.py`) runs `pip-audit` over the installed, pinned "
        "dependencies of `pyproject.toml` and fails on any known vulnerability that "
        "`audit-ignore.toml` does not list with a reason, and when it could not audit (the "
        "service unreachable, 0 packages audited). `make test` runs it only when the "
        "vulnerability service answers and says loudly when it skipped it. It runs outside "
        "pytest, so its result is the `make audit` output rather than a figure here.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| accepted vulnerabilities (audit-ignore.toml) | {len(ignored)} |",
    ]
    for vuln_id, reason in sorted(ignored.items()):
        lines.append(f"| ignored {_format_value(vuln_id)} | {_format_value(reason)} |")
    return lines


def render_report(items: Mapping[str, Mapping[str, Any]]) -> str:
    """The Markdown document for these recorded items."""
    stamps = [str(entry.get("recorded_at", "")) for entry in items.values()]
    last = max(stamps) if stamps else "never"
    lines = [
        "# Reliability and security figures",
        "",
        "Generated from the figures of a run of the reliability suite (`tests/reliability/`, "
        "part of `make test`), kept in `docs/reliability.json`; do not edit by hand. Each "
        "test run writes its own copy to `test-artifacts/RELIABILITY.md`; "
        "`make reliability-report` publishes the last run here.",
        "",
        f"Last run: **{last}** (UTC).",
        "",
        "| item | figure | duplicates | lost writes | failures (5xx, tracebacks, leaks…) "
        "| recorded |",
        "|---|---|---|---|---|---|",
    ]
    for item in ITEMS:
        entry = items.get(item.key)
        if entry is None:
            lines.append(f"| {item.title} | not run | | | | |")
            continue
        figures: Mapping[str, Any] = entry.get("figures", {})
        label = dict(item.labels).get(item.headline, item.headline)
        headline = f"{_format_value(figures.get(item.headline))} {label}"
        failures = figures.get(item.failure_key, "")
        lines.append(
            f"| {item.title} | {headline} | {_format_value(figures.get('duplicates', ''))} "
            f"| {_format_value(figures.get('lost_writes', ''))} | {_format_value(failures)} "
            f"| {entry.get('recorded_at', '')} |"
        )
    lines.append("| 8. Dependencies | `make audit` | | | | |")
    for item in ITEMS:
        lines += ["", f"## {item.title}", "", item.method, "", f"Test: `{item.test}`.", ""]
        entry = items.get(item.key)
        if entry is None:
            lines.append("_Not run in the last session._")
            continue
        lines += [
            f"Recorded {entry.get('recorded_at', '')}.",
            "",
            "| figure | value |",
            "|---|---|",
        ]
        for label, value in _ordered_figures(item, entry.get("figures", {})):
            lines.append(f"| {label} | {_format_value(value)} |")
        long_run = items.get(f"{item.key}_long")
        if long_run is not None:
            lines += [
                "",
                f"Last long run (`GUIDEPOST_LONG=1`, outside `make test`), recorded "
                f"{long_run.get('recorded_at', '')}:",
                "",
                "| figure | value |",
                "|---|---|",
            ]
            for label, value in _ordered_figures(item, long_run.get("figures", {})):
                lines.append(f"| {label} | {_format_value(value)} |")
    lines += ["", *_audit_section(), ""]
    return "\n".join(lines)


def write_report(figures_path: Path = FIGURES_PATH, report_path: Path = REPORT_PATH) -> Path:
    """Render the recorded figures into the report; return its path."""
    text = render_report(read_figures(figures_path))
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(text, encoding="utf-8")
    return report_path


def publish(
    figures_path: Path = FIGURES_PATH,
    published_figures: Path = PUBLISHED_FIGURES,
    published_report: Path = PUBLISHED_REPORT,
) -> Path:
    """Copy a run's figures beside the docs and render the committed report from them."""
    items = read_figures(figures_path)
    if not items:
        raise SystemExit(f"{figures_path}: no recorded figures; run the reliability suite first")
    published_figures.write_text(
        json.dumps({"items": items}, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    return write_report(published_figures, published_report)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m tooling.reliability_report [--figures F] [--out F] [--publish]`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--figures", type=Path, default=FIGURES_PATH)
    parser.add_argument("--out", type=Path, default=REPORT_PATH)
    parser.add_argument(
        "--publish", action="store_true", help="write docs/reliability.json and the report"
    )
    args = parser.parse_args(argv)
    if args.publish:
        path = publish(args.figures)
        sys.stdout.write(f"{path}\n")
        return 0
    path = write_report(args.figures, args.out)
    sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
