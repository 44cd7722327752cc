#!/usr/bin/env bash
# Install what the platform needs and is missing: uv, the locked workspace, redis-server, nginx.
# Safe to run again: every step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

ensure_uv() {
  if command -v uv >/dev/null 2>&1; then return; fi
  for candidate in "$HOME/.local/bin/uv" "$HOME/.cargo/bin/uv"; do
    if [ -x "$candidate" ]; then return; fi
  done
  say "installing uv (from PyPI)"
  python3 -m pip install --quiet --user uv 2>/dev/null \
    || python3 -m pip install --quiet uv 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages uv
}

apt_install() {
  local missing=("$@")
  if command -v apt-get >/dev/null 2>&1; then
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
        echo "please install: ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 1
      fi
    fi
    say "installing ${missing[*]} (apt-get)"
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  else
    echo "please install with your package manager: ${missing[*]}" >&2
    exit 1
  fi
}

ensure_system_packages() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  command -v jq >/dev/null 2>&1 || missing+=(jq)          # the README's curl examples use it
  command -v openssl >/dev/null 2>&1 || missing+=(openssl) # self-signed TLS certificate script
  command -v node >/dev/null 2>&1 || missing+=(nodejs)     # builds the dashboard (web/)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  [ -x /usr/bin/chromium ] || missing+=(chromium)          # the dashboard's browser tests
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
  # Debian's nginx package starts a system nginx on port 80; ours runs privately, so that
  # one is left as it is.
}

ensure_uv
ensure_system_packages
export PATH="$HOME/.local/bin:$PATH"
UV="$(command -v uv)"
say "syncing the workspace ($("$UV" --version))"
"$UV" sync --frozen --all-packages --quiet

# The dashboard (web/): npm ci and a build whenever its sources or lock file changed.
build_dashboard() {
  local stamp=web/dist/.sources
  local sum
  sum="$(cd web && cat package-lock.json index.html vite.config.ts tsconfig.json \
    $(find src public scripts -type f | sort) | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then return; fi
  say "building the dashboard (npm $(npm --version), node $(node --version))"
  (cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent) >/dev/null
  echo "$sum" > "$stamp"
}
build_dashboard
