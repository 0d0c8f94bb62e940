# Two commands: `make run` (the whole app on embedded defaults) and `make test` (the suite).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test bench install install-dev lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(PY)
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PIP) install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

run: install
	$(PY) -m wireflow_site.runner

test: install-dev
	$(PY) -m wireflow_site.embedded_redis -- $(PY) -m pytest $(PYTEST_ARGS)

bench: install-dev
	$(PY) -m wireflow_site.embedded_redis -- $(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache
