"""The emulator with demo data as a separate process, timing how long it serves each request.

`python -m tooling.bench.emulator --field-map PATH` starts the emulator exactly as
`guidepost emulator` does (`start_emulator_with_demo`: fields bootstrap, demo tickets),
lifts the rate limit, prints `{"url", "ticket_ids"}` as one JSON line, and runs until
stdin says `quit` (or closes).

Every API answer carries `X-Emulator-Service-Ms`: what "Zendesk" spent on the request,
from the moment the emulator's HTTP handler has read the request line (before it parses
the headers) until the answer is built (status line and headers formatted, body
serialized: the `end_headers` call, before the socket write). In between: header
parsing (`http.server` uses the `email` package), the body read, routing, auth, rate
limit, injected latency, the store. The idle keep-alive wait for the next request line
is outside it; the HTTP client, Zenpy, the loopback hop and the thread's wake-up when
bytes arrive are on the caller's side of it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from backend.demo import start_emulator_with_demo
from backend.emulator import server as emulator_server
from backend.settings import Settings

UNLIMITED_PER_MINUTE = 100_000_000
CONTROL_PREFIX = "/__emulator"


SERVICE_HEADER = "X-Emulator-Service-Ms"


def install_timer() -> Callable[[], None]:
    """Stamp each API answer with the handler's time from request line to built answer.

    Returns a function that removes the instrument again.
    """
    handler = emulator_server._RequestHandler
    parse_request = handler.parse_request
    end_headers = handler.end_headers
    saved = {name: handler.__dict__.get(name) for name in ("parse_request", "end_headers")}

    def timed_parse_request(self: Any) -> bool:
        # `handle_one_request` has just read the request line (the idle keep-alive wait
        # is over); the headers are parsed from here on.
        self.bench_started = time.perf_counter()
        return bool(parse_request(self))

    def timed_end_headers(self: Any) -> None:
        # Called once the answer is built (body serialized), before anything is written.
        started = getattr(self, "bench_started", None)
        if started is not None and not getattr(self, "path", "").startswith(CONTROL_PREFIX):
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.send_header(SERVICE_HEADER, f"{elapsed_ms:.3f}")
        end_headers(self)

    # A bench-only instrument in the bench's own process; the emulator code is unchanged.
    setattr(handler, "parse_request", timed_parse_request)  # noqa: B010
    setattr(handler, "end_headers", timed_end_headers)  # noqa: B010

    def restore() -> None:
        for name, own in saved.items():
            if own is None:
                delattr(handler, name)  # inherited from BaseHTTPRequestHandler again
            else:
                setattr(handler, name, own)

    return restore


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
