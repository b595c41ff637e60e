"""connectors.yaml: a bad definition gets a precise error (file, connector, key, why)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from connector_helpers import CONNECTORS_YAML, ROOT, SECRET, make_settings
from pydantic import SecretStr

from backend.connectors import check_connectors, load_checked_connectors
from backend.connectors.check import check_connectors_file, check_for_guides
from backend.connectors.config import ConnectorSet, Pointer, load_connectors, read_connectors
from backend.domain.fields import FieldCatalog
from backend.errors import GuideDataError, SettingsError
from backend.settings import Settings

WriteYaml = Callable[[str], Path]


def one(body: str, name: str = "calls") -> str:
    """A connectors.yaml with one connector whose spec is `body` (YAML flow mapping)."""
    return f"connectors:\n  {name}: {body}\n"


GOOD = (
    '{label: 대리 어드민, url: "https://admin.test/calls/{origin_call_id}", '
    "facts: {original_fare: /fare}}"
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '{label: x, url: "https://admin.test/{origin_call_id}", facts: {a: /a}, timeout: 1}',
            "connector 'calls': timeout: Extra inputs are not permitted",
        ),
        (
            '{label: x, url: "https://{origin_call_id}.admin.test/", facts: {a: /a}}',
            "connector 'calls': url: placeholders may not appear in the scheme, host or port",
        ),
        (
            '{label: x, url: "https://admin.test:{origin_call_id}/", facts: {a: /a}}',
            "connector 'calls': url: placeholders may not appear in the scheme, host or port",
        ),
        (
            '{label: x, url: "{origin_call_id}://admin.test/", facts: {a: /a}}',
            "connector 'calls': url: the URL must start with https://",
        ),
        (
            '{label: x, url: "ftp://admin.test/{origin_call_id}", facts: {a: /a}}',
            "connector 'calls': url: the URL must start with https://",
        ),
        (
            '{label: x, url: "https://user:pw@admin.test/", facts: {a: /a}}',
            "connector 'calls': url: the URL needs a host and no user:password@ part",
        ),
        (
            '{label: x, url: "https://admin.test/a#{origin_call_id}", facts: {a: /a}}',
            "connector 'calls': url: the URL may not have a #fragment",
        ),
        (
            '{label: x, url: "https://admin.test/{Origin}", facts: {a: /a}}',
            "connector 'calls': url: a brace that is not a {fact_key} placeholder",
        ),
        (
            '{label: x, url: "https://admin.test/a", facts: {a: "fare"}}',
            "connector 'calls': facts.a.pointer: JSON pointer 'fare' must be empty or start with /",
        ),
        (
            '{label: x, url: "https://admin.test/a", facts: {a: {pointer: /a~2b}}}',
            "connector 'calls': facts.a.pointer: JSON pointer '/a~2b': ~ must be",
        ),
        (
            '{label: x, url: "https://admin.test/a", facts: {}}',
            "connector 'calls': facts: Dictionary should have at least 1 item",
        ),
        (
            '{label: x, url: "https://admin.test/a", facts: {a: /a}, '
            'auth: {secret: k, header: "X Y"}}',
            "connector 'calls': auth.header: is not a valid HTTP header name",
        ),
        (
            '{label: x, url: "https://admin.test/a", facts: {a: /a}, auth: {header: X-Key}}',
            "connector 'calls': auth.secret: Field required",
        ),
        (
            '{label: x, url: "https://admin.test/a", facts: {a: /a}, method: DELETE}',
            "connector 'calls': method: Input should be 'GET' or 'POST'",
        ),
        (
            '{label: x, url: "https://admin.test/a", facts: {a: /a}, body: {a: "{b}"}}',
            "connector 'calls': body: only sent with method: POST",
        ),
        (
            '{label: x, url: "https://admin.test/a", facts: {a: /a}, timeout_seconds: 0}',
            "connector 'calls': timeout_seconds: Input should be greater than 0",
        ),
        (
            '{label: x, url: "https://admin.test/a", facts: {a: /a}, max_response_bytes: 99999999}',
            "connector 'calls': max_response_bytes: Input should be less than or equal to",
        ),
        (
            '{label: x, url: "https://admin.test/a", '
            "facts: {a: {pointer: /a, values: {yes: true}}}}",
            "connector 'calls': facts.a.values: key True must be quoted text",
        ),
    ],
)
def test_structure_errors_name_file_connector_and_key(
    write_yaml: WriteYaml, body: str, expected: str
) -> None:
    """Each structural mistake is reported with the file, the connector and the key."""
    path = write_yaml(one(body))
    with pytest.raises(GuideDataError) as caught:
        load_connectors(path)
    assert caught.value.detail.startswith(f"{path}: ")
    assert expected in caught.value.detail


def test_bad_name_bad_top_level_and_bad_yaml(write_yaml: WriteYaml) -> None:
    """Connector names, the top-level shape and YAML syntax are checked too."""
    path = write_yaml(one(GOOD, name="Calls-1"))
    assert read_connectors(path)[1] == [
        f"{path}: connector name 'Calls-1' must be lower_snake_case"
    ]
    path = write_yaml("sources: {}\n")
    assert read_connectors(path)[1] == [f"{path}: expected one top-level mapping `connectors:`"]
    path = write_yaml("connectors: {a: [\n")
    assert read_connectors(path)[1][0].startswith(f"{path}: while parsing")


def test_every_broken_connector_is_reported_and_good_ones_kept(write_yaml: WriteYaml) -> None:
    """Problems are collected over the whole file, not only the first one."""
    text = (
        "connectors:\n"
        f"  good: {GOOD}\n"
        '  bad_url: {label: x, url: "https://{car_number}/", facts: {a: /a}}\n'
        '  bad_key: {label: x, url: "https://admin.test/", facts: {a: /a}, cache: 3}\n'
    )
    connectors, problems = read_connectors(write_yaml(text))
    assert [c.name for c in connectors] == ["good"]
    assert len(problems) == 2
    assert "'bad_url': url:" in problems[0]
    assert "'bad_key': cache: Extra inputs" in problems[1]


def test_catalog_checks(write_yaml: WriteYaml, fields: FieldCatalog) -> None:
    """Unknown fact keys, server-computed facts, self-needs, bad value maps, duplicates."""
    text = (
        "connectors:\n"
        "  one:\n"
        "    label: x\n"
        '    url: "https://admin.test/{origin_call_id}/{no_such_key}"\n'
        "    facts:\n"
        "      origin_call_id: /id\n"
        "      fare: /fare\n"
        "      prior_reconnections: /count\n"
        "      driver_on_duty: {pointer: /duty, values: {출근: maybe}}\n"
        "      admin_status: {pointer: /status, values: {완료: finished}}\n"
        "  two:\n"
        "    label: y\n"
        '    url: "http://10.0.0.7/calls"\n'
        "    facts: {driver_on_duty: /duty}\n"
    )
    path = write_yaml(text)
    problems = check_connectors_file(path, fields)
    where = f"{path}: connector"
    assert problems == [
        f"{where} 'one': url/body: placeholder {{no_such_key}} is not a field key",
        f"{where} 'one': facts.origin_call_id: a connector cannot fetch a fact it needs",
        f"{where} 'one': facts.fare: not a field key of fields.yaml",
        f"{where} 'one': facts.prior_reconnections: computed by the server, never fetched",
        f"{where} 'one': facts.driver_on_duty.values.출근: driver_on_duty: "
        "'maybe' is not yes/no (true/false, 예/아니오)",
        f"{where} 'one': facts.admin_status.values.완료: admin_status: unknown option code "
        "'finished' (expected one of: cancelled_after_assignment, completed, "
        "stopped_by_report, in_progress, other)",
        f"{where} 'two': url: plain http is allowed only on loopback (127.0.0.1, localhost, "
        "::1); use https",
        f"{where} 'two': facts.driver_on_duty: already fetched by connector 'one'",
    ]


def test_settings_checks(connectors: ConnectorSet, fields: FieldCatalog) -> None:
    """With settings: host not allow-listed, secret unset or a placeholder, bad host entry."""
    assert check_connectors(connectors, fields, make_settings()) == []
    settings = make_settings(
        connector_hosts=["admin.test:8443", "bad host/x"],
        connector_secrets={"driver_admin": SecretStr("change-me")},
    )
    where = f"{connectors.path}: connector"
    assert check_connectors(connectors, fields, settings) == [
        f"{where} 'calls': url: host admin.test:443 is not in GUIDEPOST_CONNECTOR_HOSTS",
        f"{where} 'calls': auth.secret: 'driver_admin' is not set in "
        "GUIDEPOST_CONNECTOR_SECRETS (or is a placeholder)",
        f"{where} 'fares': url: host admin.test:443 is not in GUIDEPOST_CONNECTOR_HOSTS",
        "GUIDEPOST_CONNECTOR_HOSTS: allowed host 'bad host/x': expected host or host:port",
    ]


def test_load_checked_connectors_fails_closed(write_yaml: WriteYaml, fields: FieldCatalog) -> None:
    """Start-up refuses a misconfigured connector; no file configured means no connector."""
    path = write_yaml(CONNECTORS_YAML)
    assert len(load_checked_connectors(make_settings(connectors_file=path), fields)) == 2
    assert len(load_checked_connectors(make_settings(), fields)) == 0
    with pytest.raises(SettingsError, match="'driver_admin' is not set"):
        load_checked_connectors(make_settings(connectors_file=path, connector_secrets={}), fields)
    with pytest.raises(SettingsError, match="Extra inputs are not permitted"):
        load_checked_connectors(
            make_settings(connectors_file=write_yaml(one(GOOD[:-1] + ", retries: 2}"))),
            fields,
        )
    assert SECRET not in repr(load_checked_connectors(make_settings(connectors_file=path), fields))


def test_shipped_demo_connectors_are_sound(fields: FieldCatalog) -> None:
    """macros/connectors.yaml passes every check once its host and secrets are configured."""
    path = ROOT / "macros" / "connectors.yaml"
    assert check_connectors_file(path, fields) == []
    settings = make_settings(
        connector_hosts=["127.0.0.1:8790"],
        connector_secrets={"parking_admin": SecretStr("p" * 20), "driver_admin": SecretStr(SECRET)},
    )
    assert check_connectors_file(path, fields, settings) == []
    gives = [key for connector in load_connectors(path) for key in connector.gives]
    # Conversation facts stay with the agent: no admin system knows them.
    for key in ("customer_presence", "fare_adjustment", "customer_consent", "identity_verified"):
        assert key not in gives


@pytest.mark.parametrize(
    ("pointer", "document", "expected"),
    [
        ("", {"a": 1}, (True, {"a": 1})),
        ("/a/b", {"a": {"b": 2}}, (True, 2)),
        ("/a/1", {"a": [5, 6]}, (True, 6)),
        ("/a/2", {"a": [5, 6]}, (False, None)),
        ("/a/01", {"a": [5, 6]}, (False, None)),
        ("/a~1b/c~0d", {"a/b": {"c~d": 3}}, (True, 3)),
        ("/a/b", {"a": "text"}, (False, None)),
        ("/x", {"x": None}, (True, None)),
    ],
)
def test_json_pointer(pointer: str, document: object, expected: tuple[bool, object]) -> None:
    """RFC 6901: escapes, array indexes without leading zeros, absent paths."""
    assert Pointer(pointer).resolve(document) == expected


def test_check_for_guides(write_yaml: WriteYaml, fields: FieldCatalog, tmp_path: Path) -> None:
    """`guides check` reads the shipped file alone, and the configured one with settings."""
    guides = tmp_path / "guides"
    guides.mkdir()
    shipped = guides / "connectors.yaml"
    shipped.write_text(CONNECTORS_YAML, encoding="utf-8")
    assert check_for_guides(guides, fields, make_settings(connector_hosts=[])) == []
    configured = make_settings(connectors_file=shipped, connector_hosts=[])
    problems = check_for_guides(guides, fields, configured)
    assert len(problems) == 2
    assert all("is not in GUIDEPOST_CONNECTOR_HOSTS" in problem for problem in problems)
    assert check_for_guides(tmp_path, fields, make_settings()) == []


def test_secrets_come_from_the_environment_and_stay_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GUIDEPOST_CONNECTOR_SECRETS is a JSON object of SecretStr: masked in every repr."""
    monkeypatch.setenv("GUIDEPOST_CONNECTOR_SECRETS", json.dumps({"driver_admin": SECRET}))
    monkeypatch.setenv("GUIDEPOST_CONNECTOR_HOSTS", '["admin.test", "127.0.0.1:8790"]')
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.connector_secrets["driver_admin"].get_secret_value() == SECRET
    assert settings.connector_hosts == ["admin.test", "127.0.0.1:8790"]
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings.model_dump())
    assert SECRET not in settings.model_dump_json()
