"""Never twice, never lost, on the fediverse: the service killed (SIGKILL) in the middle of
delivering an item to 1,000 followers' inboxes (20 fake servers in a process of their own),
then started again, gets the item to every inbox, and to none twice but the deliveries that
had reached their inbox unrecorded when it died (at most `CONCURRENCY`: a delivery keeps its
place until its 2xx is written). And in a pool of three workers, exactly one delivers."""

from __future__ import annotations

import shutil
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from syndicate.people.database import create_engine, followers
from syndicate.web.deliverer import CONCURRENCY
from tests.conftest import CONTENT
from tests.inbox_farm import counts, inbox_farm
from tests.live import free_port, live_pool, live_server
from tests.test_fediverse_follow import NEW_ITEM

SERVERS, PER_SERVER = 20, 50


def env(state: Path) -> dict[str, str]:
    return {"SYNDICATE_FEDIVERSE": "true", "SYNDICATE_FEDERATION_ALLOW_LOCAL": "true",
            "SYNDICATE_STATE_DIR": str(state), "SYNDICATE_ACCESS_LOG": "false"}  # fmt: skip


def wait_until(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def telling(database: Path) -> bool:
    """Whether the deliverer's first round took note of what is live."""
    if not database.exists():
        return False
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.text("select 1 from settings where name = 'federating_since'")
            ).first() is not None  # fmt: skip
    except sa.exc.OperationalError:  # not migrated yet
        return False
    finally:
        engine.dispose()


def add_followers(database: Path, ports: list[int]) -> list[str]:
    """PER_SERVER followers of @harm-reduction on each port's server; their inboxes."""
    engine = create_engine(f"sqlite:///{database}")
    now = datetime.now(UTC)
    rows = [
        {"actor": "harm-reduction", "follower": f"http://127.0.0.1:{port}/users/{n}",
         "inbox": f"http://127.0.0.1:{port}/inbox/{n}", "shared_inbox": None,
         "host": f"127.0.0.1:{port}", "follow_id": f"http://127.0.0.1:{port}/follows/{n}",
         "created_at": now}
        for port in ports for n in range(PER_SERVER)
    ]  # fmt: skip
    with engine.begin() as connection:
        connection.execute(sa.insert(followers), rows)
    engine.dispose()
    return [f"{row['inbox']}".removeprefix("http://127.0.0.1:") for row in rows]


def test_sigkill_mid_delivery_loses_nothing_and_repeats_at_most_what_was_in_flight(
    tmp_path: Path,
):
    folder, state = tmp_path / "content", tmp_path / "state"
    shutil.copytree(CONTENT, folder)
    database = state / "syndicate.sqlite3"
    port = free_port()
    with inbox_farm(SERVERS, delay=0.02) as (ports, farm):
        with live_server(folder, tmp_path / "first.log", port=port, **env(state)) as first:
            wait_until(lambda: telling(database), 30, "the deliverer never started")
            inboxes = add_followers(database, ports)
            (folder / "items" / "naloxone.yaml").write_text(NEW_ITEM)
            first.process.send_signal(signal.SIGHUP)
            wait_until(lambda: sum(counts(farm).values()) >= 300, 60, "delivery never started")
            first.process.kill()  # SIGKILL: no cleanup of any kind
            first.process.wait(timeout=10)
        before = sum(counts(farm).values())
        assert before < len(inboxes), "killed too late: the test proves nothing"
        with live_server(folder, tmp_path / "second.log", port=port, **env(state)):
            wait_until(lambda: len(counts(farm)) >= len(inboxes), 90, "an inbox never got it")
            time.sleep(1.0)  # anything delivered twice would arrive by now
        got = counts(farm)
    assert set(got) == {f"{p}" for p in inboxes}
    twice = [inbox for inbox, n in got.items() if n > 1]
    assert len(twice) <= CONCURRENCY, (len(twice), twice[:5])
    assert max(got.values()) <= 2


def test_of_three_workers_exactly_one_delivers(tmp_path: Path):
    folder, state = tmp_path / "content", tmp_path / "state"
    shutil.copytree(CONTENT, folder)
    database = state / "syndicate.sqlite3"
    with inbox_farm(4) as (ports, farm), live_pool(folder, tmp_path / "pool.log", 3,
                                                **env(state)) as pool:  # fmt: skip
        wait_until(lambda: telling(database), 30, "the deliverer never started")
        inboxes = add_followers(database, ports)
        (folder / "items" / "naloxone.yaml").write_text(NEW_ITEM)
        pool.process.send_signal(signal.SIGHUP)
        wait_until(lambda: len(counts(farm)) >= len(inboxes), 60, "an inbox never got it")
        time.sleep(1.5)  # the other workers' rounds, had they delivered too
        got = counts(farm)
    assert set(got.values()) == {1}, [k for k, v in got.items() if v > 1][:5]
