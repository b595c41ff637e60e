"""`guidepost macros render / plan / sync`: thin shells over the generator, plan and sync.

Exit codes: 0 done, 1 any failure (the summary says what was and was not done),
3 source drift (a guide's Help Center article changed since it was written).
Drift is reported, not a gate: `sync` still writes, because the macros come from
the reviewed repo and holding them back would not bring the guide up to date.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from backend.domain.guides import GuideCatalog, load_catalog
from backend.errors import SettingsError
from backend.macro_sync.drift import DriftResult, check_drift
from backend.macro_sync.generator import DesiredMacro, generate_macros, write_rendered
from backend.macro_sync.lease import Lease, make_site
from backend.macro_sync.plan import Plan, PlanItem
from backend.macro_sync.schedule import (
    LockHeldError,
    get_default_lock_path,
    hold_single_instance,
    parse_interval,
    run_every,
)
from backend.macro_sync.sync import fetch_plan, sync_macros
from backend.zendesk.gateway import ZendeskGateway

if TYPE_CHECKING:
    from backend.settings import Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_DRIFT = 3
# Plan tables written to a file or pipe: wide enough for Korean titles on one line.
PIPE_WIDTH = 200

GatewayFactory = Callable[["Settings"], ZendeskGateway]


def load_field_map(path: Path) -> dict[str, int]:
    """Read the field map `fields bootstrap` wrote; SettingsError when there is none."""
    if not path.is_file():
        raise SettingsError(
            f"no field map at {path}; run `guidepost fields bootstrap` first "
            "(or set GUIDEPOST_FIELD_MAP)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(key): int(value) for key, value in data.items()}
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        raise SettingsError(f"{path}: not a field map ({type(exc).__name__})") from None


def generate_from_settings(
    settings: Settings, catalog: GuideCatalog | None = None
) -> list[DesiredMacro]:
    """Generate the desired macros with the deployment's field map, admin URL and groups."""
    catalog = catalog or load_catalog(settings.guides_dir)
    return generate_macros(
        catalog,
        load_field_map(settings.field_map),
        admin_call_url=settings.admin_call_url,
        group_ids=settings.macro_group_ids,
    )


def _make_zenpy_gateway(settings: Settings) -> ZendeskGateway:
    """Build the real gateway with the batch wait policy (waits out Retry-After)."""
    from backend.zendesk.zenpy_gateway import ZenpyGateway

    settings.require_secrets("zendesk_token")
    return ZenpyGateway.from_settings(settings, wait_policy="batch")


@contextmanager
def _open_gateway(settings: Settings, factory: GatewayFactory | None) -> Iterator[ZendeskGateway]:
    """Open a gateway for one run and close it afterwards."""
    gateway = (factory or _make_zenpy_gateway)(settings)
    try:
        yield gateway
    finally:
        gateway.close()


