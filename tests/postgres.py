"""A real PostgreSQL server for the tests that keep runs in PostgreSQL (a pytest plugin,
registered in tests/conftest.py): a throwaway cluster made by `initdb` in a temporary
folder, served by `pg_ctl` on a free port of 127.0.0.1 for the session, and a fresh
database per test."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server (its `postgres` database), stopped at the end."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (scripts/setup.sh test installs `postgresql`)")
    # Run as root, PostgreSQL refuses to start: run it as the `postgres` user instead.
    as_user = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="codehelm-pg-"))
    if as_user:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", _free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [*as_user, bindir / "pg_ctl", "-D", data, "-l", folder / "log"]
    try:
        initdb = [*as_user, bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust"]
        subprocess.run([*initdb, "-E", "UTF8"], check=True, capture_output=True)
        subprocess.run([*pg_ctl, "-o", options, "-w", "start"], check=True, capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database_url(postgres_server: str) -> str:
    """A new, empty database on the test server (with a password, which trust ignores)."""
    import psycopg

    name = f"t{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_server.replace("postgres@", "postgres:secret@").rsplit("/", 1)[0] + f"/{name}"
