"""The database: engine, tables, migrations. SQLite by default, PostgreSQL for several machines.

SQLAlchemy Core (no ORM: a few tables and named queries do not need one) with Alembic for the
schema. `open_database` makes the engine for `SYNDICATE_DATABASE_URL` (`postgresql://...`) or,
without it, for `state_dir/syndicate.sqlite3`, and brings the schema to the newest version
before anything uses it (Alembic, `migrations/`; from empty or from any older version).
SQLite runs in WAL mode with a busy timeout, so the workers of a pool can share the file;
every write is a short transaction.

All times are stored as UTC (`UTCDateTime`): SQLite has no time zones, and comparing aware
and naive datetimes would fail at run time.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Dialect, Engine

from syndicate.people.errors import DatabaseUnavailable

__all__ = ["Database", "DatabaseUnavailable", "open_database"]

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_FILE = "syndicate.sqlite3"


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An aware datetime, stored as UTC and read back aware, on either engine."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the database stores aware UTC times only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = sa.MetaData()


def _subscriber() -> sa.Column[int]:
    """The subscriber a row is about: deleting the subscriber deletes the row."""
    return sa.Column(
        "subscriber_id",
        sa.Integer,
        sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
        nullable=False,
    )


# Settings the database itself holds, shared by every machine that uses it (the secret that
# signs links in emails).
settings = sa.Table(
    "settings",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)

# An address that signed up; confirmed once its owner clicked a confirmation link.
subscribers = sa.Table(
    "subscribers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("address", sa.String(320), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("confirmed_at", UTCDateTime),  # the first consent
    sa.Column("bounced_at", UTCDateTime),  # refused for good (RCPT TO, a DSN, a complaint)
    sa.Column("bounce_reason", sa.String(100)),  # how we learnt it ("rcpt: 550 5.1.1 ...")
    # Soft bounces (a full mailbox, a DSN with a 4.x.x status) since `soft_since`: past a
    # limit (people/bounces.py), the address is treated as bounced.
    sa.Column("soft_bounces", sa.Integer, nullable=False, server_default="0"),
    sa.Column("soft_since", UTCDateTime),
    sa.Column("token_key", sa.String(32), nullable=False),  # in every link; new at erase
)

# Confirmation emails asked for one mailbox in the current day, whatever the spelling: the
# key is a hash of the address lower-cased with its +tag left out (people/limits.py).
mailbox_asks = sa.Table(
    "mailbox_asks",
    metadata,
    sa.Column("mailbox", sa.String(64), primary_key=True),
    sa.Column("asks", sa.Integer, nullable=False),
    sa.Column("since", UTCDateTime, nullable=False),
)

# What an address follows: one feed (topic and type, '*' for every), and how often.
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _subscriber(),
    sa.Column("topic", sa.String(100), nullable=False),  # a slug, or '*'
    sa.Column("type", sa.String(100), nullable=False),  # a slug, or '*'
    sa.Column("frequency", sa.String(10), nullable=False),  # 'instant' or 'weekly'
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("confirmed_at", UTCDateTime),  # None: waits for its confirmation link
    sa.Column("nonce", sa.String(32)),  # the pending confirmation's, used once
    sa.UniqueConstraint("subscriber_id", "topic", "type"),
)

# Every item the service has seen live, and when: an item is announced once, ever.
announced = sa.Table(
    "announced",
    metadata,
    sa.Column("item_id", sa.String(120), primary_key=True),
    sa.Column("live_at", UTCDateTime, nullable=False),
)

# The outbox: each message due to an address (a confirmation, an update, a digest).
messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _subscriber(),
    sa.Column("kind", sa.String(10), nullable=False),  # 'confirm', 'update' or 'digest'
    sa.Column("key", sa.String(32), nullable=False, unique=True),  # its Message-ID
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),  # the next attempt
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("sent_at", UTCDateTime),  # the relay said 250
    sa.Column("failed_at", UTCDateTime),  # given up: bounced, nothing left, or set aside
    # Refused for itself (a 5xx to DATA, an address that cannot go on the wire): kept until
    # the operator releases it (`syndicate email release`) or it is forgotten with the rest.
    sa.Column("set_aside_at", UTCDateTime),
    sa.Column("last_error", sa.String(300)),  # the relay's reply, never an address
    sa.Column("detail", sa.Text),  # a confirmation's subscription ids (JSON)
    # Taken by one sender until then: two processes never send the same message at once.
    sa.Column("claimed_by", sa.String(64)),
    sa.Column("claimed_until", UTCDateTime),
)

sa.Index("messages_by_subscriber", messages.c.subscriber_id, messages.c.kind)

# Each item due to each address, recorded before any email: never twice, never lost.
pending = sa.Table(
    "pending",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _subscriber(),
    sa.Column("item_id", sa.String(120), nullable=False),
    sa.Column("frequency", sa.String(10), nullable=False),
    sa.Column("live_at", UTCDateTime, nullable=False),
    sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id", ondelete="SET NULL")),
    sa.UniqueConstraint("subscriber_id", "item_id"),
)
sa.Index("pending_unassigned", pending.c.message_id, pending.c.frequency)

# Addresses erased after a bounce or a complaint, as a hash only: never mailed again.
suppressed = sa.Table(
    "suppressed",
    metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("reason", sa.String(20), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# Who may send: one process at a time holds the lease and renews it.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)


# Following topics from the fediverse (ActivityPub) ---------------------------------------

# Private keys the service signs with, made at first start, shared by every machine using
# the database (a key in one machine's state folder would not match what another serves).
keys = sa.Table(
    "keys",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("private_pem", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# A remote actor following one of ours (a topic's handle, or the site's).
followers = sa.Table(
    "followers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("actor", sa.String(100), nullable=False),  # our handle it follows
    sa.Column("follower", sa.String(500), nullable=False),  # the remote actor's id (a URL)
    sa.Column("inbox", sa.String(500), nullable=False),
    sa.Column("shared_inbox", sa.String(500)),
    sa.Column("host", sa.String(255), nullable=False),  # the remote server
    sa.Column("follow_id", sa.String(500), nullable=False),  # its Follow, which Undo names
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("actor", "follower"),
)
sa.Index("followers_by_follower", followers.c.follower)

# What followers were last told of each item: a change makes an Update, a withdrawal a Delete.
posts = sa.Table(
    "posts",
    metadata,
    sa.Column("item_id", sa.String(120), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),  # of the Note as last sent
    sa.Column("author", sa.String(100), nullable=False),  # our handle its Note is by
    sa.Column("audience", sa.Text, nullable=False),  # our handles whose followers got it (JSON)
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("told_at", UTCDateTime, nullable=False),
)

# Activities to deliver, each body exactly as it is signed and sent.
activities = sa.Table(
    "activities",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uri", sa.String(500), nullable=False, unique=True),
    sa.Column("actor", sa.String(100), nullable=False),  # our handle that signs it
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# One activity to one inbox (a server's shared inbox where it has one): never lost, retried.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "activity_id",
        sa.Integer,
        sa.ForeignKey("activities.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("inbox", sa.String(500), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("delivered_at", UTCDateTime),
    sa.Column("failed_at", UTCDateTime),  # given up: a permanent refusal, or kept too long
    sa.Column("last_error", sa.String(300)),
    sa.Column("claimed_by", sa.String(64)),
    sa.Column("claimed_until", UTCDateTime),
    sa.UniqueConstraint("activity_id", "inbox"),
)
sa.Index("deliveries_due", deliveries.c.delivered_at, deliveries.c.failed_at, deliveries.c.due_at)


# Reach (people/reach.py): counts per feed and day, never an address ----------------------

# What was counted: `path` a served path (or a feed's path without its extension, for
# counts of channels: email, fediverse), `measure` what (requests, ok, not_modified, bytes,
# bots, pollers, subscribers, component, fragment, iframe, email, followers), `detail` of
# whom (a reader's name, a poller family, a partner's origin; "" for none).
reach_daily = sa.Table(
    "reach_daily",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("path", sa.String(300), primary_key=True),
    sa.Column("measure", sa.String(20), primary_key=True),
    sa.Column("detail", sa.String(200), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

# Today's pollers, one row per (feed, poller) as a salted hash: counted into `reach_daily`
# and deleted once the day is over (people/reach.close_days).
reach_pollers = sa.Table(
    "reach_pollers",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("path", sa.String(300), primary_key=True),
    sa.Column("hash", sa.String(32), primary_key=True),
    sa.Column("family", sa.String(40), nullable=False),
)

# Operators signed in to /stats/: a hash of the session's token, and when it ends.
admin_sessions = sa.Table(
    "admin_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)


# Sign-ins to /stats/ in the last 15 minutes, for limits every worker and machine shares: a
# keyed hash of the client's address (never the address), whether the password was wrong.
sign_in_attempts = sa.Table(
    "sign_in_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False, index=True),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("failed", sa.Boolean, nullable=False),
)


def dialect_insert(connection: Connection, table: sa.Table) -> Any:
    """The dialect's INSERT (for ON CONFLICT DO NOTHING)."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        return insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def insert_ignoring(connection: Connection, table: sa.Table, rows: list[dict[str, object]]) -> int:
    """Insert `rows`, skipping those a unique key already holds; for one row, whether it was
    new."""
    if not rows:
        return 0
    statement = dialect_insert(connection, table).on_conflict_do_nothing()
    if len(rows) == 1:  # RETURNING names only a row inserted: a count every driver agrees on
        key = next(iter(table.primary_key.columns))
        return len(connection.execute(statement.returning(key), rows[0]).all())
    connection.execute(statement, rows)
    return len(rows)  # at most: the caller of many does not need the count


