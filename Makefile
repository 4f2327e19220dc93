# The one way to run things. See README.md.
SHELL := /bin/bash
PY := .venv/bin/python
# make run / make up default to the dev environment (fixed dev JWT secret, dev admin).
DEV_ENV := FLASHSALE_ENV=$${FLASHSALE_ENV:-dev}

.PHONY: install run up down services test lint unit integration stack-check clean

install: .venv/.installed

.venv/.installed: setup.cfg pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

run: install
	$(DEV_ENV) $(PY) -m ops.stack run

up: install
	$(DEV_ENV) $(PY) -m ops.stack up

down:
	@if [ -x $(PY) ]; then $(PY) -m ops.stack down; fi

services: install
	$(PY) -m ops.stack services

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

# Everything, against the real servers; .ci/run calls this.
test: services lint
	.venv/bin/pytest
	$(DEV_ENV) $(PY) -m ops.stack_check

unit: install
	.venv/bin/pytest tests/unit tests/agents

clean: down
	rm -rf .run
