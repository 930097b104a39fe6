"""Never silently stale: background failures are recorded, shown and survived.

The deploy cases (a folder moved into place, a symlink swapped, a folder deleted and created
again) run against a real `syndicate serve` process, watching as in production.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
import urllib.request
from pathlib import Path

import pytest

from syndicate.settings import Settings
from tests.conftest import CONTENT
from tests.live import live_server

VOICES = "items/harm-reduction/voices.yaml"


def retitle(config: Path, new: str) -> None:
    """Give the first voice of the Harm Reduction file the title `new`."""
    path = config / VOICES
    text = path.read_text(encoding="utf-8")
    start = text.index("title: ", text.index("id: how-drug-courts-are-falling-short"))
    end = text.index("\n", start)
    path.write_text(text[:start] + f"title: {new}" + text[end:], encoding="utf-8")


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return bytes(response.read())


def health(url: str) -> dict:
    return json.loads(get(url + "/healthz"))


def within(seconds: float, predicate, what: str) -> float:
    """Seconds until `predicate()` holds; fails after `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {seconds}s")


def shows(url: str, title: str) -> bool:
    return title.encode() in get(url + "/feed.atom")


@pytest.fixture
def deploy(tmp_path):
    """A releases folder, as deploy tools lay one out."""
    releases = tmp_path / "releases"
    releases.mkdir()

    def release(name: str, title: str) -> Path:
        target = releases / name
        shutil.copytree(CONTENT, target)
        retitle(target, title)
        return target

    return release


def test_a_folder_moved_into_place_is_loaded_and_then_watched(tmp_path, deploy):
    config = tmp_path / "content"
    shutil.copytree(CONTENT, config)
    with live_server(config, tmp_path / "log", SYNDICATE_WATCH="true") as live:
        time.sleep(0.5)
        new = deploy("v2", "Second Release")
        config.rename(tmp_path / "content.old")
        new.rename(config)
        within(2, lambda: shows(live.url, "Second Release"), "the new folder")
        time.sleep(0.3)
        retitle(config, "Edited After The Move")
        within(2, lambda: shows(live.url, "Edited After The Move"), "an edit after the move")
        assert health(live.url)["status"] == "ok"


def test_a_swapped_symlink_is_followed_and_then_watched(tmp_path, deploy):
    current = tmp_path / "current"
    current.symlink_to(deploy("v1", "First Release"))
    with live_server(current, tmp_path / "log", SYNDICATE_WATCH="true") as live:
        assert shows(live.url, "First Release")
        time.sleep(0.5)
        v2 = deploy("v2", "Second Release")
        swap = tmp_path / "current.new"
        swap.symlink_to(v2)
        swap.replace(current)  # rename(2): the atomic swap deploy tools use
        within(2, lambda: shows(live.url, "Second Release"), "the swapped symlink")
        time.sleep(0.3)
        retitle(v2, "Edited After The Swap")
        within(2, lambda: shows(live.url, "Edited After The Swap"), "an edit after the swap")


def test_a_deleted_folder_is_reported_and_a_recreated_one_loaded(tmp_path):
    config = tmp_path / "content"
    shutil.copytree(CONTENT, config)
    with live_server(config, tmp_path / "log", SYNDICATE_WATCH="true") as live:
        time.sleep(0.5)
        before = get(live.url + "/feed.atom")
        shutil.rmtree(config)
        within(
            2,
            lambda: any("is missing" in reason for reason in health(live.url)["reasons"]),
            "degraded, saying the folder is missing",
        )
        assert get(live.url + "/feed.atom") == before  # the last good content is still served
        metrics = get(live.url + "/metrics").decode()
        assert "syndicate_degraded 1.0" in metrics
        shutil.copytree(CONTENT, config)
        retitle(config, "Back Again")
        # The new folder often gets the deleted one's inode: it must still count as replaced.
        within(2, lambda: shows(live.url, "Back Again"), "the recreated folder")
        within(2, lambda: health(live.url)["status"] == "ok", "ok once recreated")
        time.sleep(0.3)
        retitle(config, "Edited After Recreation")
        within(2, lambda: shows(live.url, "Edited After Recreation"), "an edit after it")
        log = live.log.read_text()
        assert log.count("is missing") == 1, log  # logged once, not at every check


# In-process: faults injected where no content can cause them.


@pytest.fixture
def config(tmp_path):
    target = tmp_path / "cfg"
    shutil.copytree(CONTENT, target)
    return target


async def wait_for(predicate, timeout: float = 2.0) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"not true within {timeout}s")


async def test_an_unexpected_reload_error_degrades_and_the_watcher_goes_on(
    serve, config, monkeypatch, caplog
):
    from syndicate.web import content

    client = await serve(Settings(config=config, access_log=False, watch=True))
    await asyncio.sleep(0.5)
    real = content.snapshot_for
    monkeypatch.setattr(content, "snapshot_for", lambda *args: 1 / 0)
    retitle(config, "Never Served")

    async def degraded() -> bool:
        return (await (await client.get("/healthz")).json())["status"] == "degraded"

    await wait_for(degraded)
    body = await (await client.get("/healthz")).json()
    assert body["last_reload_error"]["problems"] == [
        "internal error: ZeroDivisionError: division by zero"
    ]
    metrics = await (await client.get("/metrics")).text()
    assert 'syndicate_reloads_total{result="failed"} 1.0' in metrics
    assert "syndicate_degraded 1.0" in metrics
    assert [r.exc_info is not None for r in caplog.records if "failed" in r.getMessage()] == [True]

    monkeypatch.setattr(content, "snapshot_for", real)
    retitle(config, "Served After The Fault")

    async def live() -> bool:
        return "Served After The Fault" in await (await client.get("/feed.atom")).text()

    await wait_for(live)
    assert (await (await client.get("/healthz")).json())["status"] == "ok"


async def test_a_sighup_reload_that_fails_unexpectedly_is_reported(serve, config, monkeypatch):
    import signal

    from syndicate.web import content

    client = await serve(Settings(config=config, access_log=False, watch=False))
    monkeypatch.setattr(content, "snapshot_for", lambda *args: 1 / 0)
    os.kill(os.getpid(), signal.SIGHUP)

    async def degraded() -> bool:
        return (await (await client.get("/healthz")).json())["status"] == "degraded"

    await wait_for(degraded)


async def test_a_watcher_that_crashes_is_reported_and_restarted(serve, config, monkeypatch):
    import watchfiles

    real = watchfiles.watch
    crashes = []

    def crashing(*args, **kwargs):
        if not crashes:
            crashes.append(1)
            raise RuntimeError("inotify is gone")
        return real(*args, **kwargs)

    monkeypatch.setattr(watchfiles, "watch", crashing)
    client = await serve(Settings(config=config, access_log=False, watch=True))

    async def reported() -> bool:
        body = await (await client.get("/healthz")).json()
        return (
            body["background"].get("watcher", {}).get("reason") == "RuntimeError: inotify is gone"
        )

    await wait_for(reported)
    metrics = await (await client.get("/metrics")).text()
    assert 'syndicate_background_failures_total{task="watcher"} 1.0' in metrics
    await asyncio.sleep(1.0)  # the restart after the backoff
    retitle(config, "Seen By The Restarted Watcher")

    async def live() -> bool:
        return "Seen By The Restarted Watcher" in await (await client.get("/feed.atom")).text()

    await wait_for(live, timeout=3.0)
    assert (await (await client.get("/healthz")).json())["status"] == "ok"
