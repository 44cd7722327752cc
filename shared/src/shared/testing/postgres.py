"""PostgreSQL for test suites: ``TEST_DATABASE_BACKEND=postgres`` runs them on a real server.

The server is ``TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``,
trust auth, what the machine and CI provide). A test run creates one database of its own,
``pytest_<pid>_<random>``, and drops it at exit; each test (or each example of a stateful
test) gets a fresh schema in it, named first in its URL's ``search_path``, so tables created
through the URL land there and nothing is shared between tests. With the postgres backend
asked for and no server answering, :class:`PostgresUnavailable` fails the test: never a skip.

    url = fresh_database_url()      # a SQLAlchemy URL (psycopg 3) on a new, empty schema
    drop_database_url(url)          # drop that schema again (the database goes at exit)
"""

from __future__ import annotations

import atexit
import os
import threading
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

BACKEND_ENV = "TEST_DATABASE_BACKEND"
SERVER_ENV = "TEST_POSTGRES_URL"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgres")
CONNECT_TIMEOUT_S = 5


class PostgresUnavailable(RuntimeError):
    """The postgres backend was asked for and the server cannot be used."""


def selected_backend() -> str:
    """``sqlite`` (the default) or ``postgres``, from ``TEST_DATABASE_BACKEND``."""
    backend = os.environ.get(BACKEND_ENV, "").strip().lower() or "sqlite"
    if backend not in BACKENDS:
        raise ValueError(f"{BACKEND_ENV}={backend!r}: use one of {', '.join(BACKENDS)}")
    return backend


def _with_database(server_url: str, database: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


def _sqlalchemy_url(libpq_url: str, schema: str) -> str:
    scheme, rest = libpq_url.split("://", 1)
    driver = "postgresql+psycopg" if scheme in ("postgresql", "postgres") else scheme
    separator = "&" if "?" in rest else "?"
    return f"{driver}://{rest}{separator}options={quote(f'-csearch_path={schema}')}"


class SessionDatabase:
    """One database for this test run; a schema per test inside it."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.name = f"pytest_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.url = _with_database(server_url, self.name)
        self.schemas: set[str] = set()
        try:
            with psycopg.connect(
                server_url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            ) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        except psycopg.Error as exc:
            raise PostgresUnavailable(
                f"{BACKEND_ENV}=postgres but PostgreSQL at {server_url} cannot be used "
                f"({exc}); start it or set {SERVER_ENV}"
            ) from exc

    def new_schema(self) -> str:
        """A SQLAlchemy URL whose connections create and find tables in a new schema."""
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        self.schemas.add(schema)
        return _sqlalchemy_url(self.url, schema)

    def drop_schema(self, url: str) -> None:
        """Drop the schema of a URL from :meth:`new_schema`; a busy one waits for the end."""
        schema = url.rsplit("search_path%3D", 1)[-1]
        if schema not in self.schemas:
            return
        try:
            with psycopg.connect(self.url, autocommit=True) as connection:
                connection.execute("SET lock_timeout = '5s'")
                connection.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )
            self.schemas.discard(schema)
        except psycopg.Error:
            pass  # a test left a transaction open on it: it goes with the database at exit

    def close(self) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )


_session: SessionDatabase | None = None
_session_lock = threading.Lock()


def session_database() -> SessionDatabase:
    """This run's database, created on first use and dropped when the process exits."""
    global _session
    with _session_lock:
        if _session is None:
            _session = SessionDatabase(os.environ.get(SERVER_ENV) or DEFAULT_SERVER)
            atexit.register(_session.close)
        return _session


def fresh_database_url() -> str:
    """A SQLAlchemy URL on a new, empty schema of this run's PostgreSQL database."""
    return session_database().new_schema()


def drop_database_url(url: str) -> None:
    session_database().drop_schema(url)