def lease(engine: Engine, name: str, holder: str, now: datetime, seconds: float) -> bool:
    """Take or renew the lease `name` (one process at a time does what it names: sending
    email, delivering to the fediverse) for `seconds`; whether `holder` holds it."""
    until = now + timedelta(seconds=seconds)
    with engine.begin() as connection:
        taken = connection.execute(
            sa.update(leases)
            .where(
                leases.c.name == name,
                sa.or_(leases.c.holder == holder, leases.c.expires_at < now),
            )
            .values(holder=holder, expires_at=until)
        ).rowcount
        if taken:
            return True
        return bool(
            insert_ignoring(
                connection, leases, [{"name": name, "holder": holder, "expires_at": until}]
            )
        )


def database_url(url: str | None, state_dir: Path | None) -> str:
    """The SQLAlchemy URL: `url` as given (postgresql:// is driven by psycopg 3), or the
    SQLite file in the state folder. ValueError when there is neither."""
    if url:
        if url.startswith(("postgresql://", "postgres://")):
            return "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    if state_dir is None:
        raise ValueError(
            "email updates need a database: set SYNDICATE_STATE_DIR (SQLite there) or "
            "SYNDICATE_DATABASE_URL (PostgreSQL)"
        )
    return f"sqlite:///{(state_dir / SQLITE_FILE).resolve()}"


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 10})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


