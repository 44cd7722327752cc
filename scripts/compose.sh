#!/usr/bin/env bash
# compose.sh ARGS...: docker-compose.yml with whichever Compose is installed, Compose v2
# (`docker compose`) or v1.29 (`docker-compose`), as the project "market-platform".
# Base images: the official ones when the engine has them or can pull them; the local stand-ins
# of scripts/base-images.sh when only those exist. PYTHON_IMAGE / NODE_IMAGE / REDIS_IMAGE
# override both.
set -euo pipefail
cd "$(dirname "$0")/.."
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-market-platform}
# docker-compose 1.29 builds with the classic builder unless told otherwise; both work.
export COMPOSE_DOCKER_CLI_BUILD=${COMPOSE_DOCKER_CLI_BUILD:-0} DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }
pick() {  # pick OFFICIAL LOCAL: the official image unless only the local stand-in exists
    if ! have_image "$1" && have_image "$2"; then echo "$2"; else echo "$1"; fi
}
export PYTHON_IMAGE=${PYTHON_IMAGE:-$(pick python:3.11-slim local/python:3.11)}
export REDIS_IMAGE=${REDIS_IMAGE:-$(pick redis:7-alpine local/redis:7)}
export NODE_IMAGE=${NODE_IMAGE:-$(pick node:20-slim local/node:20)}

if docker compose version >/dev/null 2>&1; then
    exec docker compose "$@"
elif command -v docker-compose >/dev/null; then
    exec docker-compose "$@"
fi
echo "error: neither 'docker compose' (v2) nor 'docker-compose' (v1.29) is installed" >&2
exit 1
