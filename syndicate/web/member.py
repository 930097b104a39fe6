"""What a worker of a pool (`pool.py`) knows of it: its place, and the status folder the
workers share.

Each worker writes `worker-{i}.json` (pid, content version, health, counters) whenever it
changes and at least every `HEARTBEAT_SECONDS` (`board.py`); any worker reads the others'
to answer `/healthz` and `/metrics` for the whole pool, and the pool reads them to replace a
worker that stopped answering. The service imports this module, never `pool.py`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syndicate.atomic import replace_file

HEARTBEAT_SECONDS = 1.0
STALE_SECONDS = 5.0  # no heartbeat for this long: the worker is not answering
POOL_FILE = "pool.json"
LEAD_WORKER = 0  # the one worker that pings WebSub hubs and writes the export; the others
# show its WebSub figures


@dataclass(frozen=True)
class Member:
    """What a worker knows of its pool: its index, the pool's size, the status folder and
    the pool's pid (a worker whose pool has gone stops)."""

    index: int
    count: int
    folder: Path
    parent: int

    def status_path(self, index: int | None = None) -> Path:
        return status_path(self.folder, self.index if index is None else index)

    def write_status(self, status: dict[str, Any]) -> None:
        """Replace this worker's status file atomically."""
        replace_file(self.status_path(), json.dumps(status).encode())

    def restarts(self) -> dict[str, int]:
        """How often the pool restarted each worker that died (by index)."""
        try:
            return dict(json.loads((self.folder / POOL_FILE).read_bytes())["restarts"])
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def statuses(self) -> dict[int, dict[str, Any] | None]:
        """Every worker's last status by index (None: none written yet, or unreadable)."""
        found: dict[int, dict[str, Any] | None] = {}
        for index in range(self.count):
            try:
                status = json.loads(self.status_path(index).read_bytes())
            except (OSError, ValueError, RecursionError):
                status = None
            found[index] = status if isinstance(status, dict) else None
        return found


def status_path(folder: Path, index: int) -> Path:
    """Where worker `index` of the pool with status folder `folder` writes its status."""
    return folder / f"worker-{index}.json"


def running(status: dict[str, Any] | None, now: float) -> bool:
    """Whether a worker's status says it is alive and answering."""
    if status is None or now - float(status.get("heartbeat", 0)) > STALE_SECONDS:
        return False
    try:
        os.kill(int(status["pid"]), 0)
    except (OSError, KeyError, ValueError):
        return False
    return True
