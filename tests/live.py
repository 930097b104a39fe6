"""A real `syndicate serve` process on 127.0.0.1, for tests with real clients.

Bounded: it waits at most 20 s to start, and is stopped (SIGTERM, then SIGKILL) by PID.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def need(program: str) -> str:
    """The path of a system program; skip (fail under CI) when it is missing."""
    path = shutil.which(program)
    if path is None:
        message = f"{program} is not installed (`make test` installs it where apt-get is available)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run this test")
        pytest.skip(message)
    return path


@dataclass
class LiveServer:
    process: subprocess.Popen[bytes]
    url: str
    log: Path


@contextmanager
def live_server(
    config: Path,
    log: Path,
    cwd: Path | None = None,
    preview: bool = False,
    port: int | None = None,
    as_user: str | None = None,
    **env: str,
) -> Iterator[LiveServer]:
    """`syndicate serve` on a free port (started in `cwd`, if given), with that address as
    its public URL unless `env` says otherwise (`SYNDICATE_PUBLIC_URL=""`: none);
    `preview`: `syndicate preview` instead; `port`: this one rather than any free one;
    `as_user`: run as that unprivileged user (when the tests run as root), as a service runs
    under systemd, so what it reads must be readable by it and what it writes its own."""
    port = port or free_port()
    command = ["preview", "--port", str(port)] if preview else ["serve"]
    url = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ, "PYTHONPATH": str(ROOT), "SYNDICATE_PORT": str(port), "SYNDICATE_WATCH": "false",
        "SYNDICATE_PUBLIC_URL": url, **env,
    }  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            # -P: as the `syndicate` command runs, nothing imported from `cwd`
            [python_for(as_user), "-P", "-m", "syndicate", *command, "--config", str(config)],
            env=environment, stdout=output, stderr=subprocess.STDOUT, cwd=cwd,
            **unprivileged(as_user),
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not start:\n{log.read_text()}")
                time.sleep(0.1)
        yield LiveServer(process, url, log)
    finally:
        stop(process)


# Debian's python3 with the package's dependencies (`make test` builds it, as
# docs/deployment.md installs the service): the tests' own Python may be one the service's
# user cannot run (pyenv under /root, mode 0700).
DEPLOY_PYTHON = ROOT / ".venv-deploy" / "bin" / "python"


def python_for(user: str | None) -> str:
    """The Python a `syndicate` process runs on: the deployment's, for an unprivileged
    `user` (the code still comes from this checkout, by PYTHONPATH), else the tests' own."""
    if user is None or os.geteuid() != 0:
        return sys.executable
    if not DEPLOY_PYTHON.exists():
        message = f"{DEPLOY_PYTHON} is missing: `make test` builds it from Debian's python3"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(DEPLOY_PYTHON)


def unprivileged(user: str | None) -> dict[str, Any]:
    """Popen's arguments that run a process as `user`, its own group and no other (nothing
    when `user` is None or the tests do not run as root)."""
    if user is None or os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def owned_by(path: Path, user: str) -> Path:
    """`path` (a folder, made if missing) given to `user`, for what it must write."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return path


def stop(process: subprocess.Popen[bytes], signum: int = signal.SIGTERM) -> None:
    """Stop a process this test run started, by its PID: `signum`, then SIGKILL after 10 s."""
    if process.poll() is not None:
        return
    process.send_signal(signum)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def live_pool(
    config: Path, log: Path, workers: int, cwd: Path | None = None,
    as_user: str | None = None, **env: str,
) -> Iterator[LiveServer]:  # fmt: skip
    """`syndicate serve --workers N` (see `live_server`), once every worker serves."""
    with live_server(
        config, log, cwd, as_user=as_user, SYNDICATE_WORKERS=str(workers), **env
    ) as live:
        deadline = time.monotonic() + 20
        while not _all_running(live.url):
            if time.monotonic() > deadline:
                pytest.fail(f"not every worker started:\n{log.read_text()}")
            time.sleep(0.1)
        yield live


def _all_running(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            workers = json.loads(response.read())["pool"]["workers"]
    except (OSError, ValueError, KeyError):
        return False
    return all(worker["running"] for worker in workers)
