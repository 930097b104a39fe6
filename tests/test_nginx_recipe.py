"""docs/deployment.md's nginx recipe, run as written on a copy of Debian's stock /etc/nginx
(`nginx.conf` including `conf.d/*.conf` and `sites-enabled/default`, whose server is the
`default_server`).

Only what a test must not touch on the machine is moved into a temporary folder: the
configuration tree, the cache folder, the pid file, logs and nginx's temporary files, and
the port (80 becomes a free one on 127.0.0.1). nginx's workers run as the stock file says
(www-data), so the temporary folder is one they can reach; the service runs as a user of its
own. Everything else is the recipe's own commands.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import CONTENT
from tests.live import ROOT, free_port, live_server, need, stop
from tests.nginx import SERVICE_USER, reachable_folder, stock_copy


def recipe() -> list[str]:
    """The recipe's commands, joined where a line ends with a backslash."""
    text = (ROOT / "docs" / "deployment.md").read_text()
    block = re.search(r"```sh\n# recipe: nginx caching tier\n(.*?)```", text, re.S)
    assert block, "docs/deployment.md has no nginx recipe block"
    return [line for line in block.group(1).replace("\\\n", " ").splitlines() if line.strip()]


def get(url: str, host: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_the_nginx_recipe_works_as_written_on_debian_s_stock_configuration():
    with reachable_folder("syndicate-recipe-") as folder:
        _recipe_as_written(folder)


def _recipe_as_written(tmp_path: Path) -> None:
    nginx = need("nginx")
    port = free_port()
    etc = stock_copy(tmp_path, port)
    with live_server(CONTENT, tmp_path / "service.log", as_user=SERVICE_USER) as service:
        upstream = service.url.removeprefix("http://")
        for command in recipe():
            if command.startswith("systemctl "):
                continue  # nginx is started below, by this test, and stopped by PID
            command = (
                command.replace("/etc/nginx", str(etc))
                .replace("/var/cache/nginx", str(tmp_path / "var" / "cache" / "nginx"))
                .replace("--upstream 127.0.0.1:8080", f"--upstream {upstream}")
                .replace("--listen 80", f"--listen 127.0.0.1:{port}")
                .replace("nginx -t", f"{nginx} -t -c {etc}/nginx.conf")
            )
            if command.startswith("syndicate "):
                command = f"{sys.executable} -m {command}"
            done = subprocess.run(
                command, shell=True, capture_output=True, text=True, cwd=ROOT, timeout=30
            )
            assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
        process = subprocess.Popen(
            [nginx, "-c", str(etc / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    status, headers, body = get(url + "/feed.atom", "feeds.example.org")
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                pytest.fail("nginx did not start:\n" + (tmp_path / "error.log").read_text())
            assert status == 200 and body.startswith(b"<?xml") and b"<feed" in body
            assert headers.get("X-Cache-Status") == "MISS"
            assert get(url + "/feed.atom", "feeds.example.org")[1].get("X-Cache-Status") == "HIT"
            other = get(url + "/", "another.example.org")  # Debian's default site: untouched
            assert b"Welcome to nginx" in other[2] or other[0] == 404
        finally:
            stop(process, signal.SIGQUIT)  # graceful


@pytest.mark.parametrize(
    ("public_url", "server_name"),
    [("https://feeds.example.org/", "feeds.example.org"), ("", "_")],
)
def test_nginx_config_names_the_public_url_s_host_unless_told_otherwise(public_url, server_name):
    environment = {**os.environ, "SYNDICATE_PUBLIC_URL": public_url}
    printed = subprocess.run(
        [sys.executable, "-m", "syndicate", "nginx-config"],
        capture_output=True, text=True, check=True, cwd=ROOT, env=environment,
    ).stdout  # fmt: skip
    assert f"    server_name {server_name};\n" in printed
    assert ("default_server" in printed) == (server_name == "_")  # the warning, only then
