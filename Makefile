# Everyday commands. `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# The Lambda runtime is python3.13; under pyenv, this makes the python3.13 shim resolve.
export PYENV_VERSION ?= 3.13.0:3.11.7
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
PYTEST_ARGS ?=

.PHONY: setup chromium demo sandbox test lint build clean

$(VENV)/.installed: requirements-dev.txt layers/common/requirements.txt
	python3.13 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

.cache/openapi/zuora.com.json: scripts/fetch-zuora-openapi
	scripts/fetch-zuora-openapi

chromium:  ## Debian's chromium for the browser tests (needs root; skipped with a message otherwise)
	scripts/install-chromium

setup: $(VENV)/.installed .cache/openapi/zuora.com.json chromium

demo: setup  ## sample checkouts through the handler against the offline sandbox
	PYTHONPATH=layers/common:. $(PY) scripts/demo.py

sandbox: setup  ## run the simulators until Ctrl-C and print the environment to point at them
	PYTHONPATH=layers/common:. $(PY) -m sandbox

test: setup  ## the whole suite: unit, sandbox, integration, template and build checks
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/common/sfzsync functions/checkout/app.py
	$(VENV)/bin/mypy functions/send_to_zuora/app.py

build: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/sam build

clean:
	rm -rf $(VENV) .cache .aws-sam
