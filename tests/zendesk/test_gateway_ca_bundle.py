"""The gateway's `ca_bundle` option: trust one more CA, never turn verification off."""

from __future__ import annotations

from backend.zendesk.zenpy_gateway import ZenpyGateway


def _gateway(ca_bundle: str | None) -> ZenpyGateway:
    return ZenpyGateway(subdomain="acme", email="a@example.com", token="t", ca_bundle=ca_bundle)


def test_default_session_verifies_with_the_system_store() -> None:
    with _gateway(None) as gateway:
        assert gateway._session().verify is True


def test_ca_bundle_is_the_sessions_verify_path() -> None:
    with _gateway("/tmp/bench-ca.pem") as gateway:
        assert gateway._session().verify == "/tmp/bench-ca.pem"
