"""The sync lease: a marker macro in Zendesk, so one sync writes at a time on any host.

The file lock (`schedule.py`) only covers one machine. Zendesk has no compare-and-swap
on macros, so the lease is claimed with create-then-list, lowest id wins:

1. Create an inactive marker macro whose description names this run (site = host and
   lock file, a run id) and an expiry (`now + ttl`). Its first line is not a
   `guidepost:` key, so every sync, old or new, sees it as somebody else's macro.
2. List every macro (the same listing the plan is built from; no extra call).
3. Among the markers: one of this site but another run is an orphan of a killed run
   here (the file lock this run holds proves that run is dead) and is deleted; one
   expired for longer than `SKEW_GRACE` is stale and is deleted; the others are live.
4. The lowest id among the live markers and ours holds the lease. A run that is not it
   deletes its marker and writes nothing ("held by …"); the holder plans and writes.
5. Before each write the holder renews its marker once a third of the ttl has passed;
   a renewal that fails (the marker was taken away as stale) stops the run.
6. At the end the holder deletes its marker.

Failure modes, and why they leave no duplicate behind:
- Zendesk does not promise that ids become visible in the order they were given; two
  runs may each see themselves lowest and both write. Likewise for clock skew beyond
  `SKEW_GRACE`, or a holder paused past its expiry. Every run that wrote therefore
  lists again and retires twins (`sync.sync_macros(verify=True)`): both keep the lowest
  id per key, so the last run to finish leaves exactly one active macro per key.
- A run killed mid-way leaves its marker: the next run on the same site clears it at
  once; other sites wait until it is stale (ttl + grace) and then clear it.
- A marker create whose answer is lost may land later: it blocks other sites until it
  is stale, and is cleared at once by the next run of its own site.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from backend.errors import GuidepostError
from backend.zendesk.gateway import MacroAction, MacroRecord, MacroSpec, ZendeskGateway

LEASE_MARKER = "guidepost-lease:v1"
LEASE_TITLE = "Guidepost macro sync lease (do not edit)"
LEASE_NOTE = (
    "Held by a running `guidepost macros sync` (one sync at a time, on any host); the sync "
    "deletes this inactive macro when it ends. Delete it by hand only long after it expired."
)
# A sync of a few hundred macros takes a minute or two; renewals keep a slow run alive.
DEFAULT_TTL_SECONDS = 600.0
# A marker is taken for dead this long after its expiry: room for clock skew between hosts.
SKEW_GRACE_SECONDS = 120.0
_FIELD_RE = re.compile(r"^(site|run|expires):\s*(.+)$")

Clock = Callable[[], float]


class LeaseHeldError(GuidepostError):
    """Another sync, on this host or another one, holds the lease in Zendesk."""

    title = "Macro sync lease held"
    slug = "macro-sync-lease-held"


class LeaseLostError(GuidepostError):
    """The lease could not be taken, renewed or kept; the run must stop writing."""

    title = "Macro sync lease lost"
    slug = "macro-sync-lease-lost"


@dataclass(frozen=True)
class LeaseMarker:
    """One lease marker macro as listed."""

    macro_id: int
    site: str
    run: str
    expires: float

    def is_stale(self, now: float, grace: float = SKEW_GRACE_SECONDS) -> bool:
        """Tell whether the marker expired long enough ago to be taken for dead."""
        return now > self.expires + grace

    def describe(self) -> str:
        """Name the holder for people."""
        expires = _iso(self.expires)
        return f"site {self.site}, run {self.run}, macro {self.macro_id}, expires {expires}"


def _iso(epoch: float) -> str:
    """Format seconds since the epoch as an ISO UTC time."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: str) -> float | None:
    """Read an ISO UTC time written by `_iso`; None when it is not one."""
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def describe_marker(site: str, run: str, expires: float) -> str:
    """Build a marker's description: marker line, site, run, expiry, a line for people."""
    return f"{LEASE_MARKER}\nsite: {site}\nrun: {run}\nexpires: {_iso(expires)}\n{LEASE_NOTE}"


def build_marker_spec(site: str, run: str, expires: float) -> MacroSpec:
    """Build the inactive marker macro (Zendesk requires one action; agents never see it)."""
    return MacroSpec(
        title=LEASE_TITLE,
        description=describe_marker(site, run, expires),
        actions=(MacroAction("comment_mode_is_public", "false"),),
        active=False,
    )


def read_marker(record: MacroRecord) -> LeaseMarker | None:
    """Read a lease marker from a listed macro; None for any other macro."""
    lines = (record.description or "").strip().splitlines()
    if not lines or lines[0].strip() != LEASE_MARKER:
        return None
    fields: dict[str, str] = {}
    for line in lines[1:]:
        match = _FIELD_RE.match(line.strip())
        if match:
            fields.setdefault(match[1], match[2].strip())
    expires = _parse_iso(fields.get("expires", ""))
    # A marker that cannot be read blocks nobody forever: it counts as long expired.
    return LeaseMarker(
        macro_id=record.id,
        site=fields.get("site", "?"),
        run=fields.get("run", "?"),
        expires=expires if expires is not None else 0.0,
    )


