# Two commands for a newcomer: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := zendesk_app/node_modules/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

.PHONY: run test lint typecheck unit audit guides-check chromium install bench app clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): zendesk_app/package.json zendesk_app/package-lock.json
	cd zendesk_app && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

## Debian's Chromium for the browser tests (Playwright never downloads a browser here),
## and a Korean font so screenshots are readable.
chromium:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi nanum; } || { \
	  echo "installing Debian's chromium and fonts-nanum for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-nanum >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

guides-check: $(STAMP)
	$(BIN)/guidepost guides check

audit: $(STAMP)
	$(BIN)/python -m tooling.audit

unit: install chromium
	$(BIN)/pytest

test: install chromium lint typecheck guides-check unit audit

run: install
	$(BIN)/python -m tooling.devstack

app: $(STAMP)
	$(BIN)/python -m tooling app package

bench: install chromium
	$(BIN)/python -m tooling.bench $(if $(QUICK),--quick,)

## The eight demo situations of the sidebar, at 320 px, into docs/sidebar/ (not part of `make test`).
.PHONY: screenshots
screenshots: install chromium
	GUIDEPOST_SIDEBAR_SHOTS=docs/sidebar $(BIN)/pytest tests/app/test_app_screenshots.py -q -p no:randomly

clean:
	rm -rf $(VENV) zendesk_app/node_modules dist var test-artifacts .mypy_cache .ruff_cache .pytest_cache
