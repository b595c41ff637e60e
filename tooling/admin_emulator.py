"""A local stand-in for the company's admin systems (주차 어드민, 대리 어드민), on loopback.

It serves what `macros/connectors.yaml` expects, for the demo tickets' 원콜 IDs and car
number (backend/demo.py), with the same values the demo tickets carry (so fetching adds
no disagreement), plus records for tickets whose facts come only from the admin:
원콜 880001001 and car 34나5678 on 2024-11-21. `python -m tooling.admin_emulator` runs it
and prints the GUIDEPOST_* lines that point the backend at it.

  GET /parking/v1/usages?car_number=<plate>&date=<YYYY-MM-DD>   (Bearer parking token)
  GET /driver/v1/calls/<call id>                                (Bearer driver token)
  GET /driver/v1/calls/<call id>/fare-estimate                  (Bearer driver token)
"""

from __future__ import annotations

import argparse
import hmac
import json
import re
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import SecretStr

from backend.domain.values import parse_plate
from backend.errors import FieldValueError
from backend.settings import REPO_ROOT, Settings

DEFAULT_PORT = 8790
DEMO_ORIGIN = f"http://127.0.0.1:{DEFAULT_PORT}"
PARKING_TOKEN = "demo-parking-admin-token"  # noqa: S105 (local demo only)
DRIVER_TOKEN = "demo-driver-admin-token"  # noqa: S105 (local demo only)
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
FETCH_ONLY_CALL_ID = "880001001"
FETCH_ONLY_PLATE = ("34나5678", "2024-11-21")


def _lot(name: str, operator: str, allowed: str) -> dict[str, Any]:
    return {"name": name, "operator": operator, "post_entry_purchase_allowed": allowed}


def _ticket(day: str, start: str, end: str, reserved: str, price: int, status: str) -> Any:
    return {
        "valid_from": f"{day}T{start}:00+09:00",
        "valid_until": f"{day}T{end}:00+09:00",
        "reserved_at": f"{day}T{reserved}:00+09:00",
        "price": price,
        "status": status,
    }


# (plate, usage date) → the admin's usage record; values as the demo parking base has them.
PARKING: dict[tuple[str, str], dict[str, Any]] = {
    ("12가3456", "2024-11-20"): {
        "lot": _lot("역삼 센터필드 주차장", "나이스파크", "아니오"),
        "ticket": _ticket("2024-11-20", "14:00", "18:00", "13:30", 8500, "취소됨"),
    },
    FETCH_ONLY_PLATE: {
        "lot": _lot("판교 테크노밸리 공영주차장", "카카오모빌리티(직영)", "네"),
        "ticket": _ticket("2024-11-21", "09:00", "18:00", "08:40", 9000, "결제완료"),
    },
}


def _call(status: str = "운행완료", payment: str = "카드", **changes: Any) -> dict[str, Any]:
    """A call as the demo force_reconnect base has it, with changes on top."""
    record: dict[str, Any] = {
        "call": {
            "status": status,
            "payment": payment,
            "fare": 23000,
            "started_at": "2024-11-20 23:40",
            "departure": "서울 강남구 테헤란로 152",
            "destination": "경기 성남시 분당구 판교역로 235",
            "trip_number": "T2411200042",
        },
        "driver": {"duty": "출근"},
        "customer": {"recalling": False},
    }
    for path, value in changes.items():
        section, key = path.split("__")
        record[section][key] = value
    return record


