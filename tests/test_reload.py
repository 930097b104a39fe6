"""Reloading: valid edits go live, invalid edits are reported and lose nothing."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time

import pytest

from syndicate.settings import Settings
from syndicate.web import Service
from tests.conftest import CONTENT

VOICES = "items/harm-reduction/voices.yaml"
OLD_TITLE = "title: How Drug Courts Are Falling Short"
NEW_TITLE = "title: How Drug Courts Keep Falling Short"


@pytest.fixture
def config(tmp_path):
    target = tmp_path / "cfg"
    shutil.copytree(CONTENT, target)
    return target


def edit(config, old: str, new: str, name: str = VOICES) -> None:
    path = config / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


async def make_client(serve, config, **settings):
    return await serve(Settings(config=config, access_log=False, **settings))


async def wait_for(predicate, timeout: float = 2.0) -> float:
    """Seconds until `predicate()` is true; fails after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await predicate():
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    pytest.fail(f"not true within {timeout}s")


async def watching(client) -> None:
    """Until the watcher runs: its first reload (after the one at start) is done. A fixed
    sleep raced with a slow start on a loaded machine."""

    async def started() -> bool:
        text = await (await client.get("/metrics")).text()
        return 'syndicate_reloads_total{result="ok"} 2.0' in text

    await wait_for(started, timeout=10.0)


async def test_a_valid_edit_is_live_within_two_seconds(serve, config):
    client = await make_client(serve, config, watch=True)
    await watching(client)
    edit(config, OLD_TITLE, NEW_TITLE)

    async def live() -> bool:
        return "Keep Falling Short" in await (await client.get("/feed.atom")).text()

    await wait_for(live, timeout=2.0)  # fails the test after 2 s


async def test_an_invalid_edit_keeps_the_last_good_content_and_is_reported(serve, config):
    client = await make_client(serve, config, watch=True)
    before = await (await client.get("/feed.atom")).read()
    await watching(client)
    edit(config, "published: 2026-11-05T08:00", "published: the fifth of never")

    async def degraded() -> bool:
        return (await (await client.get("/healthz")).json())["status"] == "degraded"

    await wait_for(degraded, timeout=2.0)
    health = await (await client.get("/healthz")).json()
    assert health["last_reload_error"]["problems"] == [
        f"{config}/{VOICES}:11: items[0].published: 'the fifth of never' is not a date; write it as "
        "'2026-12-10', '2026-12-10T18:30' or '2026-12-10T18:30:00-05:00'"
    ]
    response = await client.get("/feed.atom")
    assert response.status == 200
    assert await response.read() == before
    metrics = await (await client.get("/metrics")).text()
    assert 'syndicate_reloads_total{result="failed"} 1.0' in metrics

    edit(config, "published: the fifth of never", "published: 2026-11-05T08:00")

    async def healthy() -> bool:
        return (await (await client.get("/healthz")).json())["status"] == "ok"

    await wait_for(healthy, timeout=2.0)


async def test_a_broken_yaml_file_keeps_serving(serve, config):
    client = await make_client(serve, config, watch=False)
    (config / "items/broken.yaml").write_text("items: [\n", encoding="utf-8")
    assert await client.service.store.reload("test") is False
    assert (await client.get("/feed.atom")).status == 200
    health = await (await client.get("/healthz")).json()
    assert health["last_reload_error"]["problems"][0].startswith(
        f"{config}/items/broken.yaml:2: YAML syntax error"
    )


async def test_sighup_reloads(serve, config):
    client = await make_client(serve, config, watch=False)
    edit(config, OLD_TITLE, NEW_TITLE)
    os.kill(os.getpid(), signal.SIGHUP)

    async def live() -> bool:
        return "Keep Falling Short" in await (await client.get("/feed.atom")).text()

    await wait_for(live, timeout=2.0)


async def test_etags_change_only_where_bytes_change(serve, config):
    client = await make_client(serve, config, watch=False)

    async def etag(path: str) -> str:
        return (await client.get(path)).headers["ETag"]

    before = {path: await etag(path) for path in ("/feed.atom", "/topics/drug-policy/events.atom")}
    assert await client.service.store.reload("no change") is True
    assert {path: await etag(path) for path in before} == before
    edit(config, OLD_TITLE, NEW_TITLE)
    assert await client.service.store.reload("title edit") is True
    assert await etag("/feed.atom") != before["/feed.atom"]
    assert (
        await etag("/topics/drug-policy/events.atom") == before["/topics/drug-policy/events.atom"]
    )


async def test_a_reload_never_changes_the_snapshot_a_request_holds(serve, config):
    client = await make_client(serve, config, watch=False)
    store = client.service.store
    held = store.current
    body = held.snapshot.representations["/feed.atom"].body
    edit(config, OLD_TITLE, NEW_TITLE)
    await store.reload("test")
    assert store.current is not held
    assert (
        held.snapshot.representations["/feed.atom"].body == body
    )  # immutable: in-flight requests are safe


async def test_the_service_refuses_to_start_on_invalid_content(config):
    from syndicate.problems import ContentError

    edit(config, "published: 2026-11-05T08:00", "published: never")
    with pytest.raises(ContentError):
        Service(Settings(config=config, watch=False))
