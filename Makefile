# The README's commands. Every target honours VAR_DIR, REDIS_URL and GATEWAY_PORT.
SHELL := /bin/bash
export VAR_DIR ?= $(CURDIR)/var
export GATEWAY_PORT ?= 8080
export PATH := $(HOME)/.local/bin:/usr/sbin:$(PATH)
PACKAGES := -p shared -p market_data -p index_service -p trading -p portfolio -p export_service -p gateway

.PHONY: up down status logs test test-postgres test-fast lint format bench ingest bootstrap \
	base-images docker-build docker-up docker-down docker-test

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

test: bootstrap  ## the whole suite against real Redis, SQLite, DuckDB and nginx (no Docker needed)
	uv run --no-sync pytest -m "not docker"

test-postgres: bootstrap  ## the trading and portfolio suites against PostgreSQL (TEST_POSTGRES_URL, default 127.0.0.1:5432)
	TEST_DATABASE_BACKEND=postgres TRADING_SM_EXAMPLES=10 uv run --no-sync pytest services/trading services/portfolio

test-fast: bootstrap
	uv run --no-sync pytest -m "not slow and not docker"

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

# Containers: scripts/compose.sh picks `docker compose` (v2) or `docker-compose` (v1.29).
export PUBLISH_PORT ?= 8080
COMPOSE := scripts/compose.sh

base-images:  ## local stand-ins for python:3.11-slim, redis:7-alpine, node:20-slim (no Docker Hub needed)
	scripts/base-images.sh

docker-build:  ## the service image and the nginx image (one shared build)
	$(COMPOSE) build gateway nginx

docker-up:  ## build, start every container, wait until http://127.0.0.1:$(PUBLISH_PORT)/readyz is 200
	@[ -s secrets/gateway_key_pepper ] || scripts/make-secrets.sh
	$(COMPOSE) build gateway nginx
	$(COMPOSE) up -d
	@for i in $$(seq 1 300); do \
		curl -fs -o /dev/null http://127.0.0.1:$(PUBLISH_PORT)/readyz && \
		echo "ready: http://127.0.0.1:$(PUBLISH_PORT)" && exit 0; sleep 2; done; \
		curl -sS http://127.0.0.1:$(PUBLISH_PORT)/readyz; $(COMPOSE) ps; exit 1

docker-down:  ## stop and remove every container (the volumes stay: add ARGS=-v to drop them)
	$(COMPOSE) down --remove-orphans $(ARGS)

docker-test:  ## tests/test_compose.py: the compose stack on its own project and port (one line and exit 0 without an engine)
	@if ! timeout 30 docker info >/dev/null 2>&1; then echo "docker-test skipped: no Docker engine answers"; exit 0; fi; \
		if ! $(COMPOSE) version >/dev/null 2>&1; then echo "docker-test skipped: no Compose (v2 or v1.29) installed"; exit 0; fi; \
		scripts/bootstrap.sh && uv run --no-sync pytest -m docker --timeout=3000 tests/test_compose.py $(ARGS)