# 원콜 ID → the 대리 어드민 call record (the demo tickets' values, so nothing disagrees).
CALLS: dict[str, dict[str, Any]] = {
    **{
        call_id: _call()
        for call_id in (
            "880000101",
            "880000203",
            "880000303",
            "880000404",
            "880000505",
            "880000606",
            "880000808",
            "880000909",
            "880000417",
        )
    },
    "880000202": _call("배정후취소", "현금"),
    "880000707": _call("운행중", driver__duty="퇴근", customer__recalling=True),
    FETCH_ONLY_CALL_ID: _call(
        call__fare=31000,
        call__started_at="2024-11-21 01:15",
        call__departure="서울 마포구 월드컵북로 396",
        call__destination="서울 송파구 올림픽로 300",
        call__trip_number="T2411210007",
    ),
}
# 원콜 ID → 요금계산기 estimate (None: nothing computed for that call).
FARE_ESTIMATES: dict[str, int | None] = {"880000606": 27000}

# Demo tickets (`explain` inputs) for backend/demo.py: the agent typed only what the
# conversation gives; with the admin emulator running the rest is fetched.
ADMIN_DEMO_TICKETS: dict[str, dict[str, Any]] = {
    "강제재연결: 어드민 정보는 자동 조회 (원콜 ID만 입력)": {
        "subject": "운행 중에 콜이 취소됐어요",
        "description": "손님이랑 같이 있고 경로 변경은 없습니다. 손님도 재연결에 동의하셨어요.",
        "fields": {
            "consult_type": "driver_force_rerun_own_normal",
            "identity_verified": True,
            "origin_call_id": FETCH_ONLY_CALL_ID,
            "customer_presence": "together",
            "fare_adjustment": False,
            "customer_consent": "agreed",
        },
    },
    "주차: 주차권 정보는 주차 어드민에서 조회": {
        "subject": "주차권 결제했는데 현장에서도 결제했어요",
        "description": "판교 주차장에서 출차할 때 15,000원을 또 냈습니다. 영수증 첨부합니다.",
        "fields": {
            "consult_type": "parking_integration_onsite_payment",
            "identity_verified": True,
            "usage_date": FETCH_ONLY_PLATE[1],
            "car_number": FETCH_ONLY_PLATE[0],
            "entry_time": "2024-11-21T10:05",
            "exit_time": "2024-11-21T16:50",
            "receipt_attached": True,
            "receipt_lot_matches": True,
            "onsite_amount": 15000,
        },
    },
}

_CALL_PATH = re.compile(r"/driver/v1/calls/([0-9]{1,20})(/fare-estimate)?")