def make_site(lock_path: Path) -> str:
    """Name this host and lock file: runs of one site never overlap (the file lock)."""
    return f"{socket.gethostname()}:{lock_path}"


def make_run_id() -> str:
    """Name one run: the process id and a random part."""
    return f"pid {os.getpid()} {secrets.token_hex(4)}"


@dataclass(frozen=True)
class LeaseDecision:
    """What the listing says: who holds the lease and which markers to clear."""

    holder: LeaseMarker
    ours: LeaseMarker
    to_clear: tuple[LeaseMarker, ...]

    @property
    def won(self) -> bool:
        """Tell whether this run holds the lease."""
        return self.holder.macro_id == self.ours.macro_id


def decide(markers: Iterable[LeaseMarker], ours: LeaseMarker, now: float) -> LeaseDecision:
    """Choose the holder among the listed markers: the lowest live id (pure)."""
    live = [ours]
    to_clear = []
    for marker in markers:
        if marker.macro_id == ours.macro_id:
            continue
        if marker.site == ours.site or marker.is_stale(now):
            to_clear.append(marker)
        else:
            live.append(marker)
    holder = min(live, key=lambda marker: marker.macro_id)
    return LeaseDecision(holder=holder, ours=ours, to_clear=tuple(to_clear))


class Lease:
    """A lease taken in Zendesk: renewed before writes, released at the end."""

    def __init__(
        self,
        gateway: ZendeskGateway,
        site: str,
        *,
        run: str | None = None,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Clock = time.time,
    ) -> None:
        self.gateway = gateway
        self.site = site
        self.run = run or make_run_id()
        self.ttl = ttl
        self.clock = clock
        self.marker: LeaseMarker | None = None
        self.cleared: list[LeaseMarker] = []
        self.renewals = 0
        self.release_error: str | None = None
        self._renewed_at = 0.0

    def acquire(self) -> list[MacroRecord]:
        """Take the lease; return the account's other macros (for the plan).

        Raises LeaseHeldError (our marker removed again) when another run holds it,
        LeaseLostError when the marker could not be created.
        """
        now = self.clock()
        expires = now + self.ttl
        try:
            created = self.gateway.create_macro(build_marker_spec(self.site, self.run, expires))
        except GuidepostError as exc:
            raise LeaseLostError(f"could not create the lease marker: {exc.detail}") from exc
        ours = LeaseMarker(created.id, self.site, self.run, expires)
        self.marker, self._renewed_at = ours, now
        records: list[MacroRecord] = []
        markers: list[LeaseMarker] = []
        try:
            for record in self.gateway.list_macros():
                marker = read_marker(record)
                if marker is None:
                    records.append(record)
                else:
                    markers.append(marker)
        except BaseException:
            self.release()
            raise
        now = self.clock()
        if now > ours.expires:
            self.release()
            raise LeaseLostError("the listing took longer than the lease; nothing written")
        decision = decide(markers, ours, now)
        if not decision.won:
            self.release()
            holder = decision.holder.describe()
            raise LeaseHeldError(f"another macro sync holds the lease ({holder})")
        for stale in decision.to_clear:
            try:
                self.gateway.delete_macro(stale.macro_id)
            except GuidepostError:
                continue  # another run cleared it first, or it is left for the next run
            self.cleared.append(stale)
        return records

    def keep_alive(self) -> str | None:
        """Renew the marker once a third of the ttl has passed; say why not when it failed."""
        if self.marker is None:
            return "the lease is not held"
        now = self.clock()
        if now > self.marker.expires:
            return f"the lease expired at {_iso(self.marker.expires)} before it was renewed"
        if now - self._renewed_at < self.ttl / 3:
            return None
        expires = now + self.ttl
        spec = build_marker_spec(self.site, self.run, expires)
        try:
            self.gateway.update_macro(self.marker.macro_id, spec)
        except GuidepostError as exc:
            return f"the lease could not be renewed ({type(exc).__name__}: {exc.detail})"
        self.marker = LeaseMarker(self.marker.macro_id, self.site, self.run, expires)
        self._renewed_at = now
        self.renewals += 1
        return None

    def release(self) -> None:
        """Delete the marker (a failure leaves it to expire; the next run here clears it)."""
        marker, self.marker = self.marker, None
        if marker is not None:
            try:
                self.gateway.delete_macro(marker.macro_id)
            except GuidepostError as exc:
                self.release_error = f"{type(exc).__name__}: {exc.detail}"
