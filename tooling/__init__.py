"""Guidepost tooling: dev stack, harness, bench, reports, audit, test helpers. Never shipped."""
