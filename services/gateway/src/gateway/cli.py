"""Command line: serve, worker, users, keys, render-nginx, nginx."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

import orjson
from shared.clock import SystemClock
from shared.serve import serve_app
from shared.settings import SettingsError, load_settings

from gateway import handlers
from gateway.adapters import store
from gateway.adapters.revocations import announce_revocation_sync
from gateway.bootstrap import open_database
from gateway.domain.keys import parse_scopes
from gateway.domain.users import valid_user_name
from gateway.settings import GatewaySettings


def serve(settings: GatewaySettings) -> None:
    serve_app(
        "gateway.app:create_app",
        settings,
        settings.service,
        ws_per_message_deflate=False,
        ws_ping_interval=20.0,
    )


def _print(as_json: bool, document: dict[str, Any], text: str) -> None:
    print(orjson.dumps(document, default=str).decode() if as_json else text)


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def users_command(settings: GatewaySettings, args: argparse.Namespace) -> None:
    engine = open_database(settings)
    if args.action == "list":
        rows = store.list_users(engine)
        for row in rows:
            _print(
                args.json,
                {"user_id": row.user_id, "name": row.name, "cash": str(row.cash)},
                f"{row.name}\t{row.user_id}",
            )
        return
    if not valid_user_name(args.name):
        _fail("a user name is 1-64 letters, digits, '_', '.', '-'")
    try:
        cash = Decimal(args.cash)
    except InvalidOperation:
        _fail(f"--cash {args.cash!r} is not a number")
    try:
        user = handlers.create_user(engine, handlers.CreateUser(args.name, cash), SystemClock())
    except store.NameTaken:
        _fail(f"user {args.name!r} exists")
    document = {"user_id": user.user_id, "name": user.name, "cash": str(user.cash)}
    _print(args.json, document, f"created user {user.name} ({user.user_id}) with cash {user.cash}")


def keys_command(settings: GatewaySettings, args: argparse.Namespace) -> None:
    engine = open_database(settings)
    clock = SystemClock()
    if args.action == "create":
        try:
            scopes = parse_scopes(args.scope)
        except ValueError as exc:
            _fail(str(exc))
        expires = datetime.fromisoformat(args.expires) if args.expires else None
        command = handlers.CreateKey(args.user, scopes, expires)
        try:
            key = handlers.create_key(engine, settings.key_pepper(), command, clock)
        except handlers.UnknownUser:
            _fail(f"no user {args.user!r}: create it with `gateway users create {args.user}`")
        text = f"key id: {key.key_id}\nsecret: {key.secret}\n(the secret is shown only once)"
        _print(args.json, {"key_id": key.key_id, "secret": key.secret}, text)
    elif args.action == "list":
        for row in store.list_keys(engine, args.user):
            document = {
                "key_id": row.key_id,
                "user": row.user_name,
                "scopes": row.scopes,
                "created_at": row.created_at,
                "expires_at": row.expires_at,
                "revoked_at": row.revoked_at,
                "last_used_at": row.last_used_at,
            }
            state = "revoked" if row.revoked_at else "live"
            _print(args.json, document, f"{row.key_id}\t{row.user_name}\t{row.scopes}\t{state}")
    elif args.action == "revoke":
        if not handlers.revoke_key(engine, args.key_id, clock):
            _fail(f"no live key {args.key_id!r}")
        announce_revocation_sync(settings, args.key_id)
        _print(args.json, {"key_id": args.key_id, "revoked": True}, f"revoked {args.key_id}")


def run_nginx(settings: GatewaySettings) -> None:
    """Render the config and replace this process with a foreground nginx (for the Procfile)."""
    from shared.testing.processes import find_executable

    from gateway.nginx.render import render_nginx

    render_nginx(settings)
    executable = find_executable("nginx")
    if executable is None:
        raise SystemExit("error: nginx is not installed (apt-get install nginx)")
    prefix = str(settings.nginx_prefix().resolve())
    argv = [executable, "-p", prefix, "-c", "nginx.conf", "-g", "daemon off;"]
    os.execv(executable, argv)  # noqa: S606 - a fixed argv, replacing this process


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="gateway")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the edge app (auth check, admin, docs, WebSockets)")
    commands.add_parser("worker", help="run the outbox relay")
    render = commands.add_parser("render-nginx", help="write nginx.conf")
    render.add_argument("--out", default=None, help="default: $VAR_DIR/nginx/nginx.conf")
    commands.add_parser("nginx", help="render the config and run nginx in the foreground")

    users = commands.add_parser("users").add_subparsers(dest="action", required=True)
    create_user = users.add_parser("create")
    create_user.add_argument("name")
    create_user.add_argument("--cash", default="100000")
    create_user.add_argument("--json", action="store_true")
    list_users = users.add_parser("list")
    list_users.add_argument("--json", action="store_true")

    keys = commands.add_parser("keys").add_subparsers(dest="action", required=True)
    create_key = keys.add_parser("create")
    create_key.add_argument("--user", required=True)
    create_key.add_argument(
        "--scope", default="read,trade", help="comma-separated: read,trade,admin"
    )
    create_key.add_argument("--expires", default=None, help="ISO timestamp")
    create_key.add_argument("--json", action="store_true")
    list_keys = keys.add_parser("list")
    list_keys.add_argument("--user", default=None)
    list_keys.add_argument("--json", action="store_true")
    revoke = keys.add_parser("revoke")
    revoke.add_argument("key_id")
    revoke.add_argument("--json", action="store_true")
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        settings = load_settings(GatewaySettings)
    except SettingsError as exc:
        _fail(str(exc))
    if args.command == "serve":
        serve(settings)
    elif args.command == "worker":
        from gateway.worker import main as worker_main

        worker_main()
    elif args.command == "render-nginx":
        from pathlib import Path

        from gateway.nginx.render import render_nginx

        print(render_nginx(settings, Path(args.out) if args.out else None))
    elif args.command == "nginx":
        run_nginx(settings)
    elif args.command == "users":
        users_command(settings, args)
    elif args.command == "keys":
        keys_command(settings, args)
