"""Repository tooling commands (`python -m tooling …`): they need the checkout, not the product."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    """Run a tooling command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m tooling", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    app = sub.add_parser("app", help="Zendesk sidebar app")
    app_sub = app.add_subparsers(dest="app_command", required=True)
    package = app_sub.add_parser("package", help="build the installable app zip")
    package.add_argument("--out", default="dist/guidepost-app.zip")
    package.add_argument(
        "--dev",
        action="store_true",
        help="a local package: allow loopback/example/http backends (default: the manifest's)",
    )
    args = parser.parse_args(argv)

    from backend.errors import GuidepostError
    from backend.settings import Settings
    from tooling.app_package import (
        build_app_zip,
        domain_whitelist,
        signed_sidebar_url,
        unpacked_path,
    )

    try:
        backend_url = Settings().backend_url
        whitelist = domain_whitelist(backend_url, dev=args.dev)
        # A deployment loads the backend's signed URL; --dev keeps the harness's manifest.
        signed = None if args.dev else backend_url
        path = build_app_zip(Path(args.out), whitelist=whitelist, backend_url=signed)
    except GuidepostError as exc:
        sys.stderr.write(f"app package: {exc.detail}\n")
        return 1
    where = "assets/iframe.html (dev)" if signed is None else signed_sidebar_url(signed)
    sys.stdout.write(
        f"{path} (sidebar: {where}; "
        f"domainWhitelist: {', '.join(whitelist or ['as in manifest.json'])})\n"
        f"{unpacked_path(path)}/assets: the app files for GUIDEPOST_APP_ASSETS_DIR\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
