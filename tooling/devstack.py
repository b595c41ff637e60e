"""`make run`: the local Zendesk emulator with demo tickets, the backend and the harness.

Everything runs in this one process (threads), on loopback, with a random shared
secret and Zendesk token made up at start: nothing here is a production setting.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import threading
import time

import uvicorn
from pydantic import SecretStr

from backend.api.app import create_app
from backend.demo import DEMO_CASES, start_emulator_with_demo
from backend.settings import REPO_ROOT, Settings
from tooling.harness.proxy import ZendeskSigner
from tooling.harness.server import run_harness


def start_backend(settings: Settings, host: str, port: int) -> uvicorn.Server:
    """Serve the backend on a background thread and wait until it listens."""
    config = uvicorn.Config(create_app(settings), host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="guidepost-backend", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise SystemExit(f"the backend did not start on {host}:{port}")
        time.sleep(0.05)
    return server


def main(argv: list[str] | None = None) -> int:
    """Start the three parts and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m tooling.devstack", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--emulator-port", type=int, default=8765)
    parser.add_argument("--backend-port", type=int, default=8000)
    parser.add_argument("--harness-port", type=int, default=8780)
    parser.add_argument("--app-port", type=int, default=8781)
    args = parser.parse_args(argv)

    host = args.host
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
    emulator, ticket_ids = start_emulator_with_demo(settings, host, args.emulator_port)
    backend = start_backend(settings, host, args.backend_port)
    out = sys.stderr
    out.write("\nGuidepost is running locally:\n")
    out.write(f"  harness (open this) http://{host}:{args.harness_port}/\n")
    out.write(f"  backend             {backend_url}  (OpenAPI: {backend_url}/openapi.json)\n")
    out.write(f"  Zendesk emulator    {emulator_url}/api/v2/tickets.json\n\n")
    out.write("Demo tickets (id → what it shows):\n")
    for ticket_id, case in zip(ticket_ids, DEMO_CASES, strict=False):
        out.write(f"  #{ticket_id:<4} {case.guide or '-':<24} {case.branch}\n")
    out.write("\nCtrl-C stops everything.\n\n")
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
