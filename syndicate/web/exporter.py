"""`serve --export DIR`: a static export kept in step with what the service serves, so
nginx can serve every representation as a file (docs/deployment.md, "nginx over a live
export") while the service keeps reloading, scheduling and pinging hubs.

After every swap of the snapshot (an edit, SIGHUP, a scheduled publication, an event
ending) the export is synced off the event loop (`export.sync_export`): only the files
whose ETag or Last-Modified changed are written, renamed into place, and those of
representations gone are deleted. It runs under `supervise` as the "export" task: a sync
that fails (a full disk, a folder not writable) is logged once, shown in /healthz and
/metrics, and tried again with backoff, and the next swap brings the export up to date.
When `_nginx.conf` changes (new paths: a new topic, new archive pages), nginx needs a
reload to send their headers; that is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from syndicate.export import NGINX_FILE, sync_export
from syndicate.settings import Settings
from syndicate.web.clock import first_set
from syndicate.web.content import ContentStore
from syndicate.web.metrics import Metrics
from syndicate.web.supervise import Health

TASK = "export"
log = logging.getLogger("syndicate.export")


class Exporter:
    def __init__(
        self,
        store: ContentStore,
        settings: Settings,
        folder: Path,
        metrics: Metrics,
        health: Health,
    ) -> None:
        self.store = store
        self.settings = settings
        self.folder = folder
        self.metrics = metrics
        self.health = health
        self.version: str | None = None  # the snapshot version the export holds

    async def run(self, stop: asyncio.Event) -> None:
        """Sync at start and after every swap, until `stop` is set."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            self.store.export_due.clear()
            snapshot = self.store.snapshot
            if snapshot.version != self.version:
                first, started = self.version is None, time.perf_counter()
                synced = await loop.run_in_executor(
                    None, sync_export, snapshot, self.settings, self.folder,
                    self.settings.export_listen,
                )  # fmt: skip
                self.version = snapshot.version
                self.metrics.export_files_written += synced.written
                self.metrics.export_version_at = time.time()
                self.health.ok(TASK)
                log.info(
                    "export %s: version %s, %d written, %d deleted in %.3fs",
                    self.folder, snapshot.version, synced.written, synced.removed,
                    time.perf_counter() - started,
                )  # fmt: skip
                if synced.config_changed and not first:
                    log.info(
                        "%s changed: reload nginx if it serves the export (nginx -s reload)",
                        self.folder / NGINX_FILE,
                    )
                continue
            await first_set((stop, self.store.export_due), None)
