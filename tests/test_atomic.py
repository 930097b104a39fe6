"""Files replaced whole (syndicate/atomic.py): the old bytes or the new, never a mix, and no
temporary file left behind when writing fails."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from syndicate.atomic import replace_file


def test_a_replaced_file_holds_the_new_bytes_and_the_given_time(tmp_path: Path):
    target = tmp_path / "deep" / "feed.atom"
    replace_file(target, b"old")
    replace_file(target, b"new", mtime=1_700_000_000, fsync=True)
    assert target.read_bytes() == b"new"
    assert target.stat().st_mtime == 1_700_000_000
    assert [p.name for p in target.parent.iterdir()] == ["feed.atom"]


def test_a_reader_sees_the_old_bytes_or_the_new_never_a_mix(tmp_path: Path):
    target = tmp_path / "status.json"
    old, new = b"a" * 1_000_000, b"b" * 1_000_000
    replace_file(target, old)
    seen: set[bytes] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            data = target.read_bytes()
            seen.add(data[:1] + data[-1:] + str(len(data)).encode())

    reader = threading.Thread(target=read)
    reader.start()
    for n in range(50):
        replace_file(target, new if n % 2 else old)
    stop.set()
    reader.join()
    assert seen <= {b"aa1000000", b"bb1000000"}


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path: Path, monkeypatch):
    target = tmp_path / "history.json"
    replace_file(target, b"kept")

    def full_disk(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "utime", full_disk)
    with pytest.raises(OSError):
        replace_file(target, b"lost", mtime=1.0)
    assert target.read_bytes() == b"kept"
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_a_replaced_file_takes_the_mode_the_umask_gives_not_mkstemps(tmp_path: Path, umask, mode):
    """nginx's workers run as www-data or nobody: a 0600 export is a 403 for everything."""
    import subprocess
    import sys

    target = tmp_path / "export" / "feed.atom"
    # A process of its own: the umask is read when the module is imported, as at start.
    code = f"import os, pathlib; os.umask({umask}); from syndicate.atomic import replace_file; replace_file(pathlib.Path({str(target)!r}), b'x')"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert target.stat().st_mode & 0o777 == mode
    assert target.parent.stat().st_mode & 0o777 == 0o777 & ~umask
