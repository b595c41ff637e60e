"""The sync lease held in Zendesk: lowest live marker wins, orphans and stale ones cleared."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import given
from hypothesis import strategies as st

from backend.macro_sync.generator import DesiredMacro, build_desired, read_key
from backend.macro_sync.lease import (
    DEFAULT_TTL_SECONDS,
    LEASE_TITLE,
    SKEW_GRACE_SECONDS,
    Lease,
    LeaseMarker,
    build_marker_spec,
    decide,
    read_marker,
)
from backend.macro_sync.sync import sync_macros
from backend.zendesk.fake_gateway import FakeGateway
from backend.zendesk.gateway import MacroAction, MacroRecord, MacroSpec

NOW = 1_800_000_000.0


def _desired(n: int = 4) -> list[DesiredMacro]:
    """Small synthetic macros."""
    return [
        build_desired(f"g/b/t{i}", f"제목 {i}", (MacroAction("comment_value_html", f"본문 {i}"),))
        for i in range(n)
    ]


class Clock:
    """A settable clock."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _add_marker(fake: FakeGateway, site: str, expires: float, run: str = "run x") -> int:
    """Another run's marker, already in Zendesk."""
    return fake.create_macro(build_marker_spec(site, run, expires)).id


def _markers(fake: FakeGateway) -> list[LeaseMarker]:
    """The lease markers Zendesk holds."""
    return [m for r in fake.macros.values() if (m := read_marker(r)) is not None]


def _managed(fake: FakeGateway) -> list[MacroRecord]:
    """The macros with a Guidepost key."""
    return [r for r in fake.macros.values() if read_key(r.description) is not None]


def test_marker_is_an_inactive_unmanaged_macro_that_reads_back() -> None:
    spec = build_marker_spec("host:/tmp/a.lock", "pid 1 ab", NOW + 60)
    assert spec.active is False
    assert spec.title == LEASE_TITLE
    assert read_key(spec.description) is None  # every sync, old or new, leaves it alone
    fake = FakeGateway()
    record = fake.create_macro(spec)
    assert read_marker(record) == LeaseMarker(record.id, "host:/tmp/a.lock", "pid 1 ab", NOW + 60)
    assert read_marker(fake.create_macro(_desired(1)[0].spec)) is None


def test_unreadable_marker_counts_as_long_expired() -> None:
    fake = FakeGateway()
    spec = build_marker_spec("s", "r", NOW)
    broken = fake.create_macro(
        spec.__class__(spec.title, "guidepost-lease:v1\nexpires: soon", spec.actions, False)
    )
    marker = read_marker(broken)
    assert marker is not None
    assert marker.is_stale(NOW)


def test_holder_syncs_and_removes_its_marker() -> None:
    fake = FakeGateway()
    lease = Lease(fake, "site-a", clock=Clock())
    report = sync_macros(fake, _desired(), lease=lease, verify=True)
    assert report.ok, report.summary_lines()
    assert len(_managed(fake)) == 4
    assert _markers(fake) == []
    assert report.plan is not None
    assert report.plan.unmanaged == 0  # the own marker is not listed as somebody's macro


def test_lower_live_marker_of_another_site_wins_and_nothing_is_written() -> None:
    fake = FakeGateway()
    holder = _add_marker(fake, "site-b", NOW + 300)
    report = sync_macros(fake, _desired(), lease=Lease(fake, "site-a", clock=Clock()))
    assert report.lease_held
    assert not report.ok
    assert report.summary_lines()[0].startswith("macros sync: SKIPPED, nothing written")
    assert "site site-b" in report.summary_lines()[0]
    assert _managed(fake) == []
    assert [m.macro_id for m in _markers(fake)] == [holder]  # ours removed again


def test_expired_within_the_grace_still_holds() -> None:
    fake = FakeGateway()
    _add_marker(fake, "site-b", NOW - SKEW_GRACE_SECONDS / 2)
    assert sync_macros(fake, _desired(), lease=Lease(fake, "site-a", clock=Clock())).lease_held


def test_orphan_of_this_site_and_stale_markers_are_cleared() -> None:
    fake = FakeGateway()
    orphan = _add_marker(fake, "site-a", NOW + 300, run="killed run")
    stale = _add_marker(fake, "site-b", NOW - SKEW_GRACE_SECONDS - 1)
    report = sync_macros(fake, _desired(), lease=Lease(fake, "site-a", clock=Clock()))
    assert report.ok, report.summary_lines()
    assert _markers(fake) == []
    assert len(_managed(fake)) == 4
    cleared = [line for line in report.summary_lines() if "cleared the marker" in line]
    assert [str(orphan) in cleared[0], str(stale) in cleared[1]] == [True, True]


def test_a_higher_live_marker_does_not_block_the_lowest() -> None:
    fake = FakeGateway()
    lease = Lease(fake, "site-a", clock=Clock())
    ours = lease.acquire()
    assert ours == []
    assert lease.marker is not None
    later = _add_marker(fake, "site-b", NOW + 300)
    # site-b's run lists now: ours is lower and live, so it loses.
    other = Lease(fake, "site-b", clock=Clock())
    assert sync_macros(fake, _desired(), lease=other).lease_held
    lease.release()
    assert [m.macro_id for m in _markers(fake)] == [later]


