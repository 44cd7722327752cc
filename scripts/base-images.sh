#!/usr/bin/env bash
# Local stand-ins for the official base images, built from Debian packages with debootstrap,
# for machines that cannot reach Docker Hub (air-gapped CI, a registry blocked by policy).
#
#   scripts/base-images.sh            # builds local/python:3.11, local/redis:7, local/node:20
#   make base-images                  # the same
#
# Then build with them: make docker-build (it passes them as build arguments when they exist).
# With Docker Hub reachable you need none of this: the Dockerfiles default to python:3.11-slim
# redis:7-alpine and node:20-slim.
#
# TLS-inspecting proxies: many companies route HTTPS through a proxy that re-signs every
# certificate with the company's own CA. The host trusts that CA (it is in the host's CA bundle);
# a container built from a public image does not, so pip, uv and apt fail inside `docker build`
# with "certificate verify failed". The stand-ins therefore carry the host's CA bundle
# (CA_BUNDLE, default /etc/ssl/certs/ca-certificates.crt) as their system bundle.
#
# Needs root (debootstrap), debootstrap and a Docker engine (DOCKER_HOST is honoured).
# An image that exists already is kept (FORCE=1 rebuilds it).
set -euo pipefail

SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
PYTHON_IMAGE=${PYTHON_IMAGE:-local/python:3.11}
REDIS_IMAGE=${REDIS_IMAGE:-local/redis:7}
NODE_IMAGE=${NODE_IMAGE:-local/node:20}
# bookworm's nodejs is 18; the dashboard's build needs 20, which trixie has.
NODE_SUITE=${NODE_SUITE:-trixie}
WORK=${WORK:-$(mktemp -d /tmp/base-images.XXXXXX)}

if [[ -z $MIRROR ]]; then
    # The mirror apt already uses on this host (deb822 sources or the classic sources.list).
    MIRROR=$(grep -hs -m1 -oP '^URIs:\s*\K\S+' /etc/apt/sources.list.d/*.sources || true)
    [[ -n $MIRROR ]] || MIRROR=$(grep -hs -m1 -oP '^deb\s+(\[[^]]*\]\s+)?\K\S+' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true)
    MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi

rootfs() {  # rootfs SUITE NAME PACKAGES...: a minbase Debian tree with the packages, apt lists removed
    local suite=$1 dir=$WORK/$2; shift 2
    local include; include=$(IFS=,; echo "$*")
    echo "== debootstrap $suite ($include) from $MIRROR"
    debootstrap --variant=minbase --include="$include" "$suite" "$dir" "$MIRROR" >"$WORK/$(basename "$dir").log"
    # debootstrap's resolver skips alternatives and virtual packages (trixie's npm then misses
    # a dozen node-* modules): apt completes what the included packages need.
    chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get -f install -y -q --no-install-recommends \
        >>"$WORK/$(basename "$dir").log" 2>&1
    chroot "$dir" apt-get clean
    if [[ -s $CA_BUNDLE ]]; then
        install -D -m 0644 "$CA_BUNDLE" "$dir/etc/ssl/certs/ca-certificates.crt"
    fi
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/usr/share/doc/* \
        "$dir"/usr/share/man/* "$dir"/usr/share/locale/* "$dir"/tmp/*
    echo "$dir"
}

import() {  # import DIR TAG CHANGES...: docker import with Dockerfile-style --change lines
    local dir=$1 tag=$2; shift 2
    local args=()
    for change in "$@"; do args+=(--change "$change"); done
    tar -C "$dir" --numeric-owner -c . | docker import "${args[@]}" - "$tag" >/dev/null
    echo "== $tag: $(docker image inspect -f '{{.Size}}' "$tag" | numfmt --to=iec)"
}

have() { [[ -z ${FORCE:-} ]] && docker image inspect "$1" >/dev/null 2>&1 && echo "== $1: kept"; }

started=$(date +%s)
have "$PYTHON_IMAGE" || {
py=$(rootfs "$SUITE" python python3 python3-venv python-is-python3 ca-certificates | tail -1)
import "$py" "$PYTHON_IMAGE" 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin' \
    'ENV LANG=C.UTF-8' 'CMD ["python3"]'
}

have "$REDIS_IMAGE" || {
redis=$(rootfs "$SUITE" redis redis-server | tail -1)
# Like the official image: data in /data, the server runs as the redis user.
mkdir -p "$redis/data" && chroot "$redis" chown redis:redis /data
import "$redis" "$REDIS_IMAGE" 'WORKDIR /data' 'USER redis' 'EXPOSE 6379' 'CMD ["redis-server"]'
}

have "$NODE_IMAGE" || {
node=$(rootfs "$NODE_SUITE" node nodejs npm ca-certificates | tail -1)
import "$node" "$NODE_IMAGE" 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin' \
    'ENV LANG=C.UTF-8' 'CMD ["node"]'
}

rm -rf "$WORK"
echo "== base images built in $(( $(date +%s) - started ))s"
