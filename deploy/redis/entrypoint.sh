#!/bin/sh
# Redis's entrypoint in compose: write the ACL file from the rules (users.acl.rules beside this
# script, generated from shared/src/shared/redis_acl.py) and each user's Docker secret
# redis_<user>, then run the command given (redis-server ...) with --aclfile. Passwords go in
# as SHA-256 hashes, so the file reveals none, and no password is in any process's arguments.
# A rules line "user ..." is copied as it is (the default user, switched off).
set -eu
here=$(dirname "$0")
rules=${REDIS_ACL_RULES:-$here/users.acl.rules}
secrets=${REDIS_ACL_SECRETS:-/run/secrets}
acl_file=${REDIS_ACL_FILE:-/data/users.acl}
umask 077
grep -v '^#' "$rules" | while read -r user rest; do
    case $user in
        "") ;;
        user) echo "user $rest" ;;
        *)
            [ -s "$secrets/redis_$user" ] || { echo "missing secret redis_$user" >&2; exit 1; }
            hash=$(tr -d '\r\n' < "$secrets/redis_$user" | sha256sum | cut -d' ' -f1)
            echo "user $user on #$hash $rest"
            ;;
    esac
done > "$acl_file.new"
mv "$acl_file.new" "$acl_file"
# The official image's entrypoint hands /data to the redis user and drops root; the local
# stand-in (scripts/base-images.sh) already runs as redis.
if [ "$(id -u)" = 0 ] && command -v docker-entrypoint.sh >/dev/null 2>&1; then
    exec docker-entrypoint.sh "$@" --aclfile "$acl_file"
fi
exec "$@" --aclfile "$acl_file"