def _is_tty(stream: TextIO) -> bool:
    """Tell whether a stream is an interactive terminal."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty()) if callable(isatty) else False


def _make_console(stream: TextIO) -> Console:
    """Build a rich console on a stream; plain and wide when it is not a terminal."""
    if _is_tty(stream):
        return Console(file=stream)
    return Console(file=stream, width=PIPE_WIDTH, no_color=True, highlight=False)


def report_drift(results: Sequence[DriftResult], err: TextIO) -> int:
    """Write the drift lines worth reading; return the exit code they call for."""
    code = EXIT_OK
    for result in results:
        if result.status == "ok":
            continue
        err.write(result.message + "\n")
        if result.status == "error":
            code = EXIT_FAILED
        elif result.status == "drift" and code == EXIT_OK:
            code = EXIT_DRIFT
    return code


def _combine(*codes: int) -> int:
    """Combine exit codes: any failure wins over drift, drift over success."""
    if EXIT_FAILED in codes:
        return EXIT_FAILED
    return EXIT_DRIFT if EXIT_DRIFT in codes else EXIT_OK


def print_plan_table(plan: Plan, out: TextIO) -> None:
    """Print what a sync would change as a table, then the counts."""
    changes = [item for item in plan.items if item.action != "unchanged"]
    console = _make_console(out)
    if changes:
        table = Table(title="macros plan", title_justify="left")
        for column in ("action", "id", "key", "changes", "title"):
            table.add_column(column, overflow="fold")
        for item in changes:
            table.add_row(
                item.action,
                str(item.macro_id or ""),
                item.key,
                ", ".join(item.changes) or item.reason,
                item.title,
            )
        console.print(table)
    counts = ", ".join(f"{kind} {n}" for kind, n in plan.count_actions().items())
    console.print(
        f"macros plan: {counts}; {plan.listed} macro(s) listed, "
        f"{plan.unmanaged} unmanaged (never touched)",
        markup=False,
    )
    for item in plan.left_alone:
        console.print(
            f"macros plan: left alone: macro {item.macro_id} {item.title!r}: {item.reason}",
            markup=False,
        )


def render_command(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    """`macros render --out DIR`: write one JSON file per macro."""
    desired = generate_from_settings(settings)
    out_dir = Path(args.out)
    written = write_rendered(desired, out_dir)
    out.write(f"macros render: wrote {len(written)} macro(s) to {out_dir}\n")
    return EXIT_OK


def run_plan(
    settings: Settings,
    out: TextIO,
    err: TextIO,
    *,
    as_json: bool = False,
    prune: bool = False,
    gateway_factory: GatewayFactory | None = None,
) -> int:
    """Check drift, list the macros, print the plan; exit 3 on drift, 1 on a failure."""
    catalog = load_catalog(settings.guides_dir)
    desired = generate_from_settings(settings, catalog)
    with _open_gateway(settings, gateway_factory) as gateway:
        drift = check_drift(gateway, catalog, settings.article_ids, settings.help_center_locale)
        plan = fetch_plan(gateway, desired, prune=prune)
    if as_json:
        out.write(json.dumps(plan.to_json(), ensure_ascii=False, indent=2) + "\n")
    else:
        print_plan_table(plan, out)
    return report_drift(drift, err)


def plan_command(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    """`macros plan [--json]`: what a sync would do, and source drift."""
    return run_plan(settings, out, err, as_json=bool(getattr(args, "json", False)))


class _ProgressBar:
    """A rich progress bar over a sync's writes, on stderr, only on a terminal."""

    def __init__(self, err: TextIO) -> None:
        self._progress = Progress(
            TextColumn("macros sync"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=err),
            disable=not _is_tty(err),
            transient=False,
        )
        self._task: object = None

    def __enter__(self) -> _ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def size_to(self, plan: Plan) -> None:
        """Size the bar to the plan's writes."""
        self._task = self._progress.add_task("writes", total=len(plan.writes))

    def advance(self, item: PlanItem, ok: bool) -> None:
        """Advance the bar by one write, done or failed."""
        if self._task is not None:
            self._progress.advance(self._task)  # type: ignore[arg-type]


def run_sync_once(
    settings: Settings,
    out: TextIO,
    err: TextIO,
    *,
    prune: bool = False,
    gateway_factory: GatewayFactory | None = None,
    lock_path: Path | None = None,
) -> int:
    """One sync: drift check, lease, list, apply, recheck; a summary on stdout.

    The lease in Zendesk keeps syncs on other hosts out; the recheck retires twins a
    run the lease could not keep out created anyway (see `lease.py`).
    """
    catalog = load_catalog(settings.guides_dir)
    desired = generate_from_settings(settings, catalog)
    started = time.monotonic()
    site = make_site(lock_path or get_default_lock_path())
    with _open_gateway(settings, gateway_factory) as gateway:
        drift = check_drift(gateway, catalog, settings.article_ids, settings.help_center_locale)
        drift_code = report_drift(drift, err)
        with _ProgressBar(err) as bar:
            report = sync_macros(
                gateway,
                desired,
                prune=prune,
                on_plan=bar.size_to,
                on_write=bar.advance,
                verify=True,
                lease=Lease(gateway, site),
            )
        calls = getattr(gateway, "calls", None)
    for line in report.summary_lines():
        out.write(line + "\n")
    if isinstance(calls, int):
        out.write(f"macros sync: {calls} Zendesk request(s) in {time.monotonic() - started:.1f}s\n")
    out.flush()
    return _combine(drift_code, EXIT_OK if report.ok else EXIT_FAILED)


def sync_command(
    args: argparse.Namespace,
    settings: Settings,
    out: TextIO,
    err: TextIO,
    *,
    gateway_factory: GatewayFactory | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_iterations: int | None = None,
) -> int:
    """`macros sync [--dry-run] [--prune] [--every 1h] [--lock-file PATH]`."""
    prune = bool(getattr(args, "prune", False))
    if getattr(args, "dry_run", False):
        return run_plan(settings, out, err, prune=prune, gateway_factory=gateway_factory)
    every = getattr(args, "every", None)
    interval = parse_interval(every) if every else None
    lock_file = getattr(args, "lock_file", None)
    lock_path = Path(lock_file) if lock_file else get_default_lock_path()
    run_once = partial(
        run_sync_once,
        settings,
        out,
        err,
        prune=prune,
        gateway_factory=gateway_factory,
        lock_path=lock_path,
    )
    try:
        with hold_single_instance(lock_path):
            if interval is None:
                return run_once()
            err.write(f"macros sync: every {every} (±10 %), lock {lock_path}\n")
            return run_every(
                run_once, interval, log=err, sleep=sleep, max_iterations=max_iterations
            )
    except LockHeldError as exc:
        err.write(f"macros sync: {exc.detail}\n")
        return EXIT_FAILED
