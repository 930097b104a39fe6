"""Reloading on change: a watchfiles watcher on the content folder, and SIGHUP.

Both only call `ContentStore.reload`, which keeps the last good snapshot on invalid content.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from aiohttp import web
from watchfiles import awatch

from syndicate.web.keys import SETTINGS, STORE

log = logging.getLogger("syndicate.reload")
DEBOUNCE_MS = 200  # a burst of saves (editor temp file, rename) is one reload


async def _watch(app: web.Application, stop: asyncio.Event) -> None:
    store = app[STORE]
    folder = app[SETTINGS].config
    while not stop.is_set():
        try:
            async for changes in awatch(
                folder, debounce=DEBOUNCE_MS, step=50, stop_event=stop, recursive=True
            ):
                names = sorted({path for _, path in changes})
                await store.reload(f"{len(names)} file(s) changed: {', '.join(names[:3])}")
        except (FileNotFoundError, RuntimeError) as error:
            # The folder itself was removed or replaced: keep serving, look again shortly.
            log.warning("cannot watch %s (%s); retrying in 1s", folder, error)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1)


async def watcher(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: watch the content folder while the app runs."""
    if not app[SETTINGS].watch:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(_watch(app, stop))
    yield
    stop.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)


async def sighup(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: reload on SIGHUP (where the platform and thread allow signal handlers)."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[bool]] = set()

    def on_hup() -> None:
        task = asyncio.create_task(app[STORE].reload("SIGHUP"))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    try:
        loop.add_signal_handler(signal.SIGHUP, on_hup)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):
        installed = False
    yield
    if installed:
        loop.remove_signal_handler(signal.SIGHUP)
