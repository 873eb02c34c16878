# Roadbed — the README's two commands are `make up` and `make test`; each bootstraps what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
export UV_COMPILE_BYTECODE := 1
# Resolved when each recipe runs, so a uv that `bootstrap` just installed is found.
UV = $$(command -v uv 2>/dev/null || echo $$HOME/.local/bin/uv)
PYTHON ?= python3

# Each pytest run is its own process: Django is configured once per process, so the blog and the
# core's Django adapters never share one.
TEST_SUITES := packages/core/tests services/auth/tests services/shop/tests services/blog/tests services/tasks/tests services/notify/tests packages/roadbed/tests tests

.PHONY: help bootstrap sync up test test-fast lint format services bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

bootstrap: ## Install uv with pip when it is missing (no Python download: uses this machine's 3.11+)
	@command -v uv >/dev/null 2>&1 || [ -x "$(HOME)/.local/bin/uv" ] || $(PYTHON) -m pip install --user --quiet uv || $(PYTHON) -m pip install --quiet uv

sync: bootstrap ## Create .venv from uv.lock
	@$(UV) sync --frozen --quiet

up: sync ## Run every service in one process on http://127.0.0.1:8000 (migrates, seeds on first start)
	@$(UV) run --frozen roadbed up

test: sync ## Run all tests (services tier skipped when PostgreSQL/Redis/RabbitMQ are absent)
	@bash scripts/test.sh $(TEST_SUITES)

test-fast: sync ## Default tier only (SQLite, in-process bus and cache)
	@ROADBED_TEST_TIER=default bash scripts/test.sh $(TEST_SUITES)

lint: sync ## ruff (lint + format check) and mypy
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy

format: sync ## Apply ruff's fixes and formatting
	@$(UV) run --frozen ruff check --fix .
	@$(UV) run --frozen ruff format .

services: ## Start local PostgreSQL, Redis and RabbitMQ when installed and not running
	@bash scripts/services.sh

bench: sync ## Run the benchmarks under bench/ (ratios against a baseline measured in the same run)
	@$(UV) run --frozen python -m bench

clean: ## Remove embedded state (var/) and caches
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
