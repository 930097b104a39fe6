"""The state folder (SYNDICATE_STATE_DIR): what the service must remember across restarts.

`last-modified.json`: what each path was served with (`lastmodified.py`), so that a change
made while the service was down still moves Last-Modified forward; and `websub.json`, what
each WebSub hub was last told (`websub.py`, which reads and writes it itself). The
content never depends on it: deleting the folder costs only that guarantee for the next
start. The file is replaced atomically (written aside, then renamed), and a file that
cannot be read is reported and ignored, never a reason not to start.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from syndicate.lastmodified import History, dump_history, load_history

HISTORY_FILE = "last-modified.json"
log = logging.getLogger("syndicate.state")


class StateFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.history_path = folder / HISTORY_FILE

    def read_history(self) -> History:
        """The history saved last; empty (with a warning) when there is none or it is bad."""
        try:
            return load_history(self.history_path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning(
                "ignoring %s (%s): Last-Modified starts again from the content",
                self.history_path,
                error,
            )
            return {}

    def write_history(self, history: History) -> None:
        """Replace the saved history atomically; OSError if the folder is not writable."""
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".last-modified-", dir=self.folder)
        try:
            with os.fdopen(handle, "wb") as output:
                output.write(dump_history(history))
                output.flush()
                os.fsync(output.fileno())
            Path(temporary).replace(self.history_path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
