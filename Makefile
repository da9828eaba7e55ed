# caseflow — every target installs what it needs from nothing (see README "Prerequisites").
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv validate-deploy run test test-unit test-integration test-faults bench bench-down lint fmt typecheck infra-up infra-down infra-status infra-wipe clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

## Debian's Chromium, its driver and CJK fonts for the browser tests (installed once; needs root or sudo)
BROWSER := /usr/bin/chromedriver /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
$(BROWSER):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null

## Debian's PostgreSQL 15 server for the local cluster (installed once; needs root or sudo). `caseflow infra up`
## installs it too when run as root; the project runs its own cluster, not the package's (see caseflow_cli/infra/postgres.py)
POSTGRES := /usr/lib/postgresql/15/bin/initdb
$(POSTGRES):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq postgresql-15 >/dev/null

## the local broker runs with SASL/SCRAM + ACLs unless CASEFLOW_INFRA_SECURE=0 (the test servers are set apart)
INFRA_ENV := CASEFLOW_INFRA_SECURE=$${CASEFLOW_INFRA_SECURE:-1}

## the platform's main job: local Kafka + PostgreSQL + Zipkin, every service, the partner simulators (Ctrl-C stops)
run: $(STAMP) $(POSTGRES)
	$(INFRA_ENV) $(BIN)/python -m caseflow_cli run

## all tests: unit, then integration against a real Kafka broker and PostgreSQL started for the run
test: $(STAMP) $(BROWSER) $(POSTGRES)
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

test-integration: $(STAMP) $(POSTGRES)
	$(BIN)/python -m pytest -q -m integration

## fault suite alone: a 3-broker KRaft cluster + PostgreSQL of its own, kill -9 brokers/services/worker under load,
## reconcile after each (~5 min; `make test` runs it too, `-m "not faults"` leaves it out)
test-faults: $(STAMP) $(POSTGRES)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/faults

bench: $(STAMP) $(POSTGRES)
	$(BIN)/python -m bench

## stop the benchmarks' own servers (.cache/bench-infra, ports 28092/28093/28432)
bench-down: $(STAMP)
	$(BIN)/python -m bench down

## deploy/ files: compose config, kustomize build, Kubernetes schema validation (tools cached in .cache/)
validate-deploy: $(STAMP)
	deploy/validate.sh

## the whole tree: ruff (incl. complexity ≤ 15) everywhere, mypy over the product's packages
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy shared services integrations caseflow_cli

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

infra-up: $(STAMP) $(POSTGRES)
	$(INFRA_ENV) $(BIN)/python -m caseflow_cli infra up

infra-down: $(STAMP)
	$(INFRA_ENV) $(BIN)/python -m caseflow_cli infra down

infra-status: $(STAMP)
	$(INFRA_ENV) $(BIN)/python -m caseflow_cli infra status

infra-wipe: $(STAMP)
	$(INFRA_ENV) $(BIN)/python -m caseflow_cli infra wipe -y

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache .mypy_cache
