"""Never twice, never lost: the service killed (SIGKILL) in the middle of a 1,000-recipient
send, then started again, gets the item to every recipient, and to none twice but for the
messages the relay had taken when the process died and the process had not recorded (at most
`UNRECORDED` + 1 per relay session, `SYNDICATE_MAIL_CONNECTIONS`: the one in flight, and the
250s not written yet). And in a pool of three workers, every worker takes sign-ups
while exactly one sends."""

from __future__ import annotations

import json
import secrets
import shutil
import signal
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from syndicate.people.database import create_engine, subscribers, subscriptions
from syndicate.web.mailer import UNRECORDED
from tests.conftest import CONTENT
from tests.live import free_port, live_pool, live_server
from tests.smtp import link_in, smtp_sink
from tests.test_email import NEW_ITEM

RECIPIENTS = 1000
CONNECTIONS = 4


def email_env(sink_url: str, state: Path) -> dict[str, str]:
    return {
        "SYNDICATE_SMTP_URL": sink_url,
        "SYNDICATE_MAIL_FROM": "updates@example.org",
        "SYNDICATE_STATE_DIR": str(state),
        "SYNDICATE_MAIL_BATCH": "0",
        "SYNDICATE_MAIL_RATE": "1000",
        "SYNDICATE_MAIL_CONNECTIONS": str(CONNECTIONS),
        "SYNDICATE_ACCESS_LOG": "false",
    }


def wait_until(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def announcing(database: Path) -> bool:
    """Whether the sender's first round took note of what is live (nobody is mailed it)."""
    if not database.exists():
        return False
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            found = connection.execute(
                sa.text("select 1 from settings where name = 'announcing_since'")
            ).first()
    except sa.exc.OperationalError:  # not migrated yet
        return False
    finally:
        engine.dispose()
    return found is not None


def add_subscribers(database: Path, count: int) -> list[str]:
    """`count` confirmed subscribers to everything, straight into the database."""
    engine = create_engine(f"sqlite:///{database}")
    now = datetime.now(UTC)
    addresses = [f"reader{n:04d}@example.org" for n in range(count)]
    with engine.begin() as connection:
        connection.execute(
            sa.insert(subscribers),
            [
                {
                    "address": a,
                    "created_at": now,
                    "confirmed_at": now,
                    "token_key": secrets.token_hex(16),
                }
                for a in addresses
            ],
        )
        ids = connection.execute(sa.select(subscribers.c.id)).scalars().all()
        connection.execute(
            sa.insert(subscriptions),
            [
                {
                    "subscriber_id": i,
                    "topic": "*",
                    "type": "*",
                    "frequency": "instant",
                    "created_at": now,
                    "confirmed_at": now,
                }
                for i in ids
            ],
        )
    engine.dispose()
    return addresses


def test_sigkill_mid_send_loses_nothing_and_repeats_at_most_what_the_relay_held(tmp_path: Path):
    folder, state = tmp_path / "content", tmp_path / "state"
    shutil.copytree(CONTENT, folder)
    port = free_port()
    with smtp_sink() as sink:
        sink.delay = 0.004
        env = email_env(sink.url, state)
        with live_server(folder, tmp_path / "first.log", port=port, **env) as first:
            database = state / "syndicate.sqlite3"
            wait_until(lambda: announcing(database), 30, "the sender never started")
            addresses = add_subscribers(database, RECIPIENTS)
            (folder / "items" / "naloxone.yaml").write_text(NEW_ITEM)
            first.process.send_signal(signal.SIGHUP)
            wait_until(lambda: len(sink.received) >= 300, 60, "the send never started")
            first.process.kill()  # SIGKILL: no cleanup of any kind
            first.process.wait(timeout=10)
        before = len(sink.received)
        assert before < RECIPIENTS, "killed too late: the test proves nothing"
        with live_server(folder, tmp_path / "second.log", port=port, **env):
            wait_until(
                lambda: len({to for to, _ in sink.received}) >= RECIPIENTS,
                90,
                "not every recipient got the item",
            )
            time.sleep(1.0)  # anything sent twice would arrive by now
    copies = Counter(to for to, _ in sink.received)
    assert set(copies) == set(addresses)
    twice = [to for to, n in copies.items() if n > 1]
    assert len(twice) <= (UNRECORDED + 1) * CONNECTIONS, twice
    assert max(copies.values()) <= 2
    for to in twice:  # the same message again: mail clients show it once
        ids = {m["Message-ID"] for recipient, m in sink.received if recipient == to}
        assert len(ids) == 1


def test_three_workers_take_sign_ups_and_one_sends(tmp_path: Path):
    folder, state = tmp_path / "content", tmp_path / "state"
    shutil.copytree(CONTENT, folder)
    with smtp_sink() as sink:
        env = {**email_env(sink.url, state), "SYNDICATE_WATCH": "true"}
        with live_pool(folder, tmp_path / "pool.log", 3, **env) as pool:
            addresses = [f"person{n}@example.org" for n in range(9)]
            for address in addresses:
                request = urllib.request.Request(
                    f"{pool.url}/email/subscribe",
                    method="POST",
                    data=json.dumps({"email": address}).encode(),
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    assert response.status == 202
            wait_until(lambda: len(sink.received) >= len(addresses), 60, "confirmations")
            for to, message in list(sink.received):
                token = link_in(message, "/email/confirm").split("token=", 1)[1]
                request = urllib.request.Request(
                    f"{pool.url}/email/confirm",
                    method="POST",
                    data=f"token={token}".encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    assert response.status == 200, to
            (folder / "items" / "naloxone.yaml").write_text(NEW_ITEM)
            wait_until(lambda: len(sink.received) >= 2 * len(addresses), 60, "updates")
            time.sleep(3.0)  # a second sender would have sent its copies by now
    updates = Counter(to for to, m in sink.received if not m["Subject"].startswith("Confirm"))
    assert updates == {address: 1 for address in addresses}
