#!/usr/bin/env bash
# CI's container steps (.ci/run calls it last): the engine from Debian's packages when there is
# none, the local base images, then `make docker-test`. Where no engine can run (no root, no
# package, a kernel without overlay or bridges) it says so in one line and exits 0: only the
# container steps are skipped. Once the engine answers, a failing build or test fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.local/bin:/usr/sbin:/sbin:$PATH"
LOG_DIR=${LOG_DIR:-var/log}
mkdir -p "$LOG_DIR" 2>/dev/null || LOG_DIR=$(mktemp -d)

skip() { echo "container steps skipped: $*"; exit 0; }
answers() { timeout 20 docker info >/dev/null 2>&1; }

missing=()
command -v docker >/dev/null || missing+=(docker.io)
command -v dockerd >/dev/null || answers || missing+=(docker.io)
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
    [[ $(id -u) == 0 ]] || skip "not root, cannot install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
        >"$LOG_DIR/ci-docker-apt.log" 2>&1 || skip "apt-get install ${missing[*]} failed ($LOG_DIR/ci-docker-apt.log)"
fi

started_pid=
if ! answers; then
    [[ $(id -u) == 0 ]] || skip "no Docker engine answers and not root to start one"
    command -v dockerd >/dev/null || skip "no dockerd installed"
    dockerd >"$LOG_DIR/dockerd.log" 2>&1 &
    started_pid=$!
    # Stop only the engine started here, at the end, whatever happens.
    trap 'kill "$started_pid" 2>/dev/null; wait "$started_pid" 2>/dev/null || true' EXIT
    for _ in $(seq 1 60); do answers && break; sleep 1; done
    answers || skip "dockerd did not start ($(tail -1 "$LOG_DIR/dockerd.log"))"
fi
# CI's budget is 45 minutes: the steps need ~30 of them with no base image (debootstrap of
# three roots, then both images) and ~8 once the images are here.
have_images() {
    docker image inspect local/python:3.11 >/dev/null 2>&1 || docker image inspect python:3.11-slim >/dev/null 2>&1
}
if [[ -n ${CI_STARTED:-} ]]; then
    used=$(( ($(date +%s) - CI_STARTED) / 60 ))
    need=$(have_images && echo 8 || echo 30)
    (( used + need <= 44 )) || skip "CI has used ${used} of its 45 minutes; the container steps need ~${need}"
fi
# Local stand-ins unless the official images are here (base-images.sh keeps the ones it has).
if ! docker image inspect python:3.11-slim >/dev/null 2>&1; then
    for attempt in 1 2; do  # debootstrap fetches from the mirror: one retry for the network
        nice -n 10 scripts/base-images.sh >"$LOG_DIR/base-images.log" 2>&1 && break
        [[ $attempt == 2 ]] && { tail -20 "$LOG_DIR/base-images.log"; exit 1; }
    done
    grep '^==' "$LOG_DIR/base-images.log"
fi
# An engine that starts but cannot run a container (no overlay, no bridge) is no engine here.
docker run --rm --network none local/python:3.11 true >/dev/null 2>&1 \
    || docker run --rm --network none python:3.11-slim true >/dev/null 2>&1 \
    || skip "the engine cannot run a container here ($LOG_DIR/dockerd.log)"
nice -n 10 make docker-test
