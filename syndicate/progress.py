"""Progress of a long `syndicate build` or `check`, on a terminal only.

The core reports what it is doing through a plain callable, `report(stage, done, total)`,
and knows nothing of terminals. `TerminalProgress` is that callable for the command line:
nothing is shown for the first `DELAY_SECONDS` (small content stays quiet), then one line
on stderr, rewritten in place at most every `INTERVAL_SECONDS`, and erased at the end.
When stderr is not a terminal (CI, logs, pipes) it writes nothing at all.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

Report = Callable[[str, int, int], None]
DELAY_SECONDS = 1.5
INTERVAL_SECONDS = 0.2


def quiet(stage: str, done: int, total: int) -> None:
    """A `Report` that shows nothing."""


class TerminalProgress:
    def __init__(
        self,
        stream: TextIO | None = None,
        delay: float = DELAY_SECONDS,
        interval: float = INTERVAL_SECONDS,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.active = self.stream.isatty()
        self.started = time.monotonic()
        self.delay = delay
        self.interval = interval
        self.shown_at = 0.0
        self.width = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.active:
            return
        now = time.monotonic()
        if now - self.started < self.delay or now - self.shown_at < self.interval:
            return
        self.shown_at = now
        percent = f" {100 * done // total}%" if total else ""
        line = f"{stage}: {done:,}/{total:,}{percent}"
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()
        self.width = len(line)

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
