# Everyday commands (`make help` lists them). `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# The Lambda runtime is python3.13; under pyenv, this makes the python3.13 shim resolve.
export PYENV_VERSION ?= 3.13.0:3.11.7
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
PYTEST_ARGS ?=
SOURCES := layers/common/sfzsync functions sandbox tests scripts

.DEFAULT_GOAL := help
.PHONY: help setup dev chromium demo sandbox test unit integration check chaos lint build deploy ops doctor backfill clean openapi bench load screenshots

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:[^#]*## /\t/' | awk -F'\t' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt layers/common/requirements.txt
	python3.13 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# checkov pins packaging<24, which pytest 9 cannot use: it gets a virtualenv of its own.
CHECKOV_VENV := .cache/checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	python3.13 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

.cache/openapi/zuora.com.json: scripts/fetch-zuora-openapi
	scripts/fetch-zuora-openapi

dev: $(VENV)/.installed  ## the development virtualenv only (enough for lint and the unit tests)

chromium:  ## Debian's chromium for the browser tests (needs root; says so otherwise)
	scripts/install-chromium

setup: $(VENV)/.installed $(CHECKOV_VENV)/.installed .cache/openapi/zuora.com.json chromium  ## everything the tests need

demo: setup  ## sample checkouts and Send to Zuora pushes through the handlers against the offline sandbox
	PYTHONPATH=layers/common:. $(PY) scripts/demo.py

sandbox: setup  ## run the simulators until Ctrl-C and print the environment to point at them
	PYTHONPATH=layers/common:. $(PY) -m sandbox

test: setup  ## the whole suite: unit, sandbox, integration, chaos, fuzz, browser, template and build checks
	$(PY) -m pytest $(PYTEST_ARGS)

unit: dev .cache/openapi/zuora.com.json  ## the unit tests alone: no server, no socket (seconds)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

integration: setup  ## the handlers over loopback: simulators, integration, chaos, fuzz and browser tests
	$(PY) -m pytest tests/sandbox tests/integration tests/chaos tests/fuzz tests/browser $(PYTEST_ARGS)

check: lint test  ## what CI runs: lint, then the whole suite

chaos: setup  ## the fault matrix, concurrency and dying-Lambda tests, with the matrix's table (also in `make test`)
	CHAOS_REPORT=full $(PY) -m pytest tests/chaos -q $(PYTEST_ARGS)

lint: dev  ## ruff, ruff format and mypy (strict) over the package, handlers, sandbox, tests and scripts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(SOURCES)

ops: dev  ## the failure ledger (IDEMPOTENCY_TABLE and AWS credentials in the environment): OPS_ARGS="--since 7d"
	PYTHONPATH=layers/common $(PY) -m sfzsync.operations ops $(OPS_ARGS)

doctor: dev  ## read-only checks of a deployment's secret against Salesforce and Zuora: make doctor SECRET_ID=...
	PYTHONPATH=layers/common $(PY) -m sfzsync.operations doctor $(if $(SECRET_ID),--secret-id $(SECRET_ID),)

backfill: setup  ## the backfill over the sandbox (dry run, then the run): BACKFILL_ARGS="--accounts 10000 --create-missing"
	PYTHONPATH=layers/common:. $(PY) scripts/backfill.py $(BACKFILL_ARGS)

openapi: setup  ## regenerate docs/openapi.json from the handlers
	$(PY) scripts/generate-openapi

bench: setup  ## round trips, warm latency, cold start, memory and layer size on the sandbox -> docs/benchmarks.md
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PYTHONPATH=layers/common:. $(PY) scripts/bench.py $(BENCH_ARGS)

load: setup  ## 500 checkouts, 25 in flight, within Zuora's concurrency limit and Salesforce's allowance -> docs/benchmarks.md
	PYTHONPATH=layers/common:. $(PY) scripts/load.py $(LOAD_ARGS)

screenshots: setup  ## refresh docs/screenshots (the README's pictures) from the browser tests
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(PY) -m pytest tests/browser -q $(PYTEST_ARGS)

build: dev  ## sam build: the arm64 layer and the functions
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/sam build

ENV ?= default
deploy: build  ## sam deploy with the project's SAM CLI: ENV=default|dev|prod (samconfig.toml), GUIDED=1 to be asked
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/sam deploy --config-env $(ENV) $(if $(GUIDED),--guided,)

clean:  ## remove the virtualenvs, caches and build output
	rm -rf $(VENV) .cache .aws-sam
