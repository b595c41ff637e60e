"""`guides check` for connectors: fact keys, templates, value maps, hosts and secrets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from backend.connectors.config import Connector, ConnectorSet, read_connectors
from backend.connectors.urls import host_allowed, parse_host_entry, transport_problem
from backend.errors import InputError
from backend.settings import PLACEHOLDER_SECRETS

if TYPE_CHECKING:
    from backend.domain.fields import FieldCatalog
    from backend.settings import Settings


def secret_is_set(settings: Settings, name: str) -> bool:
    """True when GUIDEPOST_CONNECTOR_SECRETS has a real (non-placeholder) value for name."""
    secret = settings.connector_secrets.get(name)
    if secret is None:
        return False
    return secret.get_secret_value().strip().lower() not in PLACEHOLDER_SECRETS


def _check_one(connector: Connector, fields: FieldCatalog, where: str) -> list[str]:
    problems: list[str] = []
    for key in connector.needs:
        if key not in fields:
            problems.append(f"{where}: url/body: placeholder {{{key}}} is not a field key")
    for key in connector.gives:
        if key not in fields:
            problems.append(f"{where}: facts.{key}: not a field key of fields.yaml")
        elif not fields.get(key).zendesk:
            problems.append(f"{where}: facts.{key}: computed by the server, never fetched")
        elif key in connector.needs:
            problems.append(f"{where}: facts.{key}: a connector cannot fetch a fact it needs")
    for key, mapping in connector.value_maps.items():
        if key not in fields:
            continue
        for admin_value, value in mapping.items():
            try:
                parsed = fields.parse(key, value)
            except InputError as exc:
                problems.append(f"{where}: facts.{key}.values.{admin_value}: {exc.detail}")
                continue
            if parsed is None:
                problems.append(f"{where}: facts.{key}.values.{admin_value}: empty value")
    problem = transport_problem(connector.template)
    if problem:
        problems.append(f"{where}: url: {problem}")
    return problems


def _check_settings(connector: Connector, settings: Settings, where: str) -> list[str]:
    problems: list[str] = []
    if not host_allowed(connector.template, settings.connector_hosts):
        host = f"{connector.template.host}:{connector.template.port}"
        problems.append(f"{where}: url: host {host} is not in GUIDEPOST_CONNECTOR_HOSTS")
    auth = connector.spec.auth
    if auth is not None and not secret_is_set(settings, auth.secret):
        problems.append(
            f"{where}: auth.secret: {auth.secret!r} is not set in GUIDEPOST_CONNECTOR_SECRETS "
            "(or is a placeholder)"
        )
    return problems


def check_connectors(
    connectors: ConnectorSet, fields: FieldCatalog, settings: Settings | None = None
) -> list[str]:
    """Problems of loaded connectors (with settings: allow-listed hosts, secrets set)."""
    problems: list[str] = []
    fetched_by: dict[str, str] = {}
    for connector in connectors:
        where = f"{connectors.path}: connector {connector.name!r}"
        problems.extend(_check_one(connector, fields, where))
        for key in connector.gives:
            if key in fetched_by:
                problems.append(
                    f"{where}: facts.{key}: already fetched by connector {fetched_by[key]!r}"
                )
            fetched_by.setdefault(key, connector.name)
        if settings is not None:
            problems.extend(_check_settings(connector, settings, where))
    if settings is not None:
        for entry in settings.connector_hosts:
            try:
                parse_host_entry(entry)
            except ValueError as exc:
                problems.append(f"GUIDEPOST_CONNECTOR_HOSTS: {exc}")
    return problems


def check_connectors_file(
    path: Path, fields: FieldCatalog, settings: Settings | None = None
) -> list[str]:
    """Every problem of one connectors.yaml: structure first, then the checks above."""
    connectors, problems = read_connectors(path)
    return problems + check_connectors(connectors, fields, settings)


def check_for_guides(guides_dir: Path, fields: FieldCatalog, settings: Settings) -> list[str]:
    """`guides check`: the shipped connectors.yaml, and the configured one against settings."""
    shipped = guides_dir / "connectors.yaml"
    configured = settings.connectors_file
    problems: list[str] = []
    if shipped.is_file() and (configured is None or configured.resolve() != shipped.resolve()):
        problems += check_connectors_file(shipped, fields)
    if configured is not None:
        problems += check_connectors_file(configured, fields, settings)
    return problems
