"""The sync: list the account's macros once, plan, apply the plan write by write.

Costs: ceil(N / 100) list calls for N macros, then one call per write. A run killed
half-way leaves Zendesk partly updated; the next run lists again and plans from
what is there, so it finishes the work without duplicates (a create whose answer
was lost shows up as a twin with the same key, which the plan retires).

With `lease`, the run first takes the Zendesk-held lease (`lease.py`) and the lease's
listing is the plan's. With `verify`, a run that wrote lists again and retires the
twins a concurrent run on another host may have created, until a listing needs no
write (at most `MAX_ROUNDS` listings after the first): ceil(N / 100) more calls.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from backend.errors import GuidepostError, RateLimitedError, ZendeskRejectedError
from backend.macro_sync.generator import DesiredMacro
from backend.macro_sync.lease import Lease, LeaseHeldError, LeaseLostError, read_marker
from backend.macro_sync.plan import WRITE_ORDER, Plan, PlanItem, build_plan
from backend.zendesk.gateway import MacroRecord, ZendeskGateway

# Writes failing in a row before the run gives up on the rest (Zendesk is likely down).
MAX_CONSECUTIVE_FAILURES = 5
# Items named one by one in a summary before "… and n more".
SUMMARY_ITEMS = 10
# Listings after the first in a verified run; two hosts with different repos never settle.
MAX_ROUNDS = 5

WriteHook = Callable[[PlanItem, bool], None]
# Called before each write; a returned text stops the run (the lease was lost).
WriteGuard = Callable[[], str | None]


@dataclass(frozen=True)
class WriteFailure:
    """A write that was attempted and failed."""

    item: PlanItem
    error: str


@dataclass
class SyncReport:
    """What a sync planned, did, failed to do and did not attempt."""

    plan: Plan | None = None
    done: list[PlanItem] = field(default_factory=list)
    failed: list[WriteFailure] = field(default_factory=list)
    not_attempted: list[PlanItem] = field(default_factory=list)
    error: str | None = None
    stopped: str | None = None
    dry_run: bool = False
    # Plans of the listings after the first (verify): writes found there came from a race.
    rechecks: list[Plan] = field(default_factory=list)
    # Another run holds the Zendesk lease: nothing was written, by design.
    lease_held: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether the run did everything it planned."""
        return (
            self.error is None
            and not self.failed
            and not self.not_attempted
            and self.stopped is None
        )

    def summary_lines(self) -> list[str]:
        """Describe the outcome for people: counts, then what was and was not done."""
        if self.plan is None:
            if self.lease_held:
                return [f"macros sync: SKIPPED, nothing written: {self.error}"]
            return [f"macros sync: FAILED before any write: {self.error}"]
        plan = self.plan
        untouched = f"{plan.unmanaged} unmanaged macro(s) left untouched"
        if self.dry_run:
            planned = _count_by_action(plan.writes)
            return [f"macros sync: dry run, nothing written ({planned}); {untouched}"]
        unchanged = sum(
            1 for item in plan.items if item.action == "unchanged" and not item.left_alone
        )
        extra = self._extra_lines()
        if self.ok:
            done = _count_by_action(self.done)
            return [f"macros sync: OK — {done}; {unchanged} unchanged; {untouched}", *extra]
        attempted = len(self.done) + len(self.failed)
        total = len(plan.writes) + sum(len(recheck.writes) for recheck in self.rechecks)
        lines = [
            f"macros sync: FAILED — {attempted} of {total} write(s) attempted: "
            f"{len(self.done)} done, {len(self.failed)} failed, "
            f"{len(self.not_attempted)} not attempted"
            + (f" ({self.stopped})" if self.stopped else ""),
            f"  done: {_count_by_action(self.done)}",
        ]
        for failure in self.failed[:SUMMARY_ITEMS]:
            lines.append(f"  failed: {failure.item.describe()}: {failure.error}")
        if len(self.failed) > SUMMARY_ITEMS:
            lines.append(f"  failed: … and {len(self.failed) - SUMMARY_ITEMS} more")
        if self.not_attempted:
            lines.append(f"  not attempted: {_count_by_action(self.not_attempted)}")
            for item in self.not_attempted[:SUMMARY_ITEMS]:
                lines.append(f"  not attempted: {item.describe()}")
            if len(self.not_attempted) > SUMMARY_ITEMS:
                lines.append(
                    f"  not attempted: … and {len(self.not_attempted) - SUMMARY_ITEMS} more"
                )
        if self.error:
            lines.append(f"  error: {self.error}")
        lines.append(
            f"  {unchanged} unchanged; {untouched}. Run the sync again: it plans from what "
            "Zendesk now holds, finishes the rest and creates no duplicates."
        )
        return [*lines, *extra]

    def _extra_lines(self) -> list[str]:
        """Lines on macros left alone, on twins a recheck retired, and other notes."""
        assert self.plan is not None
        lines = []
        left_alone = self.plan.left_alone
        if left_alone:
            lines.append(
                f"  {len(left_alone)} macro(s) with a Guidepost key edited in Zendesk "
                "(clones, or texts no longer generated) left alone — review them:"
            )
            for item in left_alone[:SUMMARY_ITEMS]:
                lines.append(f"  left alone: macro {item.macro_id} {item.title!r}: {item.reason}")
            if len(left_alone) > SUMMARY_ITEMS:
                lines.append(f"  left alone: … and {len(left_alone) - SUMMARY_ITEMS} more")
        raced = [item for recheck in self.rechecks for item in recheck.writes]
        if raced:
            lines.append(
                f"  recheck: {len(raced)} write(s) after listing again "
                f"({_count_by_action(raced)}): another run wrote at the same time"
            )
        lines.extend(f"  {note}" for note in self.notes)
        return lines


