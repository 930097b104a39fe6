"""Many fake fediverse servers in one process of their own (so that killing the service
under test leaves them standing): each port of `ports` on 127.0.0.1 is a server whose
inboxes (`/inbox/{n}`) answer 202 after `delay` seconds and count what they receive; GET
`/_counts` on any of them returns {"port/inbox": count} for all. Bounded: it stops when the
test ends (terminate) and never sends anything."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web


def _serve(ports: list[int], delay: float, ready: multiprocessing.synchronize.Event) -> None:
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
        for port in ports:
            await web.TCPSite(runner, "127.0.0.1", port, backlog=512).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


@contextmanager
def inbox_farm(ports: list[int], delay: float = 0.0) -> Iterator[str]:
    """Run the farm; yields the URL of its counts."""
    ready = multiprocessing.Event()
    process = multiprocessing.Process(target=_serve, args=(ports, delay, ready), daemon=True)
    process.start()
    try:
        assert ready.wait(20), "the inbox farm did not start"
        yield f"http://127.0.0.1:{ports[0]}/_counts"
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
