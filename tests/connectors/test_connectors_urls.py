"""URL templates: no fact value can change the scheme, host or port; hosts are allow-listed."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.connectors.urls import UnsafeUrlError, UrlTemplate, host_allowed, transport_problem

TEMPLATE = UrlTemplate.parse("https://admin.test:8443/calls/{call}/detail?date={day}&x=1")

ATTACKS = [
    "/",
    "../../admin",
    "a/../../b",
    "?debug=1",
    "#frag",
    "x@evil.example",
    "evil.example:80",
    "http://evil.example/steal",
    "https://evil.example:443/",
    "//evil.example/x",
    "\\\\evil.example\\x",
    "%2e%2e%2f",
    "a\r\nHost: evil.example",
    "1&date=2020-01-01",
    "선릉 주차장 / B1",
]


def split_filled(value: str) -> tuple[httpx.URL, str, str]:
    """Fill both placeholders with value: the URL and the decoded path segment and query."""
    url = TEMPLATE.fill({"call": value, "day": value})
    target = httpx.URL(url)
    segment = urlsplit(url).path.split("/")[2]
    return target, unquote(segment), parse_qs(urlsplit(url).query)["date"][0]


@pytest.mark.parametrize("value", ATTACKS)
def test_injection_attempts_stay_inside_their_slot(value: str) -> None:
    """Each hostile value lands, encoded, in its own path segment and query value."""
    target, segment, day = split_filled(value)
    assert (target.scheme, target.host, target.port) == ("https", "admin.test", 8443)
    assert target.path.startswith("/calls/")
    assert target.path.endswith("/detail")
    assert segment == value
    assert day == value
    assert parse_qs(urlsplit(str(target)).query)["x"] == ["1"]
    assert "#" not in str(target)


@pytest.mark.parametrize("value", ["..", ".", " .. ", ""])
def test_dot_segments_and_empty_values_are_refused(value: str) -> None:
    """A value that is a dot segment would climb the path: refused, nothing sent."""
    with pytest.raises(UnsafeUrlError):
        TEMPLATE.fill({"call": value, "day": "2024-11-20"})


@given(st.text(min_size=1, max_size=40).filter(lambda v: v.strip() not in {".", ".."}))
def test_any_value_keeps_the_origin_and_round_trips(value: str) -> None:
    """Property: for every text, the origin is the template's and the value decodes back."""
    target, segment, _ = split_filled(value)
    assert (target.scheme, target.host, target.port) == ("https", "admin.test", 8443)
    assert segment == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("https://{host}/x", "placeholders may not appear in the scheme, host or port"),
        ("https://admin.test:{port}/x", "placeholders may not appear"),
        ("https://admin{x}.test/", "placeholders may not appear"),
        ("{scheme}://admin.test/", "must start with https://"),
        ("javascript:alert(1)", "must start with https://"),
        ("https://a@admin.test/", "no user:password@ part"),
        ("https://admin.test/x#{a}", "may not have a #fragment"),
        ("https://admin.test/{a", "a brace that is not a {fact_key} placeholder"),
        ("https://admin.test/x y", "whitespace or a control character"),
        ("https://admin.test:99999/", "the port is not a number"),
        ("https:///x", "needs a host"),
    ],
)
def test_bad_templates_are_refused(text: str, message: str) -> None:
    """A template that could be steered, or is not a plain https URL, does not parse."""
    with pytest.raises(UnsafeUrlError, match=message.replace("{", r"\{").replace("}", r"\}")):
        UrlTemplate.parse(text)


def test_host_allow_list() -> None:
    """An entry without a port means the scheme's default port; case does not matter."""
    plain = UrlTemplate.parse("https://Admin.Test/x")
    assert plain.host == "admin.test"
    assert host_allowed(plain, ["admin.test"])
    assert host_allowed(plain, ["ADMIN.TEST:443"])
    assert not host_allowed(plain, ["admin.test:8443", "other.test", "evil.admin.test"])
    assert not host_allowed(TEMPLATE, ["admin.test"])
    assert host_allowed(TEMPLATE, ["admin.test:8443"])
    assert not host_allowed(plain, ["not a host/", "x@admin.test"])
    assert not host_allowed(plain, [])


def test_plain_http_only_on_loopback() -> None:
    """http:// would send the secret in clear text: only 127.0.0.1, localhost, ::1."""
    assert transport_problem(UrlTemplate.parse("http://127.0.0.1:8790/x")) is None
    assert transport_problem(UrlTemplate.parse("http://[::1]:8790/x")) is None
    assert transport_problem(UrlTemplate.parse("https://admin.test/x")) is None
    assert transport_problem(UrlTemplate.parse("http://admin.test/x")) is not None