def _count_by_action(items: Iterable[PlanItem]) -> str:
    """Count items per action, in write order ("create 3, update 1")."""
    counter = Counter(item.action for item in items)
    parts = [f"{kind} {counter[kind]}" for kind in WRITE_ORDER if counter[kind]]
    return ", ".join(parts) if parts else "no writes"


def _describe_error(exc: Exception) -> str:
    """Name an error without a traceback."""
    detail = exc.detail if isinstance(exc, GuidepostError) else str(exc)
    return f"{type(exc).__name__}: {' '.join(detail.split())}"


def _find_stop_reason(exc: Exception) -> str | None:
    """Tell why no further write can succeed after this error, if that is the case."""
    if isinstance(exc, RateLimitedError):
        return f"rate-limited for {exc.retry_after:g}s, longer than a batch run waits"
    if isinstance(exc, ZendeskRejectedError) and exc.upstream_status in (401, 403):
        return "Zendesk refused the credentials"
    return None


def _write(gateway: ZendeskGateway, item: PlanItem) -> None:
    """Send the one request an item needs."""
    if item.action == "create":
        assert item.spec is not None
        gateway.create_macro(item.spec)
    elif item.action in ("update", "deactivate"):
        assert item.spec is not None
        assert item.macro_id is not None
        gateway.update_macro(item.macro_id, item.spec)
    elif item.action == "delete":
        assert item.macro_id is not None
        gateway.delete_macro(item.macro_id)


