# Everyday commands. `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# The Lambda runtime is python3.13; under pyenv, this makes the python3.13 shim resolve.
export PYENV_VERSION ?= 3.13.0:3.11.7
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
PYTEST_ARGS ?=

.PHONY: setup chromium demo sandbox test chaos lint build clean openapi bench

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

chromium:  ## Debian's chromium for the browser tests (needs root; skipped with a message otherwise)
	scripts/install-chromium

setup: $(VENV)/.installed $(CHECKOV_VENV)/.installed .cache/openapi/zuora.com.json chromium

demo: setup  ## sample checkouts through the handler against the offline sandbox
	PYTHONPATH=layers/common:. $(PY) scripts/demo.py

sandbox: setup  ## run the simulators until Ctrl-C and print the environment to point at them
	PYTHONPATH=layers/common:. $(PY) -m sandbox

test: setup  ## the whole suite: unit, sandbox, integration, template and build checks
	$(PY) -m pytest $(PYTEST_ARGS)

chaos: setup  ## the fault matrix, concurrency and dying-Lambda tests, with the matrix's table (also part of `make test`)
	CHAOS_REPORT=full $(PY) -m pytest tests/chaos -q $(PYTEST_ARGS)

openapi: setup  ## regenerate docs/openapi.json from the handlers
	$(PY) scripts/generate-openapi

bench: setup  ## round trips, warm latency, cold start, memory and layer size on the sandbox -> docs/benchmarks.md
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PYTHONPATH=layers/common:. $(PY) scripts/bench.py $(BENCH_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/common/sfzsync functions/checkout/app.py
	$(VENV)/bin/mypy functions/send_to_zuora/app.py

build: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/sam build

clean:
	rm -rf $(VENV) .cache .aws-sam
