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
    args = parser.parse_args(argv)

    from tooling.app_package import build_app_zip

    path = build_app_zip(Path(args.out))
    sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
