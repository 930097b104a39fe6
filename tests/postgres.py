"""A real PostgreSQL server for the tests that need one: initdb in a temporary folder, started
on a free loopback port with pg_ctl, stopped (by its pid file) at the end. Debian's
`postgresql` package provides the programs (`make test` installs it); as root, the server
runs as the `postgres` user, which refuses nothing of ours."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.live import free_port


def _bin(name: str) -> str:
    installed = sorted(str(p) for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    found = installed or [shutil.which(name) or ""]
    if not found[-1]:
        message = "PostgreSQL is not installed (`make test` installs it where apt-get is available)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run this test")
        pytest.skip(message)
    return found[-1]


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def running_postgres(folder: Path) -> Iterator[str]:
    """A PostgreSQL server with its data in `folder`; yields its URL (database `syndicate`)."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    folder.mkdir(parents=True, exist_ok=True)
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")
        for parent in folder.parents:  # the server must reach its folder
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o711)
    subprocess.run(
        _as_postgres([initdb, "-D", str(data), "-U", "syndicate", "--auth=trust", "-E", "UTF8",
                      "--no-sync"]),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port = free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres([pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"),
                      "-w", "-t", "60", "start"]),
        check=True, capture_output=True, timeout=90,
    )  # fmt: skip
    try:
        subprocess.run(
            [_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "syndicate",
             "syndicate"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        yield f"postgresql://syndicate@127.0.0.1:{port}/syndicate"
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True, timeout=60,
        )  # fmt: skip
