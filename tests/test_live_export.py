"""`serve --export DIR`: real nginx serving a static export that a running service keeps in
step with every reload, with the service's bytes and fields; an edit reaches nginx's
clients in about the time a reload takes. Bounded: a few hundred requests, waits under 10 s.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import CONTENT
from tests.live import LiveServer, free_port, live_server, owned_by
from tests.nginx import SERVICE_USER, reachable_folder, running_nginx
from tests.test_static_export import assert_served_alike, get


@dataclass
class Live:
    service: LiveServer
    nginx: str
    content: Path
    out: Path


def wait_until(condition, seconds: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return found


@pytest.fixture
def live() -> Iterator[Live]:
    # nginx's workers run as www-data, as on Debian: the export lies where they can reach it
    # (pytest's own folders are 0700), kept by `serve --export` under the usual umask.
    with reachable_folder("syndicate-live-") as folder:
        yield from _live(folder)


def _live(tmp_path: Path) -> Iterator[Live]:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    out = owned_by(tmp_path / "out", SERVICE_USER)  # the service's to write, nginx's to read
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with live_server(content, tmp_path / "service.log", as_user=SERVICE_USER,
                     SYNDICATE_PUBLIC_URL=url,
                     SYNDICATE_EXPORT_DIR=str(out), SYNDICATE_EXPORT_LISTEN=f"127.0.0.1:{port}",
                     SYNDICATE_WATCH="true") as service:  # fmt: skip
        wait_until(lambda: (out / ".syndicate-export.json").exists(), 10, "the first export")
        with running_nginx(out / "_nginx.conf", tmp_path / "nginx", port) as nginx:
            yield Live(service, nginx, content, out)


def test_nginx_over_the_live_export_serves_the_service_s_bytes_and_fields(live: Live):
    with urllib.request.urlopen(live.service.url + "/feeds.json", timeout=5) as response:
        listed = [urlsplit(feed["url"]).path for feed in json.load(response)["feeds"]]
    paths = [*listed[:60], "/", "/topics/harm-reduction/", "/developers/", "/robots.txt"]
    assert_served_alike(live.service.url, live.nginx, paths)


def test_an_edit_reaches_nginx_s_clients_and_only_changed_files_are_written(live: Live):
    untouched = live.out / "topics" / "drug-policy" / "events.atom"  # holds no edited item
    inode = untouched.stat().st_ino
    voices = live.content / "items" / "harm-reduction" / "voices.yaml"
    started = time.monotonic()
    voices.write_text(
        voices.read_text().replace("How Drug Courts Are Falling Short", "Edited, live")
    )
    wait_until(
        lambda: b"Edited, live" in get(live.nginx, "/feed.atom")[2], 10, "the edit via nginx"
    )
    print(f"edit to nginx: {time.monotonic() - started:.2f} s")
    assert get(live.nginx, "/feed.atom")[2] == get(live.service.url, "/feed.atom")[2]
    assert untouched.stat().st_ino == inode  # not written again
    health = json.loads(get(live.service.url, "/healthz")[2])
    assert health["status"] == "ok"
    metrics = get(live.service.url, "/metrics")[2].decode()
    assert "syndicate_export_files_written_total" in metrics


def test_an_export_folder_that_cannot_be_written_is_reported_and_content_still_served(
    tmp_path: Path,
):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the export should go")
    with live_server(CONTENT, tmp_path / "service.log", SYNDICATE_EXPORT_DIR=str(blocked)) as live:
        assert get(live.url, "/feed.atom")[0] == 200
        health = wait_until(
            lambda: (h := json.loads(get(live.url, "/healthz")[2]))["status"] == "degraded" and h,
            10, "the failure in /healthz",
        )  # fmt: skip
        assert "export" in health["background"]
        assert get(live.url, "/feed.atom")[0] == 200
