"""Real nginx on loopback, for the caching tier and the static export.

`running_nginx(include, folder)` writes the smallest main configuration around `include`
(a file meant for nginx's http block, used as it is), starts nginx in the foreground and
stops it by PID. Every path nginx writes (pid, logs, temporary files) is under `folder`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.live import need, stop

MAIN = """daemon off;
worker_processes 1;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {include};
}}
"""


@contextmanager
def running_nginx(
    include: Path, folder: Path, port: int, workers_as: str | None = None
) -> Iterator[str]:
    """nginx serving `include` (which listens on 127.0.0.1:`port`); yields its URL. With
    `workers_as` (and the tests run as root), nginx runs as Debian runs it: the master as
    root, the workers as that unprivileged user (`www-data`), so every file they serve must
    be readable by others, and every folder on the way to it searchable."""
    nginx = need("nginx")
    folder.mkdir(parents=True, exist_ok=True)
    user = ""
    if os.geteuid() == 0:  # the cache and files are ours, unless the workers are another's
        user = f"user {workers_as};" if workers_as else "user root;"
    conf = folder / "nginx.conf"
    conf.write_text(MAIN.format(user=user, tmp=folder, include=include))
    test = subprocess.run(
        [nginx, "-t", "-c", str(conf), "-p", str(folder)], capture_output=True, text=True
    )
    assert test.returncode == 0, test.stderr
    with (folder / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen([nginx, "-c", str(conf), "-p", str(folder)],
                                   stdout=subprocess.DEVNULL, stderr=stderr)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(url + "/nginx-ready-probe", timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # answering
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("nginx did not start:\n" + (folder / "error.log").read_text())
                time.sleep(0.05)
        yield url
    finally:
        stop(process, signal.SIGQUIT)  # graceful
