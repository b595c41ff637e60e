"""Constants and builders shared by the connector tests (imported by conftest and tests)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from backend.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-admin-token-7f2a9c"
ORIGIN = "https://admin.test"

# Two sources: the call record (GET, auth) and a fare lookup (POST, no auth).
CONNECTORS_YAML = f"""
connectors:
  calls:
    label: 대리 어드민
    url: "{ORIGIN}/calls/{{origin_call_id}}"
    auth: {{secret: driver_admin, prefix: "Bearer "}}
    timeout_seconds: 2
    cache_ttl_seconds: 30
    max_response_bytes: 2048
    facts:
      admin_status:
        pointer: /call/status
        values: {{운행완료: completed, 배정후취소: cancelled_after_assignment}}
      original_fare: /call/fare
      driver_on_duty: {{pointer: /driver/duty, values: {{출근: true, 퇴근: false}}}}
      customer_recalling: /customer/recalling
  fares:
    label: 요금계산기
    method: POST
    url: "{ORIGIN}/fares/estimate"
    body: {{call: "{{origin_call_id}}"}}
    cache_ttl_seconds: 0
    facts:
      estimated_fare: /fare
"""

CALL_JSON = {
    "call": {"status": "운행완료", "fare": 23000},
    "driver": {"duty": "출근"},
    "customer": {"recalling": False},
}


def make_settings(**changes: object) -> Settings:
    """Settings that allow admin.test and carry SECRET as the driver_admin secret."""
    values: dict[str, object] = {
        "connector_hosts": ["admin.test"],
        "connector_secrets": {"driver_admin": SecretStr(SECRET)},
        "connector_budget_seconds": 2.0,
    }
    values.update(changes)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]
