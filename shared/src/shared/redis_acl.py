"""Redis users: one per service, allowed only the commands and keys of its own streams.

``USERS`` is the one table of who produces, consumes and reads what; ``acl_rules`` turns it
into ACL rules (Redis 7 selectors, so a consumer may run group commands on a stream but not
XADD to it), ``write_acl_file`` writes the native stack's ACL file from the passwords in
``$VAR_DIR/secrets/redis`` (made on first use, 0600), and ``deploy/redis/users.acl.rules`` is
the same rules for compose (its entrypoint adds the Docker secrets' hashes), checked against
this table by the tests.

Redis ACLs know keys, not consumer groups: a consumer of a stream could XACK another group's
entries on that stream. What it cannot do is write the stream, touch a stream it does not
consume, or run admin commands (FLUSHALL, CONFIG, ACL, KEYS, DEBUG, ...).
"""

from __future__ import annotations

import argparse
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.events import Streams
from shared.settings import OPS_REDIS_USER, ServiceName, generated_secret, redis_secret_path

# What every user may do on its connection: authenticate, health-check, name itself, and wrap
# a dead letter and its XACK in MULTI/EXEC. Not CLIENT SETINFO: Redis 7.0 does not know it
# (7.2 does), and redis-py ignores its refusal.
CONNECTION_COMMANDS = (
    "+auth",
    "+hello",
    "+ping",
    "+client|setname",
    "+client|id",
    "+multi",
    "+exec",
    "+discard",
)
GROUP_COMMANDS = (
    "+xgroup|create",
    "+xreadgroup",
    "+xack",
    "+xautoclaim",
    "+xinfo|stream",
    "+xinfo|groups",
)
PUBSUB_COMMANDS = ("+publish", "+subscribe", "+unsubscribe")
CACHE_COMMANDS = ("+get", "+set", "+incr", "+incrby", "+del")  # redis-py's incr is INCRBY
FAILURE_COUNT_COMMANDS = ("+hincrby", "+hdel")
FANOUT_COMMANDS = ("+xread", "+xrevrange")


@dataclass(frozen=True)
class RedisUser:
    """What one service does with Redis; each process of the service logs in as it."""

    name: str
    produces: tuple[str, ...] = ()  # streams it XADDs to (its outbox relay, the tick feed)
    consumes: tuple[str, ...] = ()  # streams it reads through consumer groups
    reads: tuple[str, ...] = ()  # streams it reads without a group (WebSocket fan-out)
    key_prefixes: tuple[str, ...] = ()  # its own cache keys and their locks
    channels: tuple[str, ...] = ()  # pub/sub channels it publishes and subscribes to


USERS: tuple[RedisUser, ...] = (
    RedisUser(ServiceName.MARKET_DATA, produces=(Streams.TICKS, Streams.BARS)),
    RedisUser(
        ServiceName.INDEX,
        produces=(Streams.INDEX,),
        consumes=(Streams.BARS,),
        key_prefixes=("index:",),
    ),
    RedisUser(
        ServiceName.TRADING,
        produces=(Streams.ORDERS,),
        consumes=(Streams.TICKS, Streams.ACCOUNTS, Streams.ALERTS),
    ),
    RedisUser(
        ServiceName.PORTFOLIO,
        produces=(Streams.ALERTS,),
        consumes=(Streams.ORDERS, Streams.ACCOUNTS, Streams.TICKS),
    ),
    RedisUser(ServiceName.EXPORT, produces=(Streams.EXPORTS,)),
    RedisUser(
        ServiceName.GATEWAY,
        produces=(Streams.ACCOUNTS,),
        reads=(Streams.TICKS, Streams.ORDERS, Streams.ALERTS),
        channels=("gateway.keys.revoked",),
    ),
)
ALL_USERS = (OPS_REDIS_USER, *(user.name for user in USERS))


