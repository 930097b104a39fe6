"""A real `syndicate serve` process on 127.0.0.1, for tests with real clients.

Bounded: it waits at most 20 s to start, and is stopped (SIGTERM, then SIGKILL) by PID.
"""

from __future__ import annotations

import json
import os
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
    **env: str,
) -> Iterator[LiveServer]:
    """`syndicate serve` on a free port (started in `cwd`, if given), with that address as
    its public URL unless `env` says otherwise (`SYNDICATE_PUBLIC_URL=""`: none);
    `preview`: `syndicate preview` instead; `port`: this one rather than any free one."""
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
            [sys.executable, "-P", "-m", "syndicate", *command, "--config", str(config)],
            env=environment, stdout=output, stderr=subprocess.STDOUT, cwd=cwd,
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
    config: Path, log: Path, workers: int, cwd: Path | None = None, **env: str
) -> Iterator[LiveServer]:
    """`syndicate serve --workers N` (see `live_server`), once every worker serves."""
    with live_server(config, log, cwd, SYNDICATE_WORKERS=str(workers), **env) as live:
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