class AdminEmulator:
    """The admin emulator server: start(), url, latency_seconds, hits, stop()."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        parking_token: str = PARKING_TOKEN,
        driver_token: str = DRIVER_TOKEN,
        latency_seconds: float = 0.0,
    ) -> None:
        if host not in LOOPBACK:
            raise ValueError("the admin emulator listens on loopback only")
        self._host = host
        self.tokens = {"parking": parking_token, "driver": driver_token}
        self.latency_seconds = latency_seconds
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The origin the connectors must call, e.g. http://127.0.0.1:8790."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._server.server_port}"

    def start(self) -> AdminEmulator:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def count(self, system: str) -> None:
        """Count one authorised request to a system (parking, driver, fare)."""
        with self._lock:
            self.hits[system] += 1

    def answer(self, path: str, query: str, authorization: str) -> tuple[int, Any]:
        """The status and JSON body for one GET (pure; the handler only does I/O)."""
        if path == "/healthz":
            return 200, {"ok": True}
        if path == "/parking/v1/usages":
            return self._parking(query, authorization)
        match = _CALL_PATH.fullmatch(path)
        if match is not None:
            return self._driver(match.group(1), bool(match.group(2)), authorization)
        return 404, {"error": "not found"}

    def _authorised(self, system: str, authorization: str) -> bool:
        expected = f"Bearer {self.tokens[system]}"
        return hmac.compare_digest(authorization.encode(), expected.encode())

    def _parking(self, query: str, authorization: str) -> tuple[int, Any]:
        if not self._authorised("parking", authorization):
            return 401, {"error": "unauthorized"}
        self.count("parking")
        params = parse_qs(query)
        try:
            plate = parse_plate("car_number", params.get("car_number", [""])[0])
        except FieldValueError:
            return 400, {"error": "car_number is not a plate"}
        record = PARKING.get((plate or "", params.get("date", [""])[0]))
        return (200, record) if record is not None else (404, {"error": "no usage"})

    def _driver(self, call_id: str, estimate: bool, authorization: str) -> tuple[int, Any]:
        if not self._authorised("driver", authorization):
            return 401, {"error": "unauthorized"}
        if call_id not in CALLS:
            return 404, {"error": "no such call"}
        if estimate:
            self.count("fare")
            return 200, {"estimate": {"fare": FARE_ESTIMATES.get(call_id)}}
        self.count("driver")
        return 200, CALLS[call_id]


class RestartableAdmin:
    """An admin emulator a test may stop and start again on the same (allow-listed) port."""

    def __init__(self, port: int = 0) -> None:
        self.server = AdminEmulator(port=port).start()
        self.port = int(self.server.url.rsplit(":", 1)[1])

    def restart(self) -> None:
        """A fresh emulator on the same port (the connectors' allow-listed host)."""
        self.server = AdminEmulator(port=self.port).start()


def _handler_for(emulator: AdminEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """Answers GET with JSON after the emulator's latency."""

        server_version = "GuidepostAdminEmulator/1"

        def do_GET(self) -> None:
            """One GET: wait the configured latency, then the JSON answer."""
            if emulator.latency_seconds > 0:
                time.sleep(emulator.latency_seconds)
            parts = urlsplit(self.path)
            status, body = emulator.answer(
                parts.path, parts.query, self.headers.get("Authorization", "")
            )
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its budget ran out): nothing to answer

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: request lines hold plates and call ids."""

    return Handler


def connectors_yaml_for(origin: str, source: Path | None = None) -> str:
    """macros/connectors.yaml with the demo origin replaced by this emulator's."""
    text = (source or REPO_ROOT / "macros" / "connectors.yaml").read_text(encoding="utf-8")
    return text.replace(DEMO_ORIGIN, origin)


def settings_for(emulator: AdminEmulator, settings: Settings, workdir: Path) -> Settings:
    """A copy of settings whose connectors call this emulator (file written to workdir)."""
    path = workdir / "connectors.yaml"
    path.write_text(connectors_yaml_for(emulator.url), encoding="utf-8")
    return settings.model_copy(
        update={
            "connectors_file": path,
            "connector_hosts": [urlsplit(emulator.url).netloc],
            "connector_secrets": {
                "parking_admin": SecretStr(emulator.tokens["parking"]),
                "driver_admin": SecretStr(emulator.tokens["driver"]),
            },
        }
    )


def main(argv: list[str] | None = None) -> int:
    """Run the admin emulator until Ctrl-C and print the settings that use it."""
    parser = argparse.ArgumentParser(prog="python -m tooling.admin_emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    emulator = AdminEmulator(port=args.port, latency_seconds=args.latency_ms / 1000).start()
    secrets = {"parking_admin": PARKING_TOKEN, "driver_admin": DRIVER_TOKEN}
    connectors_file = REPO_ROOT / "macros" / "connectors.yaml"
    if emulator.url != DEMO_ORIGIN:
        # Another port: the demo connectors must call it, so write a copy that does.
        connectors_file = REPO_ROOT / "var" / "admin_emulator_connectors.yaml"
        connectors_file.parent.mkdir(parents=True, exist_ok=True)
        connectors_file.write_text(connectors_yaml_for(emulator.url), encoding="utf-8")
    sys.stdout.write(
        f"admin emulator: {emulator.url}\n"
        f"GUIDEPOST_CONNECTORS_FILE={connectors_file}\n"
        f'GUIDEPOST_CONNECTOR_HOSTS=["{urlsplit(emulator.url).netloc}"]\n'
        f"GUIDEPOST_CONNECTOR_SECRETS={json.dumps(secrets)}\n"
    )
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
