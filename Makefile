# Two commands: `make run` (the whole app on embedded defaults) and `make test` (the suite).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run run-prod test test-s3 bench install install-dev frontend frontend-test browser lint clean

EDITOR := frontend/editor
EDITOR_SOURCES := $(shell find $(EDITOR)/src -type f 2>/dev/null) $(EDITOR)/vite.config.ts

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(PY)
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PIP) install -q -r requirements-dev.txt
	touch $@

# The browser editor: React + TypeScript + @xyflow/react, built by Vite into frontend/dist.
$(EDITOR)/node_modules/.installed: $(EDITOR)/package.json $(EDITOR)/package-lock.json
	cd $(EDITOR) && npm ci --no-audit --no-fund
	touch $@

frontend/dist/editor/.vite/manifest.json: $(EDITOR)/node_modules/.installed $(EDITOR_SOURCES)
	cd $(EDITOR) && npx vite build

frontend: frontend/dist/editor/.vite/manifest.json

frontend-test: $(EDITOR)/node_modules/.installed
	cd $(EDITOR) && npx tsc --noEmit -p . && npx vitest run

# Browser tests drive Debian's Chromium with Playwright (never a downloaded browser).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# exec: the recipe's shell becomes the runner, so a SIGTERM sent to it reaches the runner.
run: install frontend
	exec $(PY) -m wireflow_site.runner

# The production layout on this machine (README: Production runbook): PostgreSQL, Redis, the
# S3 server (moto, a dev dependency) unless S3_BUCKET is set, WORKERS worker hosts, one beat.
run-prod: install-dev frontend
	exec $(PY) -m wireflow_site.runner --prod

# Lint and import contracts (pyproject.toml): ruff, and lint-imports, which fails on an import
# that breaks executions/'s one-way layers or a new import circle.
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

# The suite, then the tests marked `storage` again with S3 as the media storage (moto on
# loopback, tests/s3_suite.py; about a minute): uploads, outputs stored and read, signed and
# presigned URLs, thumbnails, zips, retention, share pages.
# The suite runs on every core (at most 4) with pytest-xdist, a test file per worker at a time;
# each worker has its own test database, Redis database and pub/sub prefix
# (wireflow_site/test_settings.py). `make test TEST_JOBS=0` runs it in one process.
TEST_JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n < 4 ? n : 4 )))
test: install-dev lint frontend frontend-test browser
	$(PY) -m wireflow_site.embedded_redis -- $(PY) -m pytest -n $(TEST_JOBS) --dist loadfile $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-s3

# `make test-s3 PYTEST_S3_ARGS=tests/api` runs those tests on S3 instead of the marked ones.
test-s3: install-dev
	$(PY) -m wireflow_site.embedded_redis -- $(PY) -m pytest -p tests.s3_suite $(if $(PYTEST_S3_ARGS),$(PYTEST_S3_ARGS),-m storage)

# bench_intake.py drives the server with wrk, from Debian's packages.
bench: install-dev
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) -m wireflow_site.embedded_redis -- $(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache frontend/dist $(EDITOR)/node_modules
