"""The emulator with demo data as a separate process, timing how long it serves each request.

`python -m tooling.bench.emulator --field-map PATH` starts the emulator exactly as
`guidepost emulator` does (`start_emulator_with_demo`: fields bootstrap, demo tickets),
lifts the rate limit, prints `{"url", "ticket_ids"}` as one JSON line, and runs until
stdin says `quit` (or closes).

Every API answer carries `X-Emulator-Service-Ms`: the time spent in the emulator's request
handler (routing, auth, rate limit, injected latency, the store, building the answer),
i.e. what "Zendesk" spent on the request. The HTTP client, Zenpy and the loopback hop are
on the caller's side of it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from backend.demo import start_emulator_with_demo
from backend.emulator import server as emulator_server
from backend.settings import Settings

UNLIMITED_PER_MINUTE = 100_000_000
CONTROL_PREFIX = "/__emulator"


SERVICE_HEADER = "X-Emulator-Service-Ms"


def install_timer() -> None:
    """Wrap the emulator's request handler so each API answer states its service time."""
    handle = emulator_server._App.handle

    def timed_handle(self: Any, method: str, target: str, *args: Any) -> Any:
        started = time.perf_counter()
        response, rate = handle(self, method, target, *args)
        if response is not None and not target.startswith(CONTROL_PREFIX):
            elapsed_ms = (time.perf_counter() - started) * 1000
            response.headers[SERVICE_HEADER] = f"{elapsed_ms:.3f}"
        return response, rate

    # A bench-only instrument in the bench's own process; the emulator code is unchanged.
    setattr(emulator_server._App, "handle", timed_handle)  # noqa: B010


def main() -> None:
    """Run the timed emulator until `quit` (or stdin closes)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--field-map", required=True)
    args = parser.parse_args()
    install_timer()
    settings = Settings(
        _env_file=None,
        field_map=Path(args.field_map),
        zendesk_token=SecretStr("emulator-bench-token"),
    )
    server, ids = start_emulator_with_demo(settings, args.host, args.port)
    try:
        server.store.set_rate_limit(UNLIMITED_PER_MINUTE, as_default=True)
        sys.stdout.write(json.dumps({"url": server.url, "ticket_ids": ids}) + "\n")
        sys.stdout.flush()
        for line in sys.stdin:
            if line.strip() == "quit":
                break
    finally:
        server.stop()


if __name__ == "__main__":
    main()
