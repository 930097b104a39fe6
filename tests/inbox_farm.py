"""Many fake fediverse servers in one process of their own (so that killing the service
under test leaves them standing): each of `servers` ports on 127.0.0.1 (chosen by the system
as they are bound: no race for free ports) is a server whose
inboxes (`/inbox/{n}`) answer 202 after `delay` seconds and count what they receive; GET
`/_counts` on any of them returns {"port/inbox": count} for all. Bounded: it stops when the
test ends (terminate) and never sends anything."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import multiprocessing.connection
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web


def _serve(servers: int, delay: float, bound: multiprocessing.connection.Connection) -> None:
    counts: Counter[str] = Counter()

    async def inbox(request: web.Request) -> web.Response:
        await request.read()
        if delay:
            await asyncio.sleep(delay)
        counts[f"{request.url.port}{request.path}"] += 1
        return web.Response(status=202)

    async def report(request: web.Request) -> web.Response:
        return web.json_response(dict(counts))

    async def main() -> None:
        application = web.Application()
        application.router.add_post("/inbox/{n}", inbox)
        application.router.add_get("/_counts", report)
        runner = web.AppRunner(application, access_log=None)
        await runner.setup()
        for _ in range(servers):
            await web.TCPSite(runner, "127.0.0.1", 0, backlog=512).start()
        bound.send([address[1] for address in runner.addresses])
        await asyncio.Event().wait()

    asyncio.run(main())


@contextmanager
def inbox_farm(servers: int, delay: float = 0.0) -> Iterator[tuple[list[int], str]]:
    """Run the farm; yields its servers' ports and the URL of its counts."""
    theirs, ours = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve, args=(servers, delay, theirs), daemon=True)
    process.start()
    try:
        assert ours.poll(30), "the inbox farm did not start"
        ports: list[int] = ours.recv()
        yield ports, f"http://127.0.0.1:{ports[0]}/_counts"
    finally:
        process.terminate()
        process.join(10)


def counts(url: str) -> Counter[str]:
    deadline = time.monotonic() + 5
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return Counter(json.load(answer))
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
