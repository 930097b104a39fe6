"""WebSub (W3C Recommendation, 2018-01-23), the publisher's side.

Discovery (section 4): with hubs configured, every feed names them where subscribers look,
in the HTTP `Link` header (rel="hub", with exactly one rel="self") and in the document
(Atom `link`, RSS `atom:link`, JSON Feed `hubs`)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from urllib.parse import urlsplit

import pytest

from syndicate.feeds import feed_view
from syndicate.loader import load_catalog
from syndicate.render import FORMATS
from syndicate.settings import Settings
from syndicate.urls import FeedKey
from tests.conftest import MINIMAL, write_config
from tests.feedcheck import ATOM, CHECKS

HUBS = ("https://hub.example.net/", "https://pubsubhubbub.example.com/publish")


def with_hubs(config_dir):
    site = MINIMAL["site.yaml"] + "  hubs:\n" + "".join(f"    - {hub}\n" for hub in HUBS)
    write_config(config_dir, {"site.yaml": site})
    return load_catalog(config_dir)


def test_atom_feeds_link_each_hub_before_the_entries(config_dir):
    root = CHECKS["atom"](FORMATS["atom"].render(feed_view(with_hubs(config_dir), FeedKey())))
    children = list(root)
    hubs = [c for c in children if c.tag == f"{ATOM}link" and c.get("rel") == "hub"]
    assert [h.get("href") for h in hubs] == list(HUBS)
    first_entry = next(i for i, c in enumerate(children) if c.tag == f"{ATOM}entry")
    assert all(children.index(h) < first_entry for h in hubs)


def test_rss_feeds_link_each_hub_as_atom_link(config_dir):
    channel = CHECKS["rss"](FORMATS["rss"].render(feed_view(with_hubs(config_dir), FeedKey())))
    links = channel.findall(f"{ATOM}link")
    assert [link.get("href") for link in links if link.get("rel") == "hub"] == list(HUBS)
    assert len([link for link in links if link.get("rel") == "self"]) == 1


def test_json_feeds_list_the_hubs(config_dir):
    feed = CHECKS["json"](FORMATS["json"].render(feed_view(with_hubs(config_dir), FeedKey())))
    assert feed["hubs"] == [{"type": "WebSub", "url": hub} for hub in HUBS]


def test_without_hubs_nothing_is_advertised(config_dir):
    catalog = load_catalog(config_dir)
    assert b'rel="hub"' not in FORMATS["atom"].render(feed_view(catalog, FeedKey()))
    assert "hubs" not in CHECKS["json"](FORMATS["json"].render(feed_view(catalog, FeedKey())))


@pytest.mark.parametrize("path", ["/feed.atom", "/feed.rss", "/feed.json", "/voices.atom"])
async def test_feed_responses_name_the_hubs_and_exactly_one_self(serve, config_dir, path):
    with_hubs(config_dir)
    client = await serve(Settings(config=config_dir, watch=False, access_log=False))
    link = (await client.get(path)).headers["Link"]
    assert re.findall(r'<([^>]+)>; rel="hub"', link) == list(HUBS)
    assert re.findall(r'<([^>]+)>; rel="self"', link) == [f"https://feeds.example.org{path}"]


@pytest.mark.parametrize("path", ["/feed.ics", "/feed.html", "/embed/feed.html"])
async def test_calendars_and_html_are_not_websub_topics(serve, config_dir, path):
    with_hubs(config_dir)
    client = await serve(Settings(config=config_dir, watch=False, access_log=False))
    assert 'rel="hub"' not in (await client.get(path)).headers["Link"]


def hubs_in_document(path: str, body: bytes) -> list[str]:
    """The hubs a document names: Atom `link`, RSS `atom:link`, JSON Feed `hubs`."""
    import json

    from lxml import etree

    if path.endswith(".json") and body.startswith(b'{"version"'):
        return [hub["url"] for hub in json.loads(body).get("hubs", [])]
    if path.endswith((".atom", ".rss")):
        root = etree.fromstring(body)
        return [e.get("href") for e in root.iter(f"{ATOM}link") if e.get("rel") == "hub"]
    return []


def test_one_rule_says_where_hubs_are_advertised_headers_documents_export_and_pings(
    config_dir, tmp_path
):
    import gzip

    from syndicate.export import write_export
    from syndicate.snapshot import build_snapshot
    from syndicate.web.websub import topics

    with_hubs(config_dir)
    site = config_dir / "site.yaml"
    site.write_text(site.read_text() + "  feed_size: 1\n")  # so that feeds have archive pages
    snapshot = build_snapshot(load_catalog(config_dir))
    assert any("/archive/" in path for path in snapshot.representations)
    pinged = set(topics(snapshot))
    write_export(snapshot, Settings(config=config_dir), tmp_path / "out")
    exported = (tmp_path / "out" / "_headers").read_text().split("\n/")
    exported_with_hubs = {
        "/" + block.split("\n")[0].lstrip("/") for block in exported if 'rel="hub"' in block
    }
    for path, rep in snapshot.representations.items():
        body = rep.body or gzip.decompress(rep.gzip_body)
        is_topic = rep.format in ("atom", "rss", "json") and "/archive/" not in path
        assert re.findall(r'<([^>]+)>; rel="hub"', rep.link_header or "") == (
            list(HUBS) if is_topic else []
        ), path
        assert hubs_in_document(path, body) == (list(HUBS) if is_topic else []), path
        assert (f"https://feeds.example.org{path}" in pinged) == is_topic, path
        assert (path in exported_with_hubs) == is_topic, path


# Publishing (5), distribution (7), authenticated distribution (8): a live `syndicate
# serve` with its content watched, the tests' hub (tests/websub_hub.py) and a subscriber.


def content_with_hub(tmp_path, hub: str):
    import shutil

    from tests.conftest import CONTENT

    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    site = folder / "site.yaml"
    site.write_text(site.read_text(encoding="utf-8") + f"  hubs: [{hub}]\n", encoding="utf-8")
    return folder


def edit_title(folder, old: str, new: str) -> None:
    voices = folder / "items/harm-reduction/voices.yaml"
    voices.write_text(voices.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


async def test_an_edit_reaches_a_subscriber_through_the_hub_in_under_two_seconds(tmp_path):
    import asyncio
    import time

    from tests import websub_hub
    from tests.live import live_server

    hub, subscriber = websub_hub.Hub(), websub_hub.Subscriber()
    hub_runner, hub.url = await websub_hub.start(hub.handle)
    sub_runner, subscriber.url = await websub_hub.start(subscriber.handle)
    folder = content_with_hub(tmp_path, hub.url)
    try:
        with live_server(folder, tmp_path / "serve.log", SYNDICATE_WATCH="true") as service:
            topic = f"{service.url}/topics/harm-reduction/feed.atom"
            await subscriber.subscribe(hub.url, topic)
            await asyncio.sleep(0.3)  # let the watcher settle before the edit
            started = time.monotonic()
            edit_title(folder, "How Drug Courts Are Falling Short", "Drug Courts, Pushed")
            while True:
                remaining = 2.0 - (time.monotonic() - started)
                body, headers = await asyncio.wait_for(subscriber.received.get(), remaining)
                if b"Drug Courts, Pushed" in body:
                    break
            elapsed = time.monotonic() - started
            assert elapsed < 2.0
            assert f'<{topic}>; rel="self"' in headers["Link"]
            assert headers["Content-Type"].startswith("application/atom+xml")
            CHECKS["atom"](body)
            assert topic in hub.publishes
            assert all(url.startswith(service.url) for url in hub.publishes)
            print(f"edit to subscriber: {elapsed:.2f} s")
    finally:
        await hub_runner.cleanup()
        await sub_runner.cleanup()


async def serve_with_hub(serve, tmp_path, hub_url: str, state=None):  # type: ignore[no-untyped-def]
    folder = (
        content_with_hub(tmp_path, hub_url)
        if not (tmp_path / "content").exists()
        else tmp_path / "content"
    )
    settings = Settings(config=folder, watch=False, access_log=False, state_dir=state)
    return folder, await serve(settings)


async def until(condition, seconds: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_the_hub_is_told_of_exactly_the_feeds_whose_bytes_changed_one_per_ping(
    serve, tmp_path
):
    from tests import websub_hub

    hub = websub_hub.Hub()
    runner, hub.url = await websub_hub.start(hub.handle)
    try:
        folder, client = await serve_with_hub(serve, tmp_path, hub.url)
        store = client.service.store
        before = {p: r.body for p, r in store.snapshot.representations.items()}
        edit_title(folder, "How Drug Courts Are Falling Short", "Drug Courts, Pushed")
        assert await store.reload("test edit")
        after = store.snapshot
        changed = {
            f"https://feeds.example.org{path}"
            for path, rep in after.representations.items()
            if rep.format in ("atom", "rss", "json")
            and "/archive/" not in path  # archive pages are not WebSub topics
            and before.get(path) != rep.body
        }
        assert "https://feeds.example.org/topics/harm-reduction/feed.atom" in changed
        await until(lambda: len(hub.publishes) >= len(changed))
        assert sorted(hub.publishes) == sorted(changed)
        assert set(hub.pings) == {1}
        metrics = await (await client.get("/metrics")).text()
        assert (
            f'syndicate_websub_pings_total{{hub="{hub.url}",outcome="ok"}} {len(changed)}.0'
            in metrics
        )
        assert "syndicate_websub_pending 0.0" in metrics
    finally:
        await runner.cleanup()


async def test_a_failing_hub_is_retried_with_backoff_and_shown_until_it_recovers(
    serve, tmp_path, monkeypatch
):
    from syndicate.web import websub
    from tests import websub_hub

    monkeypatch.setattr(websub, "FIRST_RETRY", 0.1)
    hub = websub_hub.Hub(fail_with=503)
    runner, hub.url = await websub_hub.start(hub.handle)
    try:
        folder, client = await serve_with_hub(serve, tmp_path, hub.url)
        edit_title(folder, "How Drug Courts Are Falling Short", "Drug Courts, Pushed")
        assert await client.service.store.reload("test edit")

        async def health() -> dict:
            return await (await client.get("/healthz")).json()

        await until(lambda: "websub" in client.service.health.failures)
        report = await health()
        assert report["status"] == "degraded"
        assert "HTTP 503" in report["background"]["websub"]["reason"]
        metrics = await (await client.get("/metrics")).text()
        assert f'syndicate_websub_pings_total{{hub="{hub.url}",outcome="failed"}}' in metrics
        assert "syndicate_websub_pending 0.0" not in metrics
        assert (await client.get("/feed.atom")).status == 200  # serving goes on
        edit_title(folder, "Drug Courts, Pushed", "Drug Courts, Pushed Again")  # a second edit
        assert await client.service.store.reload("second test edit")
        hub.fail_with = None  # the hub is back: the next retry delivers everything
        await until(lambda: "websub" not in client.service.health.failures and hub.publishes)
        assert (await health())["status"] == "ok"
        assert "https://feeds.example.org/topics/harm-reduction/feed.atom" in hub.publishes
        assert len(hub.publishes) == len(set(hub.publishes))  # both edits, one ping per feed
    finally:
        await runner.cleanup()


async def test_changes_not_yet_told_survive_a_restart(serve, tmp_path):
    from tests import websub_hub
    from tests.live import free_port

    state = tmp_path / "state"
    port = free_port()
    hub = websub_hub.Hub()
    hub.url = f"http://127.0.0.1:{port}/"  # nothing listens there yet: the hub is down
    folder, client = await serve_with_hub(serve, tmp_path, hub.url, state)
    edit_title(folder, "How Drug Courts Are Falling Short", "Drug Courts, Pushed")
    assert await client.service.store.reload("test edit")
    await until(lambda: "websub" in client.service.health.failures)
    await client.service.stop()  # stopped with the change untold
    runner, _ = await websub_hub.start(hub.handle, port)  # the hub comes back
    try:
        await serve_with_hub(serve, tmp_path, hub.url, state)  # a new process, same state
        topic = "https://feeds.example.org/topics/harm-reduction/feed.atom"
        await until(lambda: topic in hub.publishes)
        unchanged = "https://feeds.example.org/events.atom"  # no voice in it
        assert unchanged not in hub.publishes
    finally:
        await runner.cleanup()


async def test_a_hub_added_later_is_told_of_changes_from_then_on_not_of_the_past(serve, tmp_path):
    from tests import websub_hub

    hub = websub_hub.Hub()
    runner, hub.url = await websub_hub.start(hub.handle)
    try:
        folder = content_with_hub(tmp_path, "https://unused.example.net/")
        client = await serve(Settings(config=folder, watch=False, access_log=False))
        edit_title(folder, "How Drug Courts Are Falling Short", "Before the hub")
        site = folder / "site.yaml"
        text = site.read_text(encoding="utf-8").replace("https://unused.example.net/", hub.url)
        site.write_text(text, encoding="utf-8")
        assert await client.service.store.reload("hub added, with an edit")
        await asyncio_sleep(0.3)
        assert hub.publishes == []  # the edit that came with the hub is the past to it
        edit_title(folder, "Before the hub", "After the hub")
        assert await client.service.store.reload("an edit after")
        await until(
            lambda: "https://feeds.example.org/topics/harm-reduction/feed.atom" in hub.publishes
        )
    finally:
        await runner.cleanup()


async def asyncio_sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


@pytest.mark.parametrize(
    "garbage",
    [b"null", b"[]", b'{"told": []}', b'{"told": {"h": [1]}}', b'{"told": {"h": {"u": 1}}}',
     b'{"told": {"h": "abc"}}', b"{", b"\xff", b"[" * 100_000],
)  # fmt: skip
async def test_a_websub_state_file_of_any_wrong_shape_is_a_warning_and_a_fresh_start(
    serve, tmp_path, garbage, caplog
):
    state = tmp_path / "state"
    state.mkdir()
    (state / "websub.json").write_bytes(garbage)
    _, client = await serve_with_hub(serve, tmp_path, "http://127.0.0.1:9/hub", state)
    assert (await client.get("/feed.atom")).status == 200
    assert "ignoring" in caplog.text and "websub.json" in caplog.text


async def test_an_edit_made_while_pings_wait_for_a_slow_hub_is_pinged_once(
    serve, tmp_path, monkeypatch
):
    import asyncio
    from collections import Counter

    from syndicate.web import websub

    monkeypatch.setattr(websub, "CONCURRENCY", 1)
    first_sent, release, sent = asyncio.Event(), asyncio.Event(), Counter()

    async def slow_hub(session, hub, url):  # type: ignore[no-untyped-def]
        sent[url] += 1
        if not first_sent.is_set():
            first_sent.set()
            await release.wait()  # the hub takes its time over the first ping
        return None

    monkeypatch.setattr(websub, "_publish", slow_hub)
    folder, client = await serve_with_hub(serve, tmp_path, "https://hub.example.net/")
    store = client.service.store
    edit_title(folder, "How Drug Courts Are Falling Short", "Drug Courts, Pushed")
    assert await store.reload("first edit")  # a round of pings starts; the first one hangs
    await asyncio.wait_for(first_sent.wait(), 5)
    (first,) = sent
    edit_title(folder, "Drug Courts, Pushed", "Drug Courts, Pushed Again")
    assert await store.reload("second edit")  # while the rest of the round waits its turn
    release.set()
    await until(lambda: client.service.publisher.work(store.snapshot, 1e12) == [])
    await asyncio.sleep(0.1)
    # Every topic once: those still waiting were sent after the second edit, with it. Only
    # the topic pinged before it may be pinged again, as the hub may have fetched it before.
    assert {url: n for url, n in sent.items() if n > 1 and url != first} == {}


async def test_a_hub_s_first_failure_shows_in_healthz_at_once_and_its_other_pings_wait(
    serve, tmp_path, monkeypatch
):
    import asyncio

    from syndicate.web import websub

    monkeypatch.setattr(websub, "CONCURRENCY", 2)
    hang, sent = asyncio.Event(), []

    async def failing_hub(session, hub, url):  # type: ignore[no-untyped-def]
        sent.append(url)
        if len(sent) == 1:
            await asyncio.sleep(0.1)  # (so that the second is sent meanwhile)
            return "TimeoutError"  # the first ping fails...
        await hang.wait()  # ...and the one sent beside it hangs
        return None

    monkeypatch.setattr(websub, "_publish", failing_hub)
    folder, client = await serve_with_hub(serve, tmp_path, "https://hub.example.net/")
    edit_title(folder, "How Drug Courts Are Falling Short", "Drug Courts, Pushed")
    assert await client.service.store.reload("edit")
    await until(lambda: len(sent) >= 2)

    async def degraded() -> bool:
        return (await (await client.get("/healthz")).json())["status"] == "degraded"

    for _ in range(100):  # while the round is still under way (one ping hangs)
        if await degraded():
            break
        await asyncio.sleep(0.02)
    assert await degraded()
    await asyncio.sleep(0.2)
    assert len(sent) == 2  # nothing more sent to the failing hub in this round
    hang.set()


async def test_hubs_told_are_counted_per_feed_for_reach(serve, tmp_path):
    from syndicate.people import reach
    from tests import websub_hub

    hub = websub_hub.Hub()
    runner, hub.url = await websub_hub.start(hub.handle)
    try:
        folder = content_with_hub(tmp_path, hub.url)
        settings = Settings(config=folder, watch=False, access_log=False,
                            state_dir=tmp_path / "state", reach=True)  # fmt: skip
        client = await serve(settings)
        store = client.service.store
        edit_title(folder, "How Drug Courts Are Falling Short", "Drug Courts, Pushed")
        assert await store.reload("test edit")
        await until(lambda: len(hub.publishes) > 0 and not client.service.publisher.work(
            store.snapshot, float("inf")))  # fmt: skip
        await client.service.reach.flush()
        rows = reach.rows(client.service.database.engine, date.min)
        told = {r.path: r.value for r in rows if r.measure == "hubs"}
        published = Counter(urlsplit(url).path for url in hub.publishes)
        assert told == dict(published) and told["/topics/harm-reduction/feed.atom"] == 1
        hub_origin = urlsplit(hub.url)._replace(path="").geturl()
        assert {r.detail for r in rows if r.measure == "hubs"} == {hub_origin}
    finally:
        await runner.cleanup()
