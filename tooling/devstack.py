"""`make run`: the local Zendesk emulator with demo tickets, the backend and the harness.

Everything runs in this one process (threads), on loopback, with a random shared
secret and Zendesk token made up at start: nothing here is a production setting.
Ports: `--port BASE` puts harness, app, backend and emulator on BASE … BASE+3 (so a
second copy can run beside the first); each `--<part>-port` overrides one. Every port
is checked before anything starts: a busy one ends the run with one line naming it.
Request logs go to var/devstack.log, so the banner stays on screen.
"""

from __future__ import annotations

import argparse
import errno
import secrets
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

import uvicorn
from pydantic import SecretStr

from backend.api.app import create_app
from backend.demo import DEMO_CASES, build_new_ticket, start_emulator_with_demo
from backend.domain.fields import load_field_catalog
from backend.field_map import FIELD_MAPS
from backend.logs import configure_logging
from backend.settings import REPO_ROOT, Settings
from tooling.admin_emulator import ADMIN_DEMO_TICKETS, AdminEmulator, settings_for
from tooling.harness.proxy import ZendeskSigner
from tooling.harness.server import run_harness

if TYPE_CHECKING:
    from backend.emulator.server import EmulatorServer


def seed_admin_demo(settings: Settings, emulator: EmulatorServer) -> list[int]:
    """Create the admin demo tickets (facts left to the connectors); return their ids."""
    from backend.zendesk.zenpy_gateway import ZenpyGateway

    catalog = load_field_catalog(settings.guides_dir / "fields.yaml")
    field_map = FIELD_MAPS.read(settings.field_map) or {}
    local = settings.model_copy(
        update={"zendesk_url": emulator.url, "zendesk_token": SecretStr("emulator-demo-token")}
    )
    with ZenpyGateway.from_settings(local, wait_policy="batch") as gateway:
        ids = [
            gateway.create_ticket(build_new_ticket(ticket, catalog, field_map)).id
            for ticket in ADMIN_DEMO_TICKETS.values()
        ]
    # `POST /__emulator/reset` keeps them, like the other demo tickets.
    emulator.store.mark_initial()
    return ids


