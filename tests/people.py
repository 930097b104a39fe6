"""Databases for the tests of the people wing: a fresh one per test, on SQLite and on
PostgreSQL (one server per test process, a new database per test)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syndicate.people.database import create_engine, database_url, migrate
from tests.postgres import running_postgres

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_postgres(tmp_path_factory.mktemp("postgres")) as url:
        yield url


def fresh_database_url(kind: str, folder: Path, request: pytest.FixtureRequest) -> str:
    """The URL of a new, empty database of `kind` (a SYNDICATE_DATABASE_URL value)."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'syndicate.sqlite3'}"
    server: str = request.getfixturevalue("postgres_server")
    name = "t_" + secrets.token_hex(6)
    admin = sa.create_engine(
        database_url(server, None), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=ENGINES)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database on each engine, no schema yet."""
    made = create_engine(database_url(fresh_database_url(request.param, tmp_path, request), None))
    yield made
    made.dispose()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database on each engine."""
    made = create_engine(database_url(fresh_database_url(request.param, tmp_path, request), None))
    migrate(made)
    yield made
    made.dispose()