def apply_plan(
    gateway: ZendeskGateway,
    plan: Plan,
    *,
    on_write: WriteHook | None = None,
    max_consecutive_failures: int = MAX_CONSECUTIVE_FAILURES,
    guard: WriteGuard | None = None,
    report: SyncReport | None = None,
) -> SyncReport:
    """Send every write of the plan; keep going past single failures, stop when hopeless."""
    report = report if report is not None else SyncReport(plan=plan)
    writes = plan.writes
    in_a_row = 0
    for index, item in enumerate(writes):
        stop = guard() if guard is not None else None
        if stop is not None:
            report.stopped = stop
            report.not_attempted.extend(writes[index:])
            return report
        try:
            _write(gateway, item)
        except Exception as exc:  # every failure is reported; the run goes on if it can
            report.failed.append(WriteFailure(item, _describe_error(exc)))
            in_a_row += 1
            if on_write is not None:
                on_write(item, False)
            reason = _find_stop_reason(exc)
            if reason is None and in_a_row >= max_consecutive_failures:
                reason = f"{in_a_row} writes in a row failed"
            if reason is not None:
                report.stopped = reason
                report.not_attempted.extend(writes[index + 1 :])
                return report
            continue
        in_a_row = 0
        report.done.append(item)
        if on_write is not None:
            on_write(item, True)
    return report


def list_macros(gateway: ZendeskGateway) -> list[MacroRecord]:
    """List the account's macros (cursor pages of 100), lease markers left out."""
    return [record for record in gateway.list_macros() if read_marker(record) is None]


def fetch_plan(
    gateway: ZendeskGateway, desired: Sequence[DesiredMacro], *, prune: bool = False
) -> Plan:
    """List the account's macros once (cursor pages of 100) and plan against them."""
    return build_plan(desired, list_macros(gateway), prune=prune)


def _recheck(
    gateway: ZendeskGateway,
    desired: Sequence[DesiredMacro],
    report: SyncReport,
    *,
    prune: bool,
    guard: WriteGuard | None,
    on_write: WriteHook | None,
    max_rounds: int,
) -> None:
    """List again after writing and fix what a concurrent run left, until nothing is left."""
    for _ in range(max_rounds):
        try:
            plan = fetch_plan(gateway, desired, prune=prune)
        except GuidepostError as exc:
            report.error = f"could not list the macros again to check: {_describe_error(exc)}"
            return
        if not plan.writes:
            return
        report.rechecks.append(plan)
        apply_plan(gateway, plan, on_write=on_write, guard=guard, report=report)
        if not report.ok:
            return
    report.stopped = f"still changing after {max_rounds} listings: another sync with other macros?"


def sync_macros(
    gateway: ZendeskGateway,
    desired: Sequence[DesiredMacro],
    *,
    prune: bool = False,
    dry_run: bool = False,
    on_plan: Callable[[Plan], None] | None = None,
    on_write: WriteHook | None = None,
    verify: bool = False,
    lease: Lease | None = None,
    max_rounds: int = MAX_ROUNDS,
) -> SyncReport:
    """Make the account's managed macros equal to `desired`; never touch unmanaged ones."""
    try:
        records = lease.acquire() if lease is not None else list_macros(gateway)
    except LeaseHeldError as exc:
        return SyncReport(error=exc.detail, lease_held=True)
    except LeaseLostError as exc:
        return SyncReport(error=f"could not take the lease: {exc.detail}")
    except GuidepostError as exc:
        return SyncReport(error=f"could not list the macros: {_describe_error(exc)}")
    try:
        plan = build_plan(desired, records, prune=prune)
        if on_plan is not None:
            on_plan(plan)
        if dry_run:
            return SyncReport(plan=plan, dry_run=True)
        guard = lease.keep_alive if lease is not None else None
        report = apply_plan(gateway, plan, on_write=on_write, guard=guard)
        if verify and report.ok and report.done:
            _recheck(
                gateway,
                desired,
                report,
                prune=prune,
                guard=guard,
                on_write=on_write,
                max_rounds=max_rounds,
            )
    finally:
        if lease is not None:
            lease.release()
    if lease is not None:
        report.notes.extend(_describe_lease(lease))
    return report


def _describe_lease(lease: Lease) -> list[str]:
    """Notes on the lease: markers of dead runs cleared, a marker left behind."""
    notes = [f"lease: cleared the marker of a dead run ({m.describe()})" for m in lease.cleared]
    if lease.release_error:
        notes.append(f"lease: the marker could not be deleted ({lease.release_error}); it expires")
    return notes
