"""The harness without a browser: the proxy's substitutions and JWT, the routes, the SDK."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr

from backend.settings import Settings
from tooling.app_package import APP_DIR, ZAF_SDK_CDN_URL
from tooling.harness import serve_harness
from tooling.harness.app import APP_CSP
from tooling.harness.proxy import ProxyError, ZendeskProxy
from tooling.harness.sdk import SDK_PATH, bundle_zaf_sdk

SECRET = "harness-test-secret-0123456789abcdef"
OPTIONS: dict[str, Any] = {
    "url": "https://guidepost.example.com/v1/tickets/7/guidance",
    "type": "GET",
    "contentType": "application/json",
    "cors": False,
    "secure": True,
    "jwt": {
        "algorithm": "HS256",
        "secret_key": "{{setting.shared_secret}}",
        "expiry": 300,
        "claims": {"iss": "guidepost-zendesk-app", "aud": "guidepost-backend", "ticket_id": 7},
    },
    "headers": {"Authorization": "Bearer {{jwt.token}}"},
}


def proxy(**overrides: Any) -> ZendeskProxy:
    values: dict[str, Any] = {
        "settings": {"backend_url": "https://guidepost.example.com", "shared_secret": SECRET},
        "secure_names": frozenset({"shared_secret"}),
        "domain_whitelist": ["guidepost.example.com", "127.0.0.1"],
        "zendesk_url": "http://127.0.0.1:9",
    }
    values.update(overrides)
    return ZendeskProxy(**values)


def options(**changes: Any) -> dict[str, Any]:
    merged = json.loads(json.dumps(OPTIONS))
    merged.update(changes)
    return merged


def test_the_proxy_signs_the_jwt_with_the_secure_setting() -> None:
    method, url, headers, body, log = proxy().prepare(options())
    assert (method, url, body) == ("GET", OPTIONS["url"], None)
    token = headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="guidepost-backend")
    assert claims["iss"] == "guidepost-zendesk-app"
    assert claims["ticket_id"] == 7
    assert claims["exp"] - claims["iat"] == 300
    assert abs(claims["iat"] - time.time()) < 5
    assert log["jwt_claims"] == claims
    assert SECRET not in json.dumps(log)


def test_secure_settings_are_substituted_only_in_secure_requests() -> None:
    plain = options(
        secure=False,
        jwt=None,
        headers={"X-Secret": "{{setting.shared_secret}}", "X-Url": "{{setting.backend_url}}"},
    )
    _, _, headers, _, _ = proxy().prepare(plain)
    assert headers["X-Secret"] == "{{setting.shared_secret}}"
    assert headers["X-Url"] == "https://guidepost.example.com"
    secure = options(jwt=None, headers={"X-Secret": "{{setting.shared_secret}}"})
    assert proxy().prepare(secure)[2]["X-Secret"] == SECRET


def test_a_secure_request_to_a_host_outside_the_whitelist_is_refused() -> None:
    with pytest.raises(ProxyError, match="domainWhitelist") as caught:
        proxy().prepare(options(url="https://evil.example.net/steal"))
    assert caught.value.status == 403
    assert proxy(domain_whitelist=["*.example.net"]).prepare(
        options(url="https://api.example.net/x")
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cors": True}, "cors: true"),
        ({"url": ""}, "url is required"),
        ({"url": "ftp://guidepost.example.com/x"}, "absolute http"),
        ({"jwt": {**OPTIONS["jwt"], "algorithm": "RS256"}}, "not supported"),
        ({"jwt": {**OPTIONS["jwt"], "secret_key": "{{setting.nope}}"}}, "did not resolve"),
        ({"jwt": {**OPTIONS["jwt"], "expiry": 0}}, "expiry"),
        ({"jwt": {**OPTIONS["jwt"], "claims": []}}, "claims must be an object"),
        ({"headers": ["x"]}, "headers must be an object"),
        ({"type": "POST", "data": 3}, "data must be"),
    ],
)
def test_requests_zendesk_would_not_forward_are_refused(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProxyError, match=message):
        proxy().prepare(options(**change))


def test_bodies_and_relative_zendesk_urls() -> None:
    post = options(type="POST", data=json.dumps({"branch": "b"}))
    method, _, headers, body, _ = proxy().prepare(post)
    assert method == "POST"
    assert body == b'{"branch": "b"}'
    assert headers["Content-Type"] == "application/json"
    relative = {"url": "/api/v2/tickets/1.json", "type": "GET"}
    _, url, headers, _, _ = proxy(zendesk_auth=("a@b/token", "t")).prepare(relative)
    assert url == "http://127.0.0.1:9/api/v2/tickets/1.json"
    assert headers["Authorization"].startswith("Basic ")


def test_the_sdk_bundle_is_the_npm_source() -> None:
    code = bundle_zaf_sdk()
    for name in ("index", "client", "utils", "vendor/native-promise-only"):
        source = (APP_DIR / "node_modules/zendesk_app_framework_sdk/lib" / f"{name}.js").read_text()
        assert source in code
    assert "window.ZAFClient = load('index');" in code


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_sdk_bundle_handshakes_in_node() -> None:
    script = (
        "global.window = {addEventListener: function () {}, Promise: Promise,"
        " parent: {postMessage: function (m, o) { console.log(o + ' ' + m); }}};"
        "global.document = {location: {search: '?origin=http%3A%2F%2Fhost&app_guid=g1',"
        " hash: ''}};" + bundle_zaf_sdk() + "window.ZAFClient.init();"
    )
    result = subprocess.run(
        [str(shutil.which("node")), "-e", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    target, _, message = result.stdout.strip().partition(" ")
    assert target == "http://host"
    assert json.loads(message)["key"] == "iframe.handshake"
    assert json.loads(message)["appGuid"] == "g1"


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[str, str, httpx.Client]]:
    """A harness with the SDK served locally (as for `make run`); no backend needed here."""
    settings = Settings(_env_file=None, shared_secret=SecretStr(SECRET))
    with (
        serve_harness("http://127.0.0.1:9", "http://127.0.0.1:9", settings) as harness,
        httpx.Client(timeout=10.0) as client,
    ):
        yield harness.url, harness.app_origin, client


def test_make_run_serves_the_sdk_from_its_own_origin(
    running: tuple[str, str, httpx.Client],
) -> None:
    url, app_origin, client = running
    page = client.get(f"{app_origin}/app/assets/iframe.html")
    assert page.status_code == 200
    assert ZAF_SDK_CDN_URL not in page.text
    assert f'src="{SDK_PATH}"' in page.text
    assert page.headers["content-security-policy"] == APP_CSP
    sdk = client.get(app_origin + SDK_PATH)
    assert sdk.status_code == 200
    assert "window.ZAFClient" in sdk.text
    assert client.get(f"{app_origin}/app/assets/vendor/css-bedrock.css").status_code == 200
    assert client.get(f"{app_origin}/app/assets/translations/en.json").json()["ui"]
    assert client.get(f"{url}/").headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "path",
    [
        "package.json",
        "node_modules/zendesk_app_framework_sdk/package.json",
        "assets/../make_logos.py",
        "../backend/settings.py",
    ],
)
def test_only_package_files_are_served(running: tuple[str, str, httpx.Client], path: str) -> None:
    _, app_origin, client = running
    assert client.get(f"{app_origin}/app/{path}").status_code == 404


def test_the_config_never_carries_the_secret(running: tuple[str, str, httpx.Client]) -> None:
    url, app_origin, client = running
    config = client.get(f"{url}/harness/config.json").json()
    assert config["settings"]["shared_secret"] == "{{setting.shared_secret}}"
    assert config["app_url"] == f"{app_origin}/harness/signed-app"
    assert SECRET not in json.dumps(config)
    bad = client.post(f"{url}/harness/settings", json={"nope": "x"})
    assert bad.status_code == 400


def test_the_proxy_answers_502_when_the_backend_is_down(
    running: tuple[str, str, httpx.Client],
) -> None:
    url, _, client = running
    down = options(url="http://127.0.0.1:9/v1/guides")
    answer = client.post(f"{url}/proxy", json={"options": down}).json()
    assert answer["status"] == 502
    refused = client.post(
        f"{url}/proxy", json={"options": options(url="https://evil.example.net/")}
    ).json()
    assert refused["status"] == 403
