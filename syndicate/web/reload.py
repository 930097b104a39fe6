"""Reloading on change: a watchfiles watcher on the content folder.

It only calls `ContentStore.reload`, which keeps the last good snapshot on invalid content.
(SIGHUP is wired in `service.py`, next to the other signals.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from watchfiles import awatch

from syndicate.web.content import ContentStore

log = logging.getLogger("syndicate.reload")
DEBOUNCE_MS = 200  # a burst of saves (editor temp file, rename) is one reload


async def watch(store: ContentStore, folder: Path, stop: asyncio.Event) -> None:
    """Reload `store` whenever files under `folder` change, until `stop` is set."""
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
