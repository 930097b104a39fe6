"""The fediverse's delivery throughput: one new item to N followers on S servers (fake inboxes
on 127.0.0.1, in a process of their own, each server's followers sharing its inbox as
Mastodon's do), the time from the item going live until every server has it, against a bare
aiohttp client loop POSTing the same signed bodies to the same inboxes, as many at once
(16, 2 to a server). Prints JSON: bare_s, ours_s, ratio (bare / ours; target >= 0.8), for
inboxes answering at once and after `--delay` ms (a remote server's usual answer time).

    python bench/fediverse_delivery.py [--followers 10000] [--servers 500] [--delay 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from tests.inbox_farm import counts, inbox_farm  # noqa: E402

ITEM = """item:
  id: bench-item
  type: voices
  title: A new voice for the benchmark
  summary: One item, every follower.
  url: https://www.opensocietyfoundations.org/voices/bench-item
  published: 2026-01-01T09:00
  topics: [harm-reduction]
"""


def add_followers(engine, ports: list[int], followers: int) -> None:  # type: ignore[no-untyped-def]
    from syndicate.people.database import followers as table

    now = datetime.now(UTC)
    rows = []
    for n in range(followers):
        port = ports[n % len(ports)]
        server = f"http://127.0.0.1:{port}"
        rows.append({"actor": "harm-reduction", "follower": f"{server}/users/{n}",
                     "inbox": f"{server}/inbox/user{n}", "shared_inbox": f"{server}/inbox/shared",
                     "host": f"127.0.0.1:{port}", "follow_id": f"{server}/follows/{n}",
                     "created_at": now})  # fmt: skip
    with engine.begin() as connection:
        connection.execute(sa.insert(table), rows)


async def ours(tmp: Path, ports: list[int], followers: int, farm: str):  # type: ignore[no-untyped-def]
    from syndicate.settings import Settings
    from syndicate.web import Service

    folder = tmp / "content"
    shutil.copytree(ROOT / "tests" / "fixtures" / "content", folder)
    settings = Settings(
        config=folder, state_dir=tmp / "state", public_url="https://feeds.example.org",
        watch=False, access_log=False, fediverse=True, federation_allow_local=True,
    )  # fmt: skip
    service = Service(settings)
    await service.start()
    deliverer = service.deliverer
    assert deliverer is not None and service.database is not None
    await deliverer.round()  # takes note of what is live
    add_followers(service.database.engine, ports, followers)
    sent: list[tuple[str, bytes, dict[str, str]]] = []  # what ours POSTed, for the reference
    post = deliverer.client.post

    def keeping(url, data, headers, **options):  # type: ignore[no-untyped-def]
        sent.append((url, data, headers))
        return post(url, data=data, headers=headers, **options)

    deliverer.client.post = keeping  # type: ignore[method-assign, assignment]
    start_count = sum(counts(farm).values())
    (folder / "items" / "bench.yaml").write_text(ITEM)
    assert await service.store.reload("bench")  # the item is live: its deliveries are due
    started = time.perf_counter()
    while sum(counts(farm).values()) < start_count + len(ports):
        await deliverer.round()
    elapsed = time.perf_counter() - started
    deliverer.client.post = post  # type: ignore[method-assign]
    await service.stop()
    return elapsed, sent


async def bare(sent: list[tuple[str, bytes, dict[str, str]]], farm: str) -> float:
    """The reference: the same signed POSTs, 16 at once and 2 to a server, nothing else."""
    start_count = sum(counts(farm).values())
    everyone = asyncio.Semaphore(16)
    hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(2))
    async with aiohttp.ClientSession() as client:
        started = time.perf_counter()

        async def one(url: str, data: bytes, headers: dict[str, str]) -> None:
            async with (
                hosts[url.split("/")[2]],
                everyone,
                client.post(url, data=data, headers=headers) as response,
            ):
                await response.read()

        await asyncio.gather(*(one(*request) for request in sent))
        elapsed = time.perf_counter() - started
    assert sum(counts(farm).values()) >= start_count + len(sent)
    return elapsed


async def measure(followers: int, servers: int, delay: float) -> dict[str, float]:
    with inbox_farm(servers, delay=delay) as (ports, farm), tempfile.TemporaryDirectory() as name:
        ours_s, sent = await ours(Path(name), ports, followers, farm)
        assert len(sent) == servers, (len(sent), servers)  # one delivery per shared inbox
        bare_s = await bare(sent, farm)
    return {"bare_s": bare_s, "ours_s": ours_s, "ratio": bare_s / ours_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--servers", type=int, default=500)
    parser.add_argument("--delay", type=float, default=50.0, help="ms an inbox takes to answer")
    args = parser.parse_args()
    result: dict[str, object] = {"followers": args.followers, "servers": args.servers}
    for delay in (0.0, args.delay):
        result[f"answer_{delay:g}ms"] = asyncio.run(
            measure(args.followers, args.servers, delay / 1000)
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
