# The one way to run things. See README.md.
SHELL := /bin/bash
PY := .venv/bin/python
# The project pins Python 3.11; prefer it when the default python3 is another version.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
# make run / make up default to the dev environment (fixed dev JWT secret, dev admin).
DEV_ENV := FLASHSALE_ENV=$${FLASHSALE_ENV:-dev}

.PHONY: install run up down services observe test lint unit integration stack-check clean

install: .venv/.installed

.venv/.installed: setup.cfg pyproject.toml
	@# A venv left without pip by an interrupted or failed creation is made again.
	$(PY) -m pip --version >/dev/null 2>&1 || $(PYTHON) -m venv --clear .venv || \
	  { echo "cannot create .venv: on Debian, apt-get install python3.11-venv" >&2; exit 1; }
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

# Only Prometheus (make up starts it too), scraping the processes make up starts;
# run it again after changing FLASHSALE_WORKERS or the rules: it reloads them.
observe: install
	$(PY) -m ops.stack observe

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

integration: services
	.venv/bin/pytest -m integration

stack-check: install
	$(DEV_ENV) $(PY) -m ops.stack_check

clean: down
	rm -rf .run

# The load bench (bench/README.md). Each scenario brings up its own workers and API
# on the shared Kafka, MariaDB and Redis and writes bench/results/<timestamp>/.
# Extra options: make bench-throughput BENCH_ARGS="--requests 20000 --workers 2".
BENCH := $(PY) -m bench
BENCH_ARGS ?=

.PHONY: bench bench-flash bench-checkout bench-throughput bench-scale bench-ceiling \
	bench-recovery bench-smoke bench-profile bench-expiry bench-peer \
	bench-stock bench-saga bench-persistence bench-token

bench: services
	$(BENCH) $(BENCH_ARGS)

bench-flash: services
	$(BENCH) flash $(BENCH_ARGS)

bench-checkout: services
	$(BENCH) checkout $(BENCH_ARGS)

bench-throughput: services
	$(BENCH) throughput $(BENCH_ARGS)

bench-scale: services
	$(BENCH) scale $(BENCH_ARGS)

bench-ceiling: install
	$(BENCH) ceiling $(BENCH_ARGS)

bench-recovery: services
	$(BENCH) recovery $(BENCH_ARGS)

# Issue 12's comparison: our throughput and flash runs beside the peer's (bench/peer.py).
bench-peer: services
	$(BENCH) throughput peer flash peer-flash $(BENCH_ARGS)

# Time-to-decision of new orders while 20,000 holds expire together (bench/expiry_burst.py).
bench-expiry: services
	$(PY) -m bench.expiry_burst $(BENCH_ARGS)

# One process alone, from a backlog produced straight to Kafka (no API): the stock
# worker's decisions a second (bench/stock_throughput.py), the saga worker's events a
# second (bench/saga_throughput.py), and how far MySQL trails the events it persists
# (bench/persistence_lag.py). Each in a namespace of its own, removed at the end.
bench-stock: services
	$(PY) -m bench.stock_throughput $(BENCH_ARGS)

bench-saga: services
	$(PY) -m bench.saga_throughput $(BENCH_ARGS)

bench-persistence: services
	$(PY) -m bench.persistence_lag $(BENCH_ARGS)

# The cost of checking a Bearer token, in process, with and without the cache (bench/token_check.py).
bench-token: services
	$(PY) -m bench.token_check $(BENCH_ARGS)

bench-smoke: services
	$(BENCH) --smoke $(BENCH_ARGS)

# Flame graphs (py-spy) of the API and the worker under the throughput scenario.
bench-profile: services
	$(BENCH) throughput --profile $(BENCH_ARGS)

# The fault suite (stops and restarts the shared Kafka, MariaDB and Redis; waits while
# another pytest run is using them) and the hostile-input suite; `make test` runs both.
.PHONY: faults faults-soak rebalance-soak hostile

faults: services
	.venv/bin/pytest -m faults -s

# A longer soak than CI's: the fault suite FAULT_ROUNDS times in a row.
FAULT_ROUNDS ?= 5
faults-soak: services
	for round in $$(seq $(FAULT_ROUNDS)); do .venv/bin/pytest -m faults -s -q || exit 1; done

# The rebalance tests (tests/faults/test_rebalance.py) REBALANCE_ROUNDS times, counting
# the failed rounds; REBALANCE_TESTS picks tests by name (pytest -k), default the joins.
REBALANCE_ROUNDS ?= 20
REBALANCE_TESTS ?= joins
rebalance-soak: services
	@failed=0; for round in $$(seq $(REBALANCE_ROUNDS)); do \
	  echo "round $$round of $(REBALANCE_ROUNDS)"; \
	  .venv/bin/pytest -q -s -p no:cacheprovider tests/faults/test_rebalance.py \
	    -k '$(REBALANCE_TESTS)' 2>&1 | grep -E '^FAULT|passed|failed|Error'; \
	  [ $${PIPESTATUS[0]} -eq 0 ] || failed=$$((failed + 1)); \
	done; \
	echo "rebalance soak: $(REBALANCE_ROUNDS) rounds, $$failed failed"; [ $$failed -eq 0 ]

hostile: services
	.venv/bin/pytest -m hostile

# The three-broker fault tests (tests/cluster: they start three brokers of their own on
# free ports, so the shared servers are left alone); `make test` runs them once.
# cluster-soak repeats them CLUSTER_ROUNDS times and counts the failed rounds.
.PHONY: cluster-faults cluster-soak
CLUSTER_ROUNDS ?= 5
cluster-faults: services
	.venv/bin/pytest -m cluster -s tests/cluster

cluster-soak: services
	@failed=0; for round in $$(seq $(CLUSTER_ROUNDS)); do \
	  echo "round $$round of $(CLUSTER_ROUNDS)"; \
	  .venv/bin/pytest -q -s -p no:cacheprovider -m cluster tests/cluster \
	    2>&1 | grep -E '^FAULT|passed|failed|Error'; \
	  [ $${PIPESTATUS[0]} -eq 0 ] || failed=$$((failed + 1)); \
	done; \
	echo "cluster soak: $(CLUSTER_ROUNDS) rounds, $$failed failed"; [ $$failed -eq 0 ]
