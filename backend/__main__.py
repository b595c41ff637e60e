"""`python -m backend` runs the Guidepost CLI."""

from backend.cli import console_main

console_main()
