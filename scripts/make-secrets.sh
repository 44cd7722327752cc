#!/usr/bin/env bash
# Create the Docker secrets that docker-compose.yml expects (never committed: see .gitignore).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p secrets
umask 077  # the folder: only its owner can reach the files
[ -s secrets/gateway_key_pepper ] || head -c 32 /dev/urandom | base64 > secrets/gateway_key_pepper
[ -s secrets/identity_signing_key ] || head -c 48 /dev/urandom | base64 | tr -d "\n=" > secrets/identity_signing_key
[ -s secrets/portfolio_fernet_keys ] || python3 -c \
  "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())" \
  > secrets/portfolio_fernet_keys
[ -e secrets/finnhub_api_key ] || printf '%s' "${FINNHUB_API_KEY:-}" > secrets/finnhub_api_key
# One Redis password per user of deploy/redis/users.acl.rules (ops and each service):
# secrets/redis_ops, secrets/redis_gateway, secrets/redis_market-data, ... (the redis
# container's entrypoint hashes them into its ACL file).
for user in $(grep -v -e '^#' -e '^user ' deploy/redis/users.acl.rules | cut -d' ' -f1); do
    [ -s "secrets/redis_$user" ] || head -c 48 /dev/urandom | base64 | tr -d "\n=" > "secrets/redis_$user"
done
echo "secrets ready in ./secrets (gateway_key_pepper, identity_signing_key, portfolio_fernet_keys, finnhub_api_key, redis_<user>)"
# Compose (without Swarm) bind-mounts each file into the container as it is: the services'
# user (uid 10001) must be able to read it. The folder (0700) keeps other host users out.
chmod 0700 secrets && chmod 0644 secrets/*
