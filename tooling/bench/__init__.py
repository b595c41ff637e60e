"""`make bench`: measure Guidepost's speed and Zendesk API frugality, write docs/BENCHMARKS.md."""