def start_backend(settings: Settings, host: str, port: int) -> uvicorn.Server:
    """Serve the backend on a background thread and wait until it listens."""
    config = uvicorn.Config(create_app(settings), host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="guidepost-backend", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise SystemExit(f"make run: the backend did not start on port {port} ({host})")
        time.sleep(0.05)
    return server


# The default ports, and their offsets from --port BASE.
DEFAULT_PORTS = {
    "harness": 8780,
    "app": 8781,
    "backend": 8000,
    "emulator": 8765,
    "admin": 8790,
}
BASE_OFFSETS = {"harness": 0, "app": 1, "backend": 2, "emulator": 3, "admin": 4}
LOG_PATH = REPO_ROOT / "var" / "devstack.log"


def resolve_ports(base: int | None, given: dict[str, int | None]) -> dict[str, int]:
    """Each part's port: given explicitly, else BASE + offset, else the default."""
    ports = {}
    for part, default in DEFAULT_PORTS.items():
        explicit = given.get(part)
        if explicit is not None:
            ports[part] = explicit
        else:
            ports[part] = base + BASE_OFFSETS[part] if base is not None else default
    return ports


def find_busy_port(host: str, ports: dict[str, int]) -> str | None:
    """One line naming the first port that cannot be bound on `host`, or None."""
    seen: dict[int, str] = {}
    for part, port in ports.items():
        if port in seen:
            return f"make run: {part} and {seen[port]} both want port {port}; give each its own"
        seen[port] = part
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # Like the servers themselves: a port in TIME_WAIT is free, a listener is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                why = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
                variable = f"{part.upper()}_PORT"
                return (
                    f"make run: port {port} ({part}) on {host} is {why}; stop what holds it, or "
                    f"pick free ports: make run PORT=<base> (or {variable}=<port>)"
                )
    return None


def main(argv: list[str] | None = None, err: TextIO | None = None) -> int:
    """Start the three parts and serve until Ctrl-C."""
    err = err or sys.stderr
    parser = argparse.ArgumentParser(prog="python -m tooling.devstack", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="base port: harness, app, backend, emulator")
    for part in DEFAULT_PORTS:
        parser.add_argument(f"--{part}-port", type=int, help=f"default {DEFAULT_PORTS[part]}")
    args = parser.parse_args(argv)
    ports = resolve_ports(
        args.port, {part: getattr(args, f"{part}_port") for part in DEFAULT_PORTS}
    )
    busy = find_busy_port(args.host, ports)
    if busy:
        err.write(busy + "\n")
        return 1
    args.emulator_port, args.backend_port = ports["emulator"], ports["backend"]
    args.harness_port, args.app_port = ports["harness"], ports["app"]
    args.admin_port = ports["admin"]
    return serve(args, err)


def serve(args: argparse.Namespace, out: TextIO) -> int:
    """Start emulator, backend and harness on the checked ports; serve until Ctrl-C."""
    host = args.host
    LOG_PATH.parent.mkdir(parents=True, exist_ok=True)
    log = LOG_PATH.open("a", encoding="utf-8", buffering=1)  # line-buffered: tail -f works
    configure_logging("INFO", stream=log)
    emulator_url = f"http://{host}:{args.emulator_port}"
    backend_url = f"http://{host}:{args.backend_port}"
    settings = Settings(
        zendesk_url=emulator_url,
        zendesk_token=SecretStr(secrets.token_urlsafe(24)),
        shared_secret=SecretStr(secrets.token_urlsafe(32)),
        session_secret=SecretStr(secrets.token_urlsafe(48)),
        zaf_public_key=ZendeskSigner.process_public_pem(),
        zaf_installation_id=ZendeskSigner.DEFAULT_INSTALLATION,
        field_map=REPO_ROOT / "var" / "field_map.json",
        cors_origins=[],
    )
    try:
        emulator, ticket_ids = start_emulator_with_demo(settings, host, args.emulator_port, log)
    except OSError as exc:  # lost a race for the port since the check
        out.write(f"make run: emulator port {args.emulator_port}: {exc.strerror}\n")
        return 1
    try:
        admin = AdminEmulator(host, getattr(args, "admin_port", 0)).start()
    except OSError as exc:
        emulator.stop()
        out.write(f"make run: admin emulator port {args.admin_port}: {exc.strerror}\n")
        return 1
    # The connectors call the admin emulator; its demo tickets are typed with only what
    # the conversation gives, the rest is fetched.
    settings = settings_for(admin, settings, LOG_PATH.parent)
    admin_ids = seed_admin_demo(settings, emulator)
    backend = start_backend(settings, host, args.backend_port)
    out.write("\nGuidepost is running locally:\n")
    out.write(f"  harness (open this) http://{host}:{args.harness_port}/\n")
    out.write(f"  backend             {backend_url}  (OpenAPI: {backend_url}/openapi.json)\n")
    out.write(f"  Zendesk emulator    {emulator_url}/api/v2/tickets.json\n")
    out.write(f"  admin emulator      {admin.url}  (connectors: {settings.connectors_file})\n\n")
    out.write("Demo tickets (id → what it shows):\n")
    for ticket_id, case in zip(ticket_ids, DEMO_CASES, strict=False):
        out.write(f"  #{ticket_id:<4} {case.guide or '-':<24} {case.branch}\n")
    for ticket_id, name in zip(admin_ids, ADMIN_DEMO_TICKETS, strict=True):
        out.write(f"  #{ticket_id:<4} {name}\n")
    out.write(f"\nRequest logs: {LOG_PATH.relative_to(REPO_ROOT)}. Ctrl-C stops everything.\n\n")
    try:
        run_harness(
            backend_url,
            emulator_url,
            settings,
            host=host,
            port=args.harness_port,
            app_port=args.app_port,
        )
    except KeyboardInterrupt:
        pass
    finally:
        backend.should_exit = True
        emulator.stop()
        admin.stop()
        log.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
