"""Reloading on change: a watchfiles watcher on the content folder that follows the folder.

It only calls `ContentStore.reload`, which keeps the last good snapshot on invalid content.
Deploy tools publish by replacing the folder (a new folder moved into place, a symlink
swapped atomically, the folder deleted and created again), which leaves an inotify watch
on the old folder, blind. So a second loop checks every `IDENTITY_POLL_SECONDS` which real
folder the configured path names (its resolved path, device and inode): when that changes,
the content is reloaded and the watch starts again on the new folder. A missing folder is a
background failure ("watcher" in /healthz) until it comes back. The watch runs under
`supervise`, so an error anywhere in it is recorded and the watch restarted.
(SIGHUP is wired in `service.py`, next to the other signals.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import watchfiles

from syndicate.web.content import ContentStore
from syndicate.web.supervise import Health, wait_or_stop

DEBOUNCE_MS = 200  # a burst of saves (editor temp file, rename) is one reload
IDENTITY_POLL_SECONDS = 0.25
STARTED_AFTER_MS = 250  # watchfiles yields (nothing) after this long without changes
HUNG_AFTER_SECONDS = 1.0  # a watch silent this long (no batch, not even empty) is restarted
SETTLE_SECONDS = 5.0
NAMED_FILES = 3  # the reload log line names this many changed files, then "and N more"
TASK = "watcher"
log = logging.getLogger("syndicate.reload")


@dataclass(frozen=True)
class FolderIdentity:
    real_path: str
    device: int
    inode: int


GONE = FolderIdentity("", -1, -1)  # the folder loaded last went missing since


def identity(folder: Path) -> FolderIdentity | None:
    """Which folder `folder` names now (through symlinks); None if it is not a folder."""
    real = Path(os.path.realpath(folder))
    try:
        found = real.stat()
    except OSError:
        return None
    if not real.is_dir():
        return None
    return FolderIdentity(str(real), found.st_dev, found.st_ino)


class _EitherSet:
    """Stops the watch when the service stops or the folder is replaced (watchfiles polls
    `is_set()` from its thread)."""

    def __init__(self, *events: asyncio.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(event.is_set() for event in self.events)

    def set(self) -> None:  # watchfiles may set the event when it is interrupted
        pass  # the watch is ending anyway; the events belong to the event loop


def describe_changes(paths: set[str], folder: FolderIdentity) -> str:
    """`3 files changed: items/a.yaml, items/b.yaml, site.yaml and 2 more`."""
    names = sorted(os.path.relpath(path, folder.real_path) for path in paths)
    shown = ", ".join(names[:NAMED_FILES])
    more = f" and {len(names) - NAMED_FILES} more" if len(names) > NAMED_FILES else ""
    return f"{len(names)} file{'s' if len(names) != 1 else ''} changed: {shown}{more}"


async def watch(store: ContentStore, folder: Path, stop: asyncio.Event, health: Health) -> None:
    """Reload `store` whenever files under `folder` change, or `folder` itself is replaced,
    until `stop` is set. Returns only when stopping; raises on unexpected errors (for
    `supervise` to record and restart)."""
    # Each (re)start reloads once its watch runs: edits made while no watch ran (before a
    # restart by `supervise`) are never lost. An unchanged reload costs one build.
    loaded: FolderIdentity | None = None
    while not stop.is_set():
        current = identity(folder)
        if current is None:
            health.fail(
                TASK, f"the content folder {folder} is missing; serving the last good content"
            )
            # A folder created again can have the inode of the one deleted (file systems
            # reuse them): it is a replacement all the same, not the folder last loaded.
            loaded = GONE if loaded is not None else None
            await wait_or_stop(stop, IDENTITY_POLL_SECONDS)
            continue
        # A replaced folder is reloaded only once the watch on it is running (its first
        # yield, at the latest after `rust_timeout`): an edit made while it was starting is
        # then either in that reload or seen by the watch, never lost between the two.
        pending = None
        if current != loaded:
            pending = "the watch started" if loaded is None else f"{folder} was replaced"
        health.ok(TASK)
        replaced = asyncio.Event()
        follower = asyncio.create_task(_notice_replacement(folder, current, replaced, stop))
        if loaded is not None and pending:
            await _settled(current.real_path, stop)
        batches: asyncio.Queue[set[str] | BaseException | None] = asyncio.Queue()
        stop_watch = _EitherSet(stop, replaced)
        threading.Thread(
            target=_watch_thread,
            args=(current.real_path, stop_watch, asyncio.get_running_loop(), batches),
            name="syndicate-watch",
            daemon=True,  # a hung watch (see below) must not keep the process alive
        ).start()
        try:
            while True:
                try:
                    changes = await asyncio.wait_for(batches.get(), HUNG_AFTER_SECONDS)
                except TimeoutError:
                    # A healthy watch reports at least every STARTED_AFTER_MS. One that went
                    # quiet is abandoned (its thread told to stop) and `supervise` starts anew.
                    raise RuntimeError(
                        f"the file watch on {current.real_path} stopped responding"
                    ) from None
                if changes is None:
                    break
                if isinstance(changes, FileNotFoundError):  # the folder changed as it started
                    log.debug("watch of %s ended: %s", current.real_path, changes)
                    break
                if isinstance(changes, BaseException):
                    raise changes
                if changes:
                    await store.reload(describe_changes(changes, current))
                elif pending:
                    await store.reload(pending)
                pending, loaded = None, current
        finally:
            replaced.set()  # also ends the thread when this coroutine is cancelled
            follower.cancel()


def _watch_thread(
    path: str,
    stop: _EitherSet,
    loop: asyncio.AbstractEventLoop,
    batches: asyncio.Queue[set[str] | BaseException | None],
) -> None:
    """watchfiles' blocking watch, in its own thread: each batch of changed paths (an empty
    one when nothing changed for `STARTED_AFTER_MS`) goes to `batches`, then None at the end
    (or the exception that ended it)."""

    def post(batch: set[str] | BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is listening
            loop.call_soon_threadsafe(batches.put_nowait, batch)

    try:
        for changes in watchfiles.watch(
            path,
            debounce=DEBOUNCE_MS,
            step=50,
            rust_timeout=STARTED_AFTER_MS,
            yield_on_timeout=True,
            stop_event=stop,
            recursive=True,
            raise_interrupt=False,
        ):
            post({changed for _, changed in changes})
    except Exception as error:
        post(error)
    else:
        post(None)


def _fingerprint(path: str) -> tuple[int, int]:
    """How many entries the folder holds and the newest change among them."""
    count, newest = 0, 0
    for root, folders, files in os.walk(path):
        for name in folders + files:
            with contextlib.suppress(OSError):
                newest = max(newest, (Path(root) / name).stat().st_mtime_ns)
            count += 1
    return count, newest


async def _settled(path: str, stop: asyncio.Event) -> None:
    """Wait (up to SETTLE_SECONDS) until a folder that just appeared stops changing: a watch
    started while a deploy is still copying it in was seen to miss later edits."""
    deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
    before = await asyncio.to_thread(_fingerprint, path)
    while asyncio.get_running_loop().time() < deadline and not stop.is_set():
        await wait_or_stop(stop, IDENTITY_POLL_SECONDS)
        after = await asyncio.to_thread(_fingerprint, path)
        if after == before:
            return
        before = after


async def _notice_replacement(
    folder: Path, watched: FolderIdentity, replaced: asyncio.Event, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        if identity(folder) != watched:
            replaced.set()
            return
        await wait_or_stop(stop, IDENTITY_POLL_SECONDS)
