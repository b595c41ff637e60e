# Two commands for a newcomer: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := zendesk_app/node_modules/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
# The venv's own installers, pinned current (the venv module ships old ones with advisories).
PIP_VERSION := 26.3
SETUPTOOLS_VERSION := 84.2.1
AUDIT_PINS := --require pip==$(PIP_VERSION) --require setuptools==$(SETUPTOOLS_VERSION)

.PHONY: run test lint typecheck layers unit audit audit-if-reachable reliability-report guides-check chromium install bench app clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --quiet --disable-pip-version-check \
	  pip==$(PIP_VERSION) setuptools==$(SETUPTOOLS_VERSION)
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

## Import rules between packages (.importlinter): domain pure, adapters apart, no tooling in the product.
layers: $(STAMP)
	$(BIN)/lint-imports --no-cache

guides-check: $(STAMP)
	$(BIN)/guidepost guides check

## Strict: fails when anything is vulnerable or could not be audited (service unreachable,
## 0 packages audited). GUIDEPOST_AUDIT_OFFLINE=1 lets it pass offline, with a loud line.
audit: $(STAMP)
	$(BIN)/python -m tooling.audit $(AUDIT_PINS)

## In `make test`: the same audit when the vulnerability service answers; otherwise a loud
## skip, so tests never depend on the network. The offline checks (pins, ignores) always run.
audit-if-reachable: $(STAMP)
	$(BIN)/python -m tooling.audit --if-reachable $(AUDIT_PINS)

unit: install chromium
	$(BIN)/pytest

test: install chromium lint typecheck layers guides-check unit audit-if-reachable

## Ports: PORT=<base> (harness, app, backend, emulator, admin emulator on base … base+4), or
## HARNESS_PORT, APP_PORT, BACKEND_PORT, EMULATOR_PORT, ADMIN_PORT one by one
## (defaults 8780, 8781, 8000, 8765, 8790).
run: install
	@$(BIN)/python -m tooling.devstack $(if $(PORT),--port $(PORT)) \
	  $(if $(HARNESS_PORT),--harness-port $(HARNESS_PORT)) $(if $(APP_PORT),--app-port $(APP_PORT)) \
	  $(if $(BACKEND_PORT),--backend-port $(BACKEND_PORT)) \
	  $(if $(EMULATOR_PORT),--emulator-port $(EMULATOR_PORT)) \
	  $(if $(ADMIN_PORT),--admin-port $(ADMIN_PORT))

## The app zip; its domainWhitelist is GUIDEPOST_BACKEND_URL's host (DEV=1: a local package).
app: $(STAMP)
	$(BIN)/python -m tooling app package $(if $(DEV),--dev,)

bench: install chromium
	$(BIN)/python -m tooling.bench $(if $(QUICK),--quick,)

## Publish the last test run's reliability figures as docs/RELIABILITY.md (+ docs/reliability.json).
reliability-report: $(STAMP)
	$(BIN)/python -m tooling.reliability_report --publish

## The eight demo situations of the sidebar, at 320 px, into docs/sidebar/ (not part of `make test`).
.PHONY: screenshots
screenshots: install chromium
	GUIDEPOST_SIDEBAR_SHOTS=docs/sidebar $(BIN)/pytest tests/app/test_app_screenshots.py -q -p no:randomly

clean:
	rm -rf $(VENV) zendesk_app/node_modules dist var test-artifacts .mypy_cache .ruff_cache .pytest_cache

## The gateway contract against a real Zendesk sandbox (docs/LIVE_ZENDESK.md); skipped with
## one line per test unless GUIDEPOST_LIVE_ZENDESK_URL/EMAIL/TOKEN are set.
.PHONY: test-live
test-live: $(STAMP)
	$(BIN)/pytest tests/zendesk/test_gateway_contract.py -k live -rs -p no:randomly