def _selector(keys: Sequence[str], commands: Sequence[str]) -> str:
    return "(" + " ".join([*(f"~{key}" for key in keys), *commands]) + ")"


def user_rules(user: RedisUser) -> str:
    """The rules after ``user <name> on <password>``: nothing but what the table grants."""
    dead_letters = [Streams.dead_letter(stream) for stream in user.consumes]
    rules = ["resetkeys", "resetchannels", "-@all", *CONNECTION_COMMANDS]
    if user.channels:
        rules += [*(f"&{channel}" for channel in user.channels), *PUBSUB_COMMANDS]
    if user.produces or dead_letters:
        rules.append(_selector([*user.produces, *dead_letters], ["+xadd", "+xlen"]))
    if user.consumes:
        rules.append(_selector(user.consumes, GROUP_COMMANDS))
        failures = [f"consumer-failures:{stream}:*" for stream in user.consumes]
        rules.append(_selector(failures, FAILURE_COUNT_COMMANDS))
    if user.reads:
        rules.append(_selector(user.reads, FANOUT_COMMANDS))
    if user.key_prefixes:
        rules.append(_selector([f"{prefix}*" for prefix in user.key_prefixes], CACHE_COMMANDS))
    return " ".join(rules)


def acl_rules() -> dict[str, str]:
    """Every user's rules by name: the operators' admin user, the services', and ``default``
    switched off (an unauthenticated connection gets NOAUTH)."""
    rules = {OPS_REDIS_USER: "~* &* +@all"}
    rules.update({user.name: user_rules(user) for user in USERS})
    return rules


# ``off``: no connection can be, or become, ``default`` (NOAUTH before AUTH; AUTH default is
# refused whatever the password). Its command rules stay ``+@all`` on purpose: Redis 7.0
# checks a transaction's commands again at EXEC against the AOF-loading client's user, which
# is ``default``, so with ``-@all`` a restart drops every MULTI/EXEC of the AOF (XREADGROUP's
# propagated XCLAIMs among them: the groups' pending entries were lost).
DISABLED_DEFAULT = "user default off resetpass ~* &* +@all"
TEMPLATE_HEADER = (
    "# Generated from shared/src/shared/redis_acl.py: uv run python -m shared.redis_acl rules"
    " > deploy/redis/users.acl.rules"
)


def password_hash(password: str) -> str:
    return "#" + hashlib.sha256(password.encode()).hexdigest()


def acl_file_text(passwords: dict[str, str]) -> str:
    """The ACL file: passwords as SHA-256 hashes, so the file itself reveals none."""
    lines = [DISABLED_DEFAULT]
    for name, rules in acl_rules().items():
        lines.append(f"user {name} on {password_hash(passwords[name])} {rules}")
    return "\n".join(lines) + "\n"


def write_acl_file(var_dir: Path) -> Path:
    """Make each user's password (once, 0600 in a 0700 folder) and write the ACL file
    Redis loads (``--aclfile``), also 0600; returns its path."""
    folder = var_dir / "secrets"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    passwords = {
        name: generated_secret(redis_secret_path(var_dir, name)).strip() for name in ALL_USERS
    }
    path = folder / "redis-users.acl"
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(acl_file_text(passwords))
    aside.replace(path)
    return path


def rules_template() -> str:
    """``deploy/redis/users.acl.rules``: one ``<user> <rules>`` line each, the password left
    to the container's entrypoint (it reads the Docker secret ``redis_<user>``)."""
    lines = [TEMPLATE_HEADER, DISABLED_DEFAULT]
    lines += [f"{name} {rules}" for name, rules in acl_rules().items()]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Redis users of the platform")
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="make the passwords and the ACL file in VAR_DIR")
    write.add_argument("var_dir", type=Path)
    commands.add_parser("rules", help="print the compose rules template")
    args = parser.parse_args(argv)
    if args.command == "write":
        print(write_acl_file(args.var_dir))
    else:
        print(rules_template(), end="")


if __name__ == "__main__":
    main()
