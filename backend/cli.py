"""`guidepost` — a thin shell over functions the tests call directly."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO
from urllib.parse import urlsplit

from backend.errors import GuidepostError, InputError, SettingsError

if TYPE_CHECKING:
    from backend.settings import Settings
from backend.field_map import parse_field_map

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
_REPO_ROOT = Path(__file__).resolve().parent.parent
# Settings' defaults of what `explain` reads (tests/layout proves them equal).
EXPLAIN_DEFAULTS = (
    _REPO_ROOT / "macros",
    _REPO_ROOT / "var" / "field_map.json",
    "https://admin.example/calls/{call_id}",
)


def read_field_map(path: Path) -> dict[str, int] | None:
    """The field map written by `fields bootstrap`, or None when there is none yet."""
    return parse_field_map(path) if path.is_file() else None


def run_explain(
    raw_text: str,
    guides_dir: Path,
    field_map: dict[str, int] | None,
    admin_call_url: str | None = None,
    *,
    cached: bool = False,
) -> dict[str, Any]:
    """Parse an `explain` input and return the decision JSON; InputError on bad input.

    `cached`: take the validated catalog, and what each template reads, from the per-user
    cache (backend/catalog_cache.py) while their files are unchanged, as `explain` does.
    """
    from backend.domain.engine import EngineOptions, decide
    from backend.domain.facts import parse_input
    from backend.domain.guides import GuideCatalog, load_catalog
    from backend.domain.render import TextRenderer

    load: Callable[[Path], GuideCatalog] = load_catalog
    renderer_for: Callable[[GuideCatalog], TextRenderer] = TextRenderer
    if cached:
        from backend.catalog_cache import cached_renderer, load_catalog_cached

        load = load_catalog_cached
        renderer_for = cached_renderer

    try:
        data = json.loads(raw_text)
    except json.JSONDecodeError as exc:
        raise InputError(f"input: invalid JSON ({exc.msg} at line {exc.lineno})") from exc
    except RecursionError as exc:
        raise InputError("input: JSON nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise InputError(f"input: invalid JSON ({exc})") from exc
    catalog = load(guides_dir)
    ticket = parse_input(data, catalog.fields, field_map)
    if admin_call_url is None:
        admin_call_url = explain_settings()[2]
    options = EngineOptions(admin_call_url=admin_call_url)
    return decide(ticket, catalog, renderer_for(catalog), options).to_json()


def explain_settings() -> tuple[Path, Path, str]:
    """guides_dir, field_map and admin_call_url for `explain`, without pydantic-settings.

    Importing the settings costs a third of `explain`'s time; when no GUIDEPOST_* variable
    and no .env file could change these three, their defaults (EXPLAIN_DEFAULTS, pinned
    equal to Settings' by a test) are used; otherwise Settings reads them as everywhere.
    """
    if Path(".env").exists() or any(name.upper().startswith("GUIDEPOST_") for name in os.environ):
        from backend.settings import Settings

        settings = Settings()
        return settings.guides_dir, settings.field_map, settings.admin_call_url
    return EXPLAIN_DEFAULTS


def skip_pydantic_plugin_scan() -> None:
    """Turn off pydantic's plugin scan for this process (explain only; Guidepost uses none).

    pydantic reads every installed distribution's entry points on its first model unless
    PYDANTIC_DISABLE_PLUGINS says otherwise (https://docs.pydantic.dev/latest/concepts/plugins/).
    """
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def _cmd_explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    skip_pydantic_plugin_scan()
    guides_dir, field_map_path, admin_call_url = explain_settings()
    source = args.file
    try:
        raw = sys.stdin.read() if source in (None, "-") else Path(source).read_text("utf-8")
    except OSError as exc:
        err.write(f"input: cannot read {source}: {exc.strerror}\n")
        return EXIT_BAD_INPUT
    except UnicodeDecodeError as exc:
        err.write(f"input: not UTF-8 text (byte {exc.start})\n")
        return EXIT_BAD_INPUT
    try:
        field_map = read_field_map(field_map_path)
        decision = run_explain(raw, guides_dir, field_map, admin_call_url, cached=True)
    except InputError as exc:
        err.write(" ".join(exc.detail.split()) + "\n")
        return EXIT_BAD_INPUT
    out.write(json.dumps(decision, ensure_ascii=False, indent=2) + "\n")
    return EXIT_OK


def _lint_guides(guides_dir: Path) -> list[Any]:
    from backend.domain.derived import DERIVED
    from backend.domain.guide_lint import lint_macros

    return list(lint_macros(guides_dir, DERIVED))


def _cmd_guides_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from backend.connectors import check_for_guides
    from backend.domain.check import check_guides
    from backend.domain.guide_report import report_guides
    from backend.domain.guides import load_catalog
    from backend.settings import Settings

    started = time.perf_counter()
    settings = Settings()
    guides_dir = Path(args.guides_dir) if args.guides_dir else settings.guides_dir
    as_json = args.format == "json"
    # Mistakes with file, line and a Korean/English message first; the proof follows.
    findings = _lint_guides(guides_dir)
    for finding in [] if as_json else findings:
        err.write(f"guides check: {finding}\n")
    try:
        catalog = load_catalog(guides_dir)
        problems, report = check_guides(catalog, settings.admin_call_url)
        # Connectors: macros/connectors.yaml, and the configured file against the settings.
        problems = [*problems, *check_for_guides(guides_dir, catalog.fields, settings)]
    except GuidepostError as exc:
        if as_json:
            return _write_check_json(out, findings, [exc.detail], [])
        err.write(f"guides check: {exc.detail}\n")
        return EXIT_FAILED
    # The editor's report: unreachable texts, unguarded facts, placeholders, unused fields.
    remarks = report_guides(catalog)
    findings = [*findings, *remarks]
    if as_json:
        return _write_check_json(out, findings, problems, report)
    # Errors on stderr; warnings and infos (the check still passes) with the report on stdout.
    for remark in remarks:
        (err if remark.severity == "error" else out).write(f"guides check: {remark}\n")
    errors = [f for f in findings if f.severity == "error"]
    err.write(f"guides check: took {time.perf_counter() - started:.2f} s\n")
    for line in report:
        out.write(line + "\n")
    if problems or errors:
        for problem in problems:
            err.write(f"guides check: {problem}\n")
        err.write(f"guides check: FAILED ({len(errors) + len(problems)} problem(s))\n")
        return EXIT_FAILED
    out.write("guides check: OK\n")
    return EXIT_OK


def _write_check_json(
    out: TextIO, findings: list[Any], problems: list[str], report: list[str]
) -> int:
    """`guides check --format json`: findings (with severity), proof problems, report lines."""
    failed = bool(problems) or any(f.severity == "error" for f in findings)
    document = {
        "ok": not failed,
        "findings": [f.to_json() for f in findings],
        "problems": problems,
        "report": report,
    }
    out.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    return EXIT_FAILED if failed else EXIT_OK


def _cmd_guides_graph(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from backend.domain.graph import guide_mermaid, guide_svg
    from backend.domain.guides import load_catalog
    from backend.settings import Settings

    guides_dir = Path(args.guides_dir) if args.guides_dir else Settings().guides_dir
    catalog = load_catalog(guides_dir)
    guide = catalog.guide(args.guide_id)
    if args.format == "svg":
        text = guide_svg(guide, catalog.labels)
    else:
        text = guide_mermaid(guide, catalog.labels)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        out.write(text)
    return EXIT_OK


def _cmd_guides_schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from backend.domain.catalog_schema import schema_text

    text = schema_text(args.document)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        out.write(text)
    return EXIT_OK


def _cmd_guides_new(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from backend.guide_scaffold import scaffold_guide
    from backend.settings import Settings

    guides_dir = Path(args.guides_dir) if args.guides_dir else Settings().guides_dir
    made = scaffold_guide(guides_dir, args.guide_id)
    for path in made.files:
        out.write(f"guides new: wrote {path}\n")
    if made.option_added:
        out.write(f"guides new: added 상담유형 option {args.guide_id} to fields.yaml\n")
    out.write("guides new: fill in every TODO, then run `guidepost guides check`\n")
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from backend.api.server import run
    from backend.settings import Settings

    run(Settings(), args.host, args.port)
    return EXIT_OK


def _cmd_emulator(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from backend.demo import run_emulator_with_demo
    from backend.settings import Settings

    run_emulator_with_demo(Settings(), args.host, args.port)
    return EXIT_OK


def _cmd_fields_bootstrap(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from backend.bootstrap import bootstrap_fields
    from backend.domain.fields import load_field_catalog
    from backend.settings import Settings
    from backend.zendesk.zenpy_gateway import ZenpyGateway

    settings = for_local_emulator(Settings())
    settings.require_secrets("zendesk_token")
    gateway = ZenpyGateway.from_settings(settings, wait_policy="batch")
    fields = load_field_catalog(settings.guides_dir / "fields.yaml")
    out_path = Path(args.out) if args.out else settings.field_map
    field_map = bootstrap_fields(
        gateway, fields, out_path, log=err, form_ids=settings.ticket_form_ids
    )
    out.write(json.dumps(field_map, sort_keys=True) + "\n")
    return EXIT_OK


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Any Basic credentials pass the local emulator (backend/emulator); never sent elsewhere.
EMULATOR_TOKEN = "local-emulator-accepts-any-token"  # noqa: S105 - not a secret


def for_local_emulator(settings: Settings) -> Settings:
    """Settings with a stand-in token when they point at an http emulator on loopback."""
    from pydantic import SecretStr

    from backend.settings import PLACEHOLDER_SECRETS

    parts = urlsplit(settings.zendesk_url)
    token = settings.zendesk_token.get_secret_value().strip().lower()
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        return settings
    if token not in PLACEHOLDER_SECRETS:
        return settings
    return settings.model_copy(update={"zendesk_token": SecretStr(EMULATOR_TOKEN)})


def _cmd_macros(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from backend.macro_sync import commands
    from backend.settings import Settings

    handlers: dict[str, Any] = {
        "render": commands.render_command,
        "plan": commands.plan_command,
        "sync": commands.sync_command,
    }
    started = time.perf_counter()
    code = int(handlers[args.macros_command](args, for_local_emulator(Settings()), out, err))
    if args.macros_command == "plan":
        err.write(f"macros plan: took {time.perf_counter() - started:.2f} s\n")
    return code


def build_parser(explain_only: bool = False) -> argparse.ArgumentParser:
    """The argument parser of every subcommand (of `explain` alone: ~8 ms less to build)."""
    parser = argparse.ArgumentParser(prog="guidepost", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    explain = sub.add_parser("explain", help="one decision as JSON on stdout")
    explain.add_argument("file", nargs="?", help="input JSON file, or - for stdin")
    explain.set_defaults(handler=_cmd_explain)
    if explain_only:
        return parser

    guides = sub.add_parser("guides", help="guide data tools")
    guides_sub = guides.add_subparsers(dest="guides_command", required=True)
    check = guides_sub.add_parser("check", help="prove every guide total and renderable")
    check.add_argument("--guides-dir", help="folder with fields.yaml and <guide>/guide.yaml")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.set_defaults(handler=_cmd_guides_check)
    graph = guides_sub.add_parser("graph", help="draw a guide's decision table (SVG or Mermaid)")
    graph.add_argument("guide_id")
    graph.add_argument("--format", choices=("svg", "mermaid"), default="svg")
    graph.add_argument("--out", help="file to write (default: stdout)")
    graph.add_argument("--guides-dir", help="folder with fields.yaml and <guide>/guide.yaml")
    graph.set_defaults(handler=_cmd_guides_graph)
    schema = guides_sub.add_parser("schema", help="the JSON Schema of guide/fields/labels.yaml")
    schema.add_argument("--document", choices=("guide", "fields", "labels"), default="guide")
    schema.add_argument("--out", help="file to write, e.g. macros/guide.schema.json")
    schema.set_defaults(handler=_cmd_guides_schema)
    new = guides_sub.add_parser("new", help="scaffold macros/<guide_id>/ that passes the check")
    new.add_argument("guide_id")
    new.add_argument("--guides-dir", "--macros-dir", dest="guides_dir", help="the macros folder")
    new.set_defaults(handler=_cmd_guides_new)

    serve = sub.add_parser("serve", help="run the backend (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=_cmd_serve)

    emulator = sub.add_parser("emulator", help="run the local Zendesk emulator with demo data")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8765)
    emulator.set_defaults(handler=_cmd_emulator)

    fields = sub.add_parser("fields", help="Zendesk ticket fields")
    fields_sub = fields.add_subparsers(dest="fields_command", required=True)
    bootstrap = fields_sub.add_parser("bootstrap", help="create/update the custom ticket fields")
    bootstrap.add_argument("--out", help="where to write the field map (default: settings)")
    bootstrap.set_defaults(handler=_cmd_fields_bootstrap)

    macros = sub.add_parser("macros", help="macro generator and sync job")
    macros_sub = macros.add_subparsers(dest="macros_command", required=True)
    render = macros_sub.add_parser("render", help="write one JSON file per macro")
    render.add_argument("--out", default="dist/macros")
    plan = macros_sub.add_parser("plan", help="show what a sync would change")
    plan.add_argument("--json", action="store_true")
    sync = macros_sub.add_parser("sync", help="make Zendesk's macros equal to the repo")
    sync.add_argument("--dry-run", action="store_true")
    sync.add_argument("--prune", action="store_true", help="delete instead of deactivate")
    sync.add_argument("--every", help="loop: run every interval (e.g. 1h, 30m)")
    sync.add_argument("--lock-file", default=None)
    for p in (render, plan, sync):
        p.set_defaults(handler=_cmd_macros)
    return parser


def route_logs(err: TextIO, *, lazily: bool = False) -> None:
    """Gateway retries and Python warnings: masked JSON lines on `err`, never bare text.

    `lazily` (explain): nothing explain imports logs, so only a Python warning could reach
    stderr; the logging set-up (logging + backend.logs, ~15 ms) waits for the first one.
    """
    if lazily:
        original = warnings.showwarning

        def first_warning(*args: Any, **kwargs: Any) -> None:
            if warnings.showwarning is first_warning:
                route_logs(err)  # logging.captureWarnings takes warnings.showwarning over
                warnings.showwarning(*args, **kwargs)
            else:  # logging hands a warning with an explicit file back to the original
                original(*args, **kwargs)

        warnings.showwarning = first_warning
        return
    import logging

    from backend.logs import install_log_masking, route_stdlib_logging

    install_log_masking()
    route_stdlib_logging(err, logging.WARNING)


def console_main() -> NoReturn:
    """`guidepost` and `python -m backend`: run the CLI, exit with its code.

    `explain` then ends the process without the interpreter's teardown (freeing every
    module and object: ~20 ms of a ~250 ms run) once its output is flushed; it holds no
    file, thread or pending write (cache entries are written atomically before).
    """
    argv = sys.argv[1:]
    code = main(argv)
    if argv[:1] == ["explain"]:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            # Output that cannot be flushed (a closed pipe): the ordinary exit reports it.
            raise SystemExit(code) from None
        os._exit(code)
    raise SystemExit(code)


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the CLI; returns the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(explain_only=argv[:1] == ["explain"]).parse_args(argv)
    route_logs(err, lazily=args.handler is _cmd_explain)
    try:
        code: int = args.handler(args, out, err)
    except SettingsError as exc:
        err.write(f"settings: {exc.detail}\n")
        return EXIT_FAILED
    except InputError as exc:
        err.write(" ".join(exc.detail.split()) + "\n")
        return EXIT_BAD_INPUT
    except GuidepostError as exc:
        err.write(f"{exc.slug}: {exc.detail}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    return code
