"""Every ZendeskGateway adapter implements every method of the Protocol with its parameters."""

from __future__ import annotations

import inspect

import pytest

from backend.zendesk.fake_gateway import FakeGateway
from backend.zendesk.gateway import ZendeskGateway
from backend.zendesk.zenpy_gateway import ZenpyGateway


def protocol_methods() -> dict[str, inspect.Signature]:
    """The Protocol's methods and their signatures."""
    return {
        name: inspect.signature(member)
        for name, member in vars(ZendeskGateway).items()
        if callable(member) and not name.startswith("_")
    }


def parameter_names(signature: inspect.Signature) -> list[str]:
    """Positional parameter names after self."""
    return [p.name for p in signature.parameters.values()][1:]


def test_the_protocol_has_methods_to_check() -> None:
    assert {"get_ticket", "update_ticket", "search_tickets"} <= set(protocol_methods())


@pytest.mark.parametrize("adapter", [FakeGateway, ZenpyGateway], ids=lambda c: c.__name__)
def test_each_adapter_implements_the_protocol(adapter: type) -> None:
    missing = []
    for name, signature in protocol_methods().items():
        method = getattr(adapter, name, None)
        if method is None or not callable(method):
            missing.append(f"{name}: absent")
        elif parameter_names(inspect.signature(method)) != parameter_names(signature):
            missing.append(f"{name}: parameters differ")
    assert missing == []
