"""The packaged app whitelists GUIDEPOST_BACKEND_URL's host and refuses example/loopback hosts."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tooling.__main__ import main
from tooling.app_package import AppPackageError, domain_whitelist


@pytest.mark.parametrize(
    "url",
    [
        "https://guidepost.example.com",
        "https://example.org/api",
        "https://127.0.0.1:8000",
        "https://localhost",
        "https://[::1]:8000",
        "https://backend.test",
        "http://guidepost.acme.io",
        "",
        "guidepost.acme.io",
    ],
)
def test_a_backend_no_agent_can_reach_is_refused(url: str) -> None:
    with pytest.raises(AppPackageError, match="GUIDEPOST_BACKEND_URL"):
        domain_whitelist(url)


def test_the_backend_host_is_the_whitelist() -> None:
    assert domain_whitelist("https://Guidepost.Acme.io:8443/v1") == ["guidepost.acme.io"]


def test_dev_allows_loopback_and_keeps_the_manifest_without_a_url() -> None:
    assert domain_whitelist("http://127.0.0.1:8000", dev=True) == ["127.0.0.1"]
    assert domain_whitelist("", dev=True) is None
    with pytest.raises(AppPackageError, match="not an http"):
        domain_whitelist("ftp://host", dev=True)


def test_the_packaged_manifest_names_the_backend_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GUIDEPOST_BACKEND_URL", "https://guidepost.acme.io")
    out = tmp_path / "app.zip"
    assert main(["app", "package", "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["domainWhitelist"] == ["guidepost.acme.io"]
    # Zendesk loads the backend's signed URL (POST with its app token), not a local page.
    assert manifest["location"] == {
        "support": {
            "ticket_sidebar": {"url": "https://guidepost.acme.io/app/sidebar", "flexible": True}
        }
    }
    assert manifest["signedUrls"] is True
    assert [p["name"] for p in manifest["parameters"]] == ["backend_url"]
    printed = capsys.readouterr().out
    assert "domainWhitelist: guidepost.acme.io" in printed
    assert "sidebar: https://guidepost.acme.io/app/sidebar" in printed


def test_a_dev_package_keeps_the_harness_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GUIDEPOST_BACKEND_URL", "http://127.0.0.1:8000")
    out = tmp_path / "app.zip"
    assert main(["app", "package", "--dev", "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["location"]["support"]["ticket_sidebar"]["url"] == "assets/iframe.html"
    assert "signedUrls" not in manifest
    assert manifest["domainWhitelist"] == ["127.0.0.1"]


def test_packaging_for_an_example_host_fails_with_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GUIDEPOST_BACKEND_URL", "https://guidepost.example.com")
    out = tmp_path / "app.zip"
    assert main(["app", "package", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("app package: GUIDEPOST_BACKEND_URL host 'guidepost.example.com'")
    assert err.count("\n") == 1
    assert not out.exists()
