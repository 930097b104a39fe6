"""Files replaced whole: written under a temporary name in the same folder, then renamed
into place, so a reader (nginx, another worker, the next start) sees the old file or the
new one, never a file half written, with the mode the umask gives (not mkstemp's 0600). The
one way every file this service writes is written: the state folder, the pool's status
files, the static export."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    """The process's umask (read by setting it and setting it back, at import: before any
    thread could create a file meanwhile)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# `mkstemp` makes files 0600 whatever the umask; a file replaced here takes the mode any
# file the process creates would (0644 under the usual umask 022), so nginx's workers,
# running as www-data or nobody, can read the export.
FILE_MODE = 0o666 & ~_umask()


def replace_file(
    target: Path, data: bytes, *, fsync: bool = False, mtime: float | None = None
) -> None:
    """Make `target` hold `data`. `fsync`: on disk before the rename (what must survive a
    power cut); `mtime`: the modification time the file takes. OSError if it cannot be
    written; the temporary file is then removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        os.fchmod(handle, FILE_MODE)
        with os.fdopen(handle, "wb") as output:
            output.write(data)
            if fsync:
                output.flush()
                os.fsync(output.fileno())
        if mtime is not None:
            os.utime(temporary, (mtime, mtime))
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
