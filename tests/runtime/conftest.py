"""Run-store tests on SQLite and on PostgreSQL: `store_settings` is both. The PostgreSQL
server and its per-test databases (`postgres_server`, `database_url`) are in tests/postgres.py."""

from __future__ import annotations

import pytest

from codehelm.config import Settings


@pytest.fixture(params=["sqlite", "postgres"])
def store_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """`settings` keeping runs in SQLite files, or in a PostgreSQL database."""
    if request.param == "sqlite":
        return settings
    url = request.getfixturevalue("database_url")
    return settings.model_copy(update={"database_url": url})