MIGRATION_LOCK = 72_727_272  # PostgreSQL's advisory lock for migrations (any number of ours)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (the newest by default), from empty or any version.
    One process at a time: the workers of a pool, or machines starting together, would
    otherwise create the same tables side by side and fail. PostgreSQL holds an advisory
    lock for the transaction; SQLite, a lock file beside the database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with contextlib.ExitStack() as held:
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            lock = held.enter_context(Path(f"{engine.url.database}.migrate-lock").open("a+b"))
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            config.attributes["connection"] = connection
            command.upgrade(config, revision)


def open_database(url: str | None, state_dir: Path | None) -> Engine:
    """The engine, its schema migrated to the newest version."""
    if url is None and state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(database_url(url, state_dir))
    try:
        migrate(engine)
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        engine.dispose()
        where = "SYNDICATE_DATABASE_URL" if url else "SQLite in SYNDICATE_STATE_DIR"
        raise DatabaseUnavailable(f"{_reason(error)} ({where})") from error
    return engine


def _reason(error: Exception) -> str:
    original = getattr(error, "orig", None) or error
    text = str(original).splitlines()[0] if str(original) else type(original).__name__
    return f"the database cannot be used: {type(original).__name__}: {text}"[:300]


class Database:
    """The engine and the threads that use it, for the event loop: `run` calls one of the
    people wing's functions with the engine, off the loop; `close` waits for calls in flight
    (a request or a send cancelled at shutdown still finishes its transaction) and closes
    every connection."""

    def __init__(self, engine: Engine, threads: int | None = None) -> None:
        self.engine = engine
        # SQLite takes one writer at a time, and a second waits in its busy handler, which
        # sleeps by milliseconds: one thread queues them instead. PostgreSQL takes writers
        # side by side.
        if threads is None:
            threads = 1 if engine.dialect.name == "sqlite" else 8
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="database")

    async def run(self, function: Any, *args: Any) -> Any:
        """`function(engine, *args)` off the loop. DatabaseUnavailable when the database
        cannot be reached or cannot write (down, disk full, locked past the busy timeout)."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self.executor, functools.partial(function, self.engine, *args)
            )
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as error:
            raise DatabaseUnavailable(_reason(error)) from error

    async def close(self) -> None:
        await asyncio.to_thread(self.executor.shutdown, wait=True)
        self.engine.dispose()
