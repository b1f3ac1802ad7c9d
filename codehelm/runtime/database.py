"""Where runs are kept: SQLite files in the home folder (the embedded default), or one
PostgreSQL database that many processes and machines share, named by a postgres:// URL.

`Database` opens either: a connection that takes the same SQL (with `?` placeholders) on
both, so the trace store's schema and queries are written once. psycopg is imported only
when a URL is given.

Both are as durable as each other: a commit survives the writing process being killed, and
a crash of the machine that holds the data may lose the last few (SQLite: WAL with
`synchronous=NORMAL`; PostgreSQL: `synchronous_commit=off`, which waits for no disk flush).
"""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from codehelm.errors import ConfigError

Location = Path | str
"""A SQLite file, or a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE)."""

BUSY_TIMEOUT_S = 30.0  # how long a SQLite write waits for another process holding the lock
POSTGRES_OPTIONS: dict[str, Any] = {
    "autocommit": True,
    "connect_timeout": 10,  # seconds
    "options": "-c synchronous_commit=off",
}
SCHEMES = ("postgres://", "postgresql://")
WHAT_TO_DO = (
    "give --checkpoints (or CODEHELM_DATABASE_URL) as postgres://USER:PASSWORD@HOST:PORT/DATABASE"
    " of a running PostgreSQL server, or leave it unset to keep runs in SQLite files in --home"
)


def is_url(location: Location) -> bool:
    """Whether `location` is a database URL rather than a SQLite file."""
    return isinstance(location, str)


def shown(location: Location) -> str:
    """`location` as errors and thread names show it: a URL without its password."""
    text = str(location)
    password = _password(location)
    return text.replace(f":{password}@", ":***@") if password else text


def _password(location: Location) -> str | None:
    try:
        return urlsplit(str(location)).password if is_url(location) else None
    except ValueError:  # not a URL at all (say, a bad port)
        return None


def checked_url(location: Location) -> str:
    """The PostgreSQL URL `location`, or a `ConfigError` saying what is wrong with it (or
    that PostgreSQL's client libraries are not installed)."""
    url = str(location)
    if not url.startswith(SCHEMES):
        raise ConfigError(f"{shown(url)!r} is not a PostgreSQL URL; {WHAT_TO_DO}")
    libraries = ("psycopg", "psycopg_pool", "langgraph.checkpoint.postgres")
    if not all(map(importlib.util.find_spec, libraries)):
        raise ConfigError(
            f"keeping runs in {shown(url)} needs PostgreSQL's client libraries:"
            " pip install 'codehelm[postgres]'"
        )
    return url


def unreachable(location: Location, exc: BaseException) -> ConfigError:
    """The error for a database that could not be opened (the reason's first line)."""
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    password = _password(location)
    if password:
        reason = reason.replace(password, "***")
    return ConfigError(f"cannot open the database {shown(location)}: {reason}; {WHAT_TO_DO}")


class Database:
    """A connection to SQLite or PostgreSQL, in autocommit mode unless `begin` is called."""

    def __init__(self, location: Location) -> None:
        self.postgres = is_url(location)
        self.error: type[Exception]  # what its statements raise
        if self.postgres:
            url = checked_url(location)
            import psycopg

            self.error = psycopg.Error
            try:
                self._conn: Any = psycopg.connect(url, **POSTGRES_OPTIONS)
            except psycopg.Error as exc:
                raise unreachable(location, exc) from None
        else:
            self.error = sqlite3.Error
            self._conn = sqlite3.connect(
                location, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")

    def execute(self, sql: str, params: Any = ()) -> Any:
        """Run `sql` with `?` placeholders (no statement here has a literal `?`); its cursor."""
        if self.postgres:
            return self._conn.execute(sql.replace("?", "%s"), params)
        return self._conn.execute(sql, params)

    def setup(self, schema: str) -> None:
        """Create the tables of `schema` (`;`-separated) if missing; on PostgreSQL one
        process at a time, as concurrent `CREATE ... IF NOT EXISTS` can collide there."""
        statements = [statement for statement in schema.split(";") if statement.strip()]
        if not self.postgres:  # each statement on its own, waiting for the write lock
            for statement in statements:
                self.execute(statement)
            return
        self.begin()
        try:
            self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (schema,))
            for statement in statements:
                self.execute(statement)
            self.commit()
        except BaseException:
            self.rollback()
            raise

    def begin(self) -> None:
        """Start a transaction; SQLite takes its write lock now, not at the first write."""
        self._conn.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.postgres:
            from psycopg.pq import TransactionStatus

            if self._conn.info.transaction_status != TransactionStatus.IDLE:
                self._conn.execute("ROLLBACK")
        elif self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()
