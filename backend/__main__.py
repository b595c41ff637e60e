"""`python -m backend` runs the Guidepost CLI."""

from backend.cli import main

raise SystemExit(main())
