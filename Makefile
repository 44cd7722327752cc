# The README's commands. Every target honours VAR_DIR, REDIS_URL and GATEWAY_PORT.
SHELL := /bin/bash
export VAR_DIR ?= $(CURDIR)/var
export GATEWAY_PORT ?= 8080
export PATH := $(HOME)/.local/bin:/usr/sbin:$(PATH)
PACKAGES := -p shared -p market_data -p index_service -p trading -p portfolio -p export_service -p gateway

.PHONY: up down status logs test test-postgres test-fast lint format bench ingest bootstrap

up: bootstrap  ## install what is missing, start every process, load default data
	uv run --no-sync python scripts/stack.py up

down:  ## stop every process that make up started
	python3 scripts/stack.py down

status:
	python3 scripts/stack.py status

logs:  ## follow every process's log
	tail -n 20 -F $(VAR_DIR)/log/*.log

bootstrap:
	@scripts/bootstrap.sh

test: bootstrap  ## the whole suite against real Redis, SQLite, DuckDB and nginx
	uv run --no-sync pytest

test-postgres: bootstrap  ## the trading and portfolio suites against PostgreSQL (TEST_POSTGRES_URL, default 127.0.0.1:5432)
	TEST_DATABASE_BACKEND=postgres TRADING_SM_EXAMPLES=10 uv run --no-sync pytest services/trading services/portfolio

test-fast: bootstrap
	uv run --no-sync pytest -m "not slow"

lint: bootstrap
	uv run --no-sync ruff check .
	uv run --no-sync ruff format --check .
	uv run --no-sync mypy $(PACKAGES)

format: bootstrap
	uv run --no-sync ruff format .
	uv run --no-sync ruff check --fix .

bench: bootstrap  ## every benchmark in bench/, printing its figures
	@for script in bench/*.py; do echo "== $$script"; uv run --no-sync python $$script || exit 1; done

ingest: bootstrap  ## e.g. make ingest ARGS="--provider file --path ../shared/data/sp500_2025_06.csv.gz"
	uv run --no-sync market-data ingest $(ARGS)
