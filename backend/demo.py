"""Seed the emulator with the demo tickets of `backend/demo_tickets.yaml` (one per branch)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import yaml
from pydantic import SecretStr

from backend.zendesk.gateway import JSONScalar, NewTicket, ZendeskGateway

if TYPE_CHECKING:
    from backend.domain.fields import FieldCatalog
    from backend.emulator.server import EmulatorServer
    from backend.emulator.store import EmulatorStore
    from backend.settings import Settings

HERE = Path(__file__).resolve().parent
DEMO_FILE = HERE / "demo_tickets.yaml"
# The seed articles ship with the emulator (a copy of the project's shared seeds).
SEEDS_DIR = HERE / "emulator" / "seed_articles"
# The HTML probe one demo case carries in its subject, description and parking lot.
XSS_PROBE = "<img src=x onerror=alert(1)>"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class DemoCase:
    """One demo ticket: its `explain` input and the decision it is meant to show."""

    name: str
    guide: str | None
    branch: str
    ticket: dict[str, Any]
    blocks: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    eligible: bool | None = None


def build_ticket(
    entry: Mapping[str, Any], bases: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """An `explain` input from one data entry: its base's fields, its own on top, nulls removed."""
    base = bases[entry["base"]] if entry.get("base") else {}
    merged = {**base, **(entry.get("fields") or {})}
    ticket: dict[str, Any] = {
        "subject": entry["subject"],
        "description": entry["description"],
        "fields": {key: value for key, value in merged.items() if value is not None},
    }
    if entry.get("prior_reconnections"):
        ticket["prior_reconnections"] = entry["prior_reconnections"]
    return ticket


def load_demo(
    path: Path = DEMO_FILE,
) -> tuple[tuple[DemoCase, ...], dict[str, Any], tuple[str, ...]]:
    """The demo cases, the history ticket and its tags, read from the data file."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - safe loader
    bases = data["bases"]
    cases = tuple(
        DemoCase(
            name=entry["name"],
            guide=entry["guide"],
            branch=entry["branch"],
            ticket=build_ticket(entry, bases),
            blocks=tuple(entry.get("blocks", ())),
            notices=tuple(entry.get("notices", ())),
            eligible=entry.get("eligible"),
        )
        for entry in data["cases"]
    )
    history = data["history"]
    return cases, build_ticket(history, bases), tuple(history["tags"])


DEMO_CASES, HISTORY_TICKET, HISTORY_TAGS = load_demo()
DEMO_TICKETS: list[dict[str, Any]] = [case.ticket for case in DEMO_CASES]
# An earlier, already applied forced reconnection: its tags are what search counts as a 강콜.
HISTORY_ORIGIN_CALL_ID = str(HISTORY_TICKET["fields"]["origin_call_id"])
HISTORY_FORCED_CALL_ID = str(HISTORY_TICKET["fields"]["forced_call_id"])


def build_new_ticket(
    ticket: Mapping[str, Any],
    fields: FieldCatalog,
    field_map: Mapping[str, int],
    tags: tuple[str, ...] = (),
) -> NewTicket:
    """Convert an `explain` input into a ticket to create (semantic values → Zendesk)."""
    custom: dict[int, JSONScalar] = {}
    for key, value in ticket.get("fields", {}).items():
        if not fields.get(key).zendesk or key not in field_map:
            continue
        encoded = fields.zendesk_value(key, value)
        if encoded is not None:
            custom[field_map[key]] = encoded
    return NewTicket(
        subject=str(ticket.get("subject") or ""),
        description=str(ticket.get("description") or ""),
        tags=tags,
        custom_fields=custom,
    )


def seed_demo(
    gateway: ZendeskGateway, fields: FieldCatalog, field_map: Mapping[str, int]
) -> list[int]:
    """Create the history ticket, then every demo ticket; return the demo ids in order."""
    gateway.create_ticket(build_new_ticket(HISTORY_TICKET, fields, field_map, HISTORY_TAGS))
    return [
        gateway.create_ticket(build_new_ticket(ticket, fields, field_map)).id
        for ticket in DEMO_TICKETS
    ]


def print_demo(url: str, ids: list[int], out: TextIO) -> None:
    """Print the emulator URL and every demo ticket with the branch it shows."""
    out.write(f"Zendesk emulator: {url}\n")
    out.write(f"{'ticket':>7}  {'guide':<24} {'branch':<44} case\n")
    for ticket_id, case in zip(ids, DEMO_CASES, strict=True):
        guide = case.guide or "-"
        if case.guide and case.branch == "none":
            guide = f"{case.guide}?"  # suggested from the text, 상담유형 empty
        out.write(f"{ticket_id:>7}  {guide:<24} {case.branch:<44} {case.name}\n")
    out.write(
        f"History: an earlier ticket carries fr_origin_{HISTORY_ORIGIN_CALL_ID} + fr_forced "
        f"(원콜 {HISTORY_ORIGIN_CALL_ID} was already reconnected once).\n"
    )
    out.flush()


# Search's indexing lag in the demo account: "It can take up to a few minutes for new
# tickets, users, and other resources to be indexed for search"
# (https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/).
# What the demo seeds is indexed already; what is written later shows after this lag.
DEMO_SEARCH_LAG_SECONDS = 60.0


def start_emulator_with_demo(
    settings: Settings,
    host: str,
    port: int,
    log: TextIO | None = None,
    *,
    search_lag_seconds: float = DEMO_SEARCH_LAG_SECONDS,
) -> tuple[EmulatorServer, list[int]]:
    """Start the emulator and fill it: articles, custom fields (field map), demo tickets."""
    from backend.bootstrap import bootstrap_fields
    from backend.domain.fields import load_field_catalog
    from backend.emulator import server as emulator_server
    from backend.zendesk.zenpy_gateway import ZenpyGateway

    server = emulator_server.EmulatorServer(host=host, port=port).start()
    try:
        _load_articles(server.store, settings)
        local = settings.model_copy(
            update={"zendesk_url": server.url, "zendesk_token": SecretStr("emulator-demo-token")}
        )
        catalog = load_field_catalog(settings.guides_dir / "fields.yaml")
        with ZenpyGateway.from_settings(local, wait_policy="batch") as gateway:
            field_map = bootstrap_fields(
                gateway, catalog, settings.field_map, log=log or sys.stderr
            )
            ids = seed_demo(gateway, catalog, field_map)
        # `POST /__emulator/reset` now returns to the demo data, not to an empty account.
        server.store.mark_initial()
        server.store.search_lag_seconds = search_lag_seconds
    except BaseException:
        server.stop()
        raise
    return server, ids


def run_emulator_with_demo(settings: Settings, host: str, port: int) -> None:
    """Serve the emulator with seeded articles, fields and demo tickets until Ctrl-C."""
    server, ids = start_emulator_with_demo(settings, host, port)
    try:
        print_demo(server.url, ids, sys.stdout)
        sys.stdout.write(f"field map: {settings.field_map}\nCtrl-C to stop.\n")
        sys.stdout.flush()
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _load_articles(store: EmulatorStore, settings: Settings) -> None:
    """Load the seed Help Center articles under the deployment's article ids, if present."""
    try:
        from backend.emulator.articles import load_seed_articles
    except ImportError:  # an emulator without article seeding: run without articles
        return
    if not SEEDS_DIR.is_dir():
        return
    ids = settings.article_ids
    by_title = {
        "주차권": ids.get("parking_onsite_payment", 1001),
        "강제재연결": ids.get("force_reconnect", 1002),
    }
    load_seed_articles(store, SEEDS_DIR, by_title, settings.help_center_locale)
