"""Connections that live: TLS handshakes per guidance against the emulator over HTTPS.

Real Zendesk is HTTPS only, so a new connection costs a TLS handshake (one to two round
trips) that the loopback http emulator hides. Here the emulator (demo data, in this
process) listens behind `ssl` with a certificate from a local CA made at bench time
(`cryptography`); the server counts every accepted connection, each one a full TLS
handshake (Python's server keeps no session cache across our fresh clients). The
gateway trusts the local CA through its `ca_bundle` option (verification stays on).
Guidance (`service.get_guidance`, the request's Zendesk work) runs from a few threads:

- `per process`: one `ZenpyGateway` for all requests (production since the trust branch);
- `per request` (what-if, the old way): a new gateway per request, closed after it.
"""

from __future__ import annotations

import datetime
import io
import ipaddress
import ssl
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from tooling.bench.common import fmt
from tooling.bench.markdown import Verdict, table

THREADS = 4  # a few threadpool workers, as uvicorn's endpoint threads would be
TOKEN = "emulator-bench-token"  # noqa: S105 (the emulator accepts any)


@dataclass
class TlsRun:
    """Handshakes and time per guidance for one way of holding the gateway."""

    mode: str
    requests: int
    warm_up: int
    handshakes: int
    mean_ms: float

    @property
    def per_request(self) -> float:
        """TLS handshakes per guidance after warm-up."""
        return self.handshakes / self.requests if self.requests else float("nan")

    def to_json(self) -> dict[str, Any]:
        """The run as JSON."""
        return {**vars(self), "per_request": self.per_request}


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_local_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a 127.0.0.1/localhost server certificate signed by it: (ca, cert, key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Guidepost bench CA"))
        .issuer_name(_name("Guidepost bench CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class HandshakeCounter:
    """Serve an emulator's listening socket over TLS and count accepted connections."""

    def __init__(self, httpd: Any, cert: Path, key: Path) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.count = 0
        self._lock = threading.Lock()
        # Same file descriptor, now TLS: the serving thread's selector keeps working.
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        accept = httpd.get_request

        def counted() -> Any:
            connection = accept()  # the TLS handshake happens here
            with self._lock:
                self.count += 1
            return connection

        httpd.get_request = counted


def _measure(mode: str, run_one: Any, ids: list[int], warm_up: int, count: int, hs: Any) -> TlsRun:
    """Warm up, then run `count` guidances from THREADS threads, counting new handshakes."""
    # Every pool thread must have warmed its own session: a barrier holds each first call
    # until THREADS of them run at once, so no thread is left cold by the scheduler.
    barrier = threading.Barrier(THREADS)

    def warm_thread(ticket_id: int) -> None:
        run_one(ticket_id)
        barrier.wait(timeout=120)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(warm_thread, [ids[i % len(ids)] for i in range(THREADS)]))
        list(pool.map(run_one, [ids[i % len(ids)] for i in range(warm_up)]))
        before = hs.count
        started = time.perf_counter()
        list(pool.map(run_one, [ids[i % len(ids)] for i in range(count)]))
        elapsed = time.perf_counter() - started
    return TlsRun(mode, count, warm_up, hs.count - before, elapsed * 1000 * THREADS / count)


def run_tls(requests: int = 200) -> list[TlsRun]:
    """Both modes against one HTTPS emulator with the demo data."""
    from backend.api.deps import load_engine
    from backend.demo import start_emulator_with_demo
    from backend.domain.engine import EngineOptions
    from backend.service import ServiceContext, get_guidance
    from backend.settings import Settings
    from backend.zendesk.zenpy_gateway import RetryPolicy, ZenpyGateway

    with tempfile.TemporaryDirectory() as raw:
        folder = Path(raw)
        ca, cert, key = make_local_ca(folder)
        settings = Settings(
            _env_file=None, field_map=folder / "map.json", zendesk_token=SecretStr(TOKEN)
        )
        server, ids = start_emulator_with_demo(settings, "127.0.0.1", 0, log=io.StringIO())
        try:
            server.store.set_rate_limit(100_000_000, as_default=True)
            # The emulator's http server object (bench-only: TLS wraps it from outside).
            counter = HandshakeCounter(server._httpd, cert, key)
            https = server.url.replace("http://", "https://")
            engine = load_engine(settings.guides_dir)
            ctx = ServiceContext(
                catalog=engine.catalog,
                renderer=engine.renderer,
                options=EngineOptions(admin_call_url=settings.admin_call_url),
                field_map=settings_field_map(settings),
            )

            def make() -> ZenpyGateway:
                return ZenpyGateway(
                    subdomain="emulator",
                    email="bench@example.com",
                    token=TOKEN,
                    policy=RetryPolicy("interactive", 3.0, 2),
                    base_url=https,
                    ca_bundle=str(ca),
                )

            shared = make()

            def per_process(ticket_id: int) -> None:
                get_guidance(shared, ticket_id, ctx)

            def per_request(ticket_id: int) -> None:
                with make() as gateway:
                    get_guidance(gateway, ticket_id, ctx)

            warm = 2 * THREADS
            for ticket_id in ids:  # templates and parsers warm before either mode is timed
                per_process(ticket_id)
            runs = [
                _measure("per process", per_process, ids, warm, requests, counter),
                _measure("per request (old)", per_request, ids, warm, requests, counter),
            ]
            shared.close()
            return runs
        finally:
            server.stop()


def settings_field_map(settings: Any) -> dict[str, int] | None:
    """The field map `start_emulator_with_demo` wrote."""
    from backend.field_map import FIELD_MAPS

    return FIELD_MAPS.read(settings.field_map)


def tls_section(runs: list[TlsRun]) -> tuple[str, list[Verdict]]:
    """Report the handshake counts, old vs new."""
    if not runs:
        return "", []
    rows = [
        [
            r.mode,
            str(r.requests),
            str(r.handshakes),
            fmt(r.per_request, 2),
            fmt(r.mean_ms, 1),
        ]
        for r in runs
    ]
    headers = ["gateway", ">guidances", ">TLS handshakes", ">per guidance", ">ms per guidance"]
    text = f"""### Connections that live: TLS handshakes against an HTTPS emulator

**Method.** `tooling/bench/tls.py`: the emulator with the demo data serves TLS with a
certificate of a local CA made at bench time (`cryptography`; the gateway's `ca_bundle`
option trusts it, verification stays on) and counts each accepted connection — each a
full TLS handshake. Guidance (`service.get_guidance`: the request's Zendesk reads and the
decision) runs from {THREADS} threads after a warm-up of {2 * THREADS}; ms per guidance is
wall time × threads / guidances (loopback, no injected latency: against real Zendesk each
handshake adds one to two round trips).

{table(headers, rows)}
"""
    new = runs[0]
    verdict = Verdict(
        "2 HTTP",
        "TLS handshakes per request after warm-up = 0",
        f"{fmt(new.per_request, 2)} (per-request gateway: {fmt(runs[-1].per_request, 2)})",
        new.handshakes == 0,
    )
    return text, [verdict]