class _Ticking:
    """A clock that moves `step` seconds at every reading."""

    def __init__(self, step: float) -> None:
        self.now = NOW
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_long_run_renews_the_marker() -> None:
    fake = FakeGateway()
    lease = Lease(fake, "site-a", ttl=30.0, clock=_Ticking(4.0))
    report = sync_macros(fake, _desired(12), lease=lease)
    assert report.ok, report.summary_lines()
    assert lease.renewals >= 2
    assert _markers(fake) == []


def test_lost_marker_stops_the_writes() -> None:
    fake = FakeGateway()
    lease = Lease(fake, "site-a", ttl=30.0, clock=_Ticking(4.0))

    def take_marker_away(item: object, ok: bool) -> None:
        if lease.marker is not None and len(_managed(fake)) == 3:
            fake.delete_macro(lease.marker.macro_id)  # another site took it for stale

    report = sync_macros(fake, _desired(12), lease=lease, on_write=take_marker_away)
    assert not report.ok
    assert report.stopped is not None
    assert "could not be renewed" in report.stopped
    assert 3 <= len(report.done) < 12
    assert len(report.done) + len(report.not_attempted) == 12


def test_marker_that_outlived_its_ttl_before_the_listing_loses() -> None:
    fake = FakeGateway()
    report = sync_macros(
        fake, _desired(), lease=Lease(fake, "site-a", ttl=1.0, clock=_Ticking(5.0))
    )
    assert not report.ok
    assert (report.error or "").startswith("could not take the lease: the listing took longer")
    assert _managed(fake) == []
    assert _markers(fake) == []


def _marker_sets() -> st.SearchStrategy[list[LeaseMarker]]:
    """Markers of distinct sites with distinct ids, some live, some expired."""
    offsets = st.sampled_from([-1_000.0, -SKEW_GRACE_SECONDS / 2, 10.0, DEFAULT_TTL_SECONDS])
    return st.lists(
        st.tuples(st.integers(1, 10_000), offsets), min_size=1, max_size=8, unique_by=lambda t: t[0]
    ).map(
        lambda rows: [
            LeaseMarker(ident, f"site-{n}", f"run {n}", NOW + offset)
            for n, (ident, offset) in enumerate(rows)
        ]
    )


@given(_marker_sets())
def test_runs_that_see_the_same_listing_elect_at_most_one_holder(
    markers: list[LeaseMarker],
) -> None:
    """Every live run applies `decide` to the same listing: one of them, the lowest, wins."""
    live = [m for m in markers if not m.is_stale(NOW)]
    winners = [m for m in live if decide(markers, m, NOW).won]
    if live:
        assert winners == [min(live, key=lambda m: m.macro_id)]
    else:
        assert winners == []


class _OtherHostFirst:
    """A gateway on which another host's whole sync lands just before our first create."""

    def __init__(self, inner: FakeGateway, desired: list[DesiredMacro], every_list: bool = False):
        self.inner = inner
        self.desired = desired
        self.every_list = every_list
        self.raced = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def create_macro(self, spec: MacroSpec) -> MacroRecord:
        """Let the other host run once, then create."""
        if not self.raced:
            self.raced = True
            assert sync_macros(self.inner, self.desired).ok
        return self.inner.create_macro(spec)

    def list_macros(self) -> Iterator[MacroRecord]:
        """List; a host that never stops adds a twin of every macro after each listing."""
        records = list(self.inner.list_macros())
        if self.every_list and self.raced:
            for macro in self.desired:
                self.inner.create_macro(macro.spec)
        return iter(records)


def _active_per_key(fake: FakeGateway) -> dict[str, int]:
    """Active managed macros per key."""
    counts: dict[str, int] = {}
    for record in _managed(fake):
        key = read_key(record.description)
        if record.active and key is not None:
            counts[key] = counts.get(key, 0) + 1
    return counts


def test_recheck_retires_the_twins_of_a_run_the_lease_did_not_keep_out() -> None:
    fake = FakeGateway()
    desired = _desired(3)
    report = sync_macros(_OtherHostFirst(fake, desired), desired, verify=True)  # type: ignore[arg-type]
    assert report.ok, report.summary_lines()
    assert [item.action for item in report.done] == ["create"] * 3 + ["deactivate"] * 3
    assert any("recheck: 3 write(s)" in line for line in report.summary_lines())
    assert _active_per_key(fake) == {macro.key: 1 for macro in desired}
    # The other host's macros (lower ids) are the ones kept.
    kept = sorted(r.id for r in _managed(fake) if r.active)
    assert kept == sorted(r.id for r in _managed(fake))[:3]


def test_without_verify_the_twins_stay_until_the_next_run() -> None:
    fake = FakeGateway()
    desired = _desired(3)
    assert sync_macros(_OtherHostFirst(fake, desired), desired).ok  # type: ignore[arg-type]
    assert _active_per_key(fake) == {macro.key: 2 for macro in desired}


def test_recheck_gives_up_when_another_run_never_stops() -> None:
    fake = FakeGateway()
    desired = _desired(2)
    racing = _OtherHostFirst(fake, desired, every_list=True)
    report = sync_macros(racing, desired, verify=True)  # type: ignore[arg-type]
    assert not report.ok
    assert report.stopped is not None
    assert "still changing after 5 listings" in report.stopped
    assert report.summary_lines()[0].startswith("macros sync: FAILED")
