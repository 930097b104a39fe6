"""The state folder (SYNDICATE_STATE_DIR): what the service must remember across restarts.

`last-modified.json`: what each path was served with (`lastmodified.py`), so that a change
made while the service was down still moves Last-Modified forward; and `websub.json`, what
each WebSub hub was last told (`websub.py`, which reads and writes it itself). The
content never depends on it: deleting the folder costs only that guarantee for the next
start. The file is replaced atomically (written aside, then renamed). It is input like the
content: a file that cannot be read, of the wrong shape, or with dates out of range or
ahead of the clock is reported and ignored (a fresh start), never a crash or a wait.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from syndicate.atomic import replace_file
from syndicate.lastmodified import History, dump_history, load_history

HISTORY_FILE = "last-modified.json"
log = logging.getLogger("syndicate.state")


class StateFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.history_path = folder / HISTORY_FILE

    def read_history(self, now: datetime) -> History:
        """The history saved last; empty (with a warning: a fresh start) when there is none
        or anything in it is wrong, dates ahead of `now` included."""
        try:
            return load_history(self.history_path.read_bytes(), now)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            log.warning(
                "ignoring %s (%s): Last-Modified starts again from the content",
                self.history_path,
                error,
            )
            return {}

    def write_history(self, history: History) -> None:
        """Replace the saved history atomically; OSError if the folder is not writable."""
        replace_file(self.history_path, dump_history(history), fsync=True)
