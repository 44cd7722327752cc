# One Dockerfile for every service (build from the workspace root):
#   docker build --target runtime -t market-platform/app .      # every service in one image
#   docker build --target runtime --build-arg PACKAGE=trading -t market-platform/trading .
#   docker build --target nginx -t market-platform/nginx .      # the edge: nginx + its renderer
# Works with the classic builder and with BuildKit (no BuildKit-only syntax).
# Base images are build arguments; the defaults are the official images, so with Docker Hub
# nothing needs changing. Without it, scripts/base-images.sh builds Debian stand-ins:
#   --build-arg PYTHON_IMAGE=local/python:3.11 --build-arg NODE_IMAGE=local/node:20
# No "# syntax=" line on purpose: BuildKit would fetch that frontend from Docker Hub.
ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:20-slim

# --- build: one venv; third-party dependencies in their own layer, keyed on uv.lock alone.
FROM ${PYTHON_IMAGE} AS build
# Behind a TLS-inspecting proxy the base image's system bundle holds the company CA
# (scripts/base-images.sh copies the host's in); pip and uv use that bundle, not their own.
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON_DOWNLOADS=never UV_NO_CACHE=1
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install "uv>=0.9,<0.14" \
    && ln -s /opt/uv/bin/uv /usr/local/bin/uv
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY services/gateway/pyproject.toml services/gateway/
COPY services/market-data/pyproject.toml services/market-data/
COPY services/index/pyproject.toml services/index/
COPY services/trading/pyproject.toml services/trading/
COPY services/portfolio/pyproject.toml services/portfolio/
COPY services/export/pyproject.toml services/export/
# Every package's dependencies, once: the six service images share this layer.
RUN uv sync --frozen --no-dev --all-packages --no-install-workspace
COPY shared/ shared/
COPY services/ services/
# PACKAGE empty: every service; otherwise one package and what it needs (the rest is removed).
ARG PACKAGE=
RUN if [ -n "$PACKAGE" ]; then uv sync --frozen --no-dev --no-editable --package "$PACKAGE"; \
    else uv sync --frozen --no-dev --no-editable --all-packages; fi

# --- runtime: the interpreter, the venv and an unprivileged user; no uv, no compiler, no source.
# The service folders exist in the image, owned by app: a new named volume mounted on one takes
# its owner from here (Docker would otherwise create data/ as root, and the services chmod it).
FROM ${PYTHON_IMAGE} AS runtime
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app/var/data/gateway /app/var/data/market-data /app/var/data/index \
        /app/var/data/trading /app/var/data/portfolio /app/var/data/export \
    && chown -R app /app/var && chmod -R 0700 /app/var/data \
    && printf '%s\n' '#!/bin/sh' \
        '# healthcheck PORT [PATH]: 0 when http://127.0.0.1:PORT/PATH answers 2xx (killed after 9 s).' \
        'exec timeout -s KILL 9 python3 -I -S /usr/local/lib/healthcheck.py "$@"' \
        > /usr/local/bin/healthcheck && chmod 0755 /usr/local/bin/healthcheck
COPY scripts/healthcheck.py /usr/local/lib/healthcheck.py
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH VAR_DIR=/app/var BIND_HOST=0.0.0.0 PYTHONUNBUFFERED=1
WORKDIR /app
USER app
# Compose sets each service's command and healthcheck (healthcheck <its port>).
CMD ["gateway", "serve"]

# --- web: the dashboard's static build (web/dist), copied into the nginx image only. After the
# runtime stage: the classic builder builds every stage up to --target, so runtime skips it.
FROM ${NODE_IMAGE} AS web
# Node keeps its own CA list; behind a TLS-inspecting proxy npm needs the system bundle too.
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm_config_update_notifier=false \
    npm_config_fund=false npm_config_audit=false
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# --- nginx: the gateway's renderer (the config comes from the same settings) plus nginx.
FROM runtime AS nginx
USER root
RUN apt-get update && apt-get install -y --no-install-recommends nginx \
    && rm -rf /var/lib/apt/lists/* /var/log/nginx/* \
    && printf '#!/bin/sh\nexec gateway nginx\n' > /usr/local/bin/nginx-entrypoint \
    && chmod +x /usr/local/bin/nginx-entrypoint
# The dashboard (built in the web stage), served by nginx at / (gateway.nginx.render).
COPY --from=web /web/dist/ /app/static/
ENV DASHBOARD_DIR=/app/static
USER app
EXPOSE 8080
# /readyz at nginx: 200 only when every upstream service is ready.
HEALTHCHECK --interval=10s --timeout=10s --start-period=300s --retries=5 CMD ["healthcheck", "8080"]
CMD ["nginx-entrypoint"]
