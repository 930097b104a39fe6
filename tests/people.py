"""Databases for the tests of the people wing: a fresh one per test, on SQLite and on
PostgreSQL (one server per test process, a new database per test)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syndicate.people.database import UTCDateTime, create_engine, database_url, migrate
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


# Rows as an older version of the code left them (its columns only): the migration tests
# write them before upgrading, as the code of the time would have, not with today's code.
_old = sa.MetaData()
_old_subscribers = sa.Table(
    "subscribers", _old, sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("address", sa.String(320)), sa.Column("created_at", UTCDateTime),
    sa.Column("confirmed_at", UTCDateTime), sa.Column("bounced_at", UTCDateTime),
    sa.Column("token_key", sa.String(32)),
)  # fmt: skip
_old_subscriptions = sa.Table(
    "subscriptions", _old, sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subscriber_id", sa.Integer), sa.Column("topic", sa.String(100)),
    sa.Column("type", sa.String(100)), sa.Column("frequency", sa.String(10)),
    sa.Column("created_at", UTCDateTime), sa.Column("confirmed_at", UTCDateTime),
)  # fmt: skip
_old_messages = sa.Table(
    "messages", _old, sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subscriber_id", sa.Integer), sa.Column("kind", sa.String(10)),
    sa.Column("key", sa.String(32)), sa.Column("created_at", UTCDateTime),
    sa.Column("due_at", UTCDateTime), sa.Column("sent_at", UTCDateTime),
    sa.Column("failed_at", UTCDateTime), sa.Column("last_error", sa.String(300)),
)  # fmt: skip


def old_subscriber(
    engine: Engine, address: str, at: datetime, bounced_with: str | None = None
) -> int:
    """A confirmed subscriber to harm-reduction, as versions 0001 to 0004 stored one (its
    confirmation sent); with `bounced_with`, an update that bounced with that reply, as the
    code before 0005 recorded a bounce (the message failed and the address bounced at once)."""
    with engine.begin() as connection:
        subscriber = connection.execute(
            sa.insert(_old_subscribers).values(
                address=address, created_at=at, confirmed_at=at,
                bounced_at=at if bounced_with else None, token_key=secrets.token_hex(16),
            ).returning(_old_subscribers.c.id)
        ).scalar_one()  # fmt: skip
        connection.execute(
            sa.insert(_old_subscriptions).values(
                subscriber_id=subscriber, topic="harm-reduction", type="*",
                frequency="instant", created_at=at, confirmed_at=at,
            )
        )  # fmt: skip
        connection.execute(
            sa.insert(_old_messages).values(
                subscriber_id=subscriber, kind="confirm", key=secrets.token_hex(16),
                created_at=at, due_at=at, sent_at=at,
            )
        )  # fmt: skip
        if bounced_with:
            connection.execute(
                sa.insert(_old_messages).values(
                    subscriber_id=subscriber, kind="update", key=secrets.token_hex(16),
                    created_at=at, due_at=at, failed_at=at, last_error=bounced_with,
                )
            )  # fmt: skip
    return int(subscriber)
