"""Renaming a topic or type keeps every subscriber: `aliases` (former slugs) make every
former URL a permanent redirect (301: see web/handlers.py `_moved` for why not 308) to the same URL under the new slug, in the service,
the static export (`_redirects`, `_nginx.conf`) and feeds.json; feed ids keep the first
slug; real readers follow and get the same items, none twice."""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import feedparser
import pytest

from syndicate.build import snapshot_for
from syndicate.loader import load_catalog
from syndicate.problems import ContentError
from syndicate.settings import Settings
from syndicate.urls import Moves, former_paths, moved_path
from tests.conftest import CONTENT, ROOT
from tests.live import free_port, live_server, need
from tests.nginx import reachable_folder, running_nginx
from tests.test_clients import newsboat

PUBLIC = "https://feeds.example.org"
NEW_TOPIC, OLD_TOPIC = "drug-policy-reform", "drug-policy"
NEW_TYPE, OLD_TYPE = "opinion", "voices"


def rename(folder: Path) -> Path:
    """Rename the topic drug-policy and the type voices, keeping the old slugs as aliases;
    the items still name the old ones (an alias stands for today's slug)."""
    topics, types = folder / "topics.yaml", folder / "types.yaml"
    topics.write_text(
        topics.read_text().replace(
            f"  - slug: {OLD_TOPIC}\n", f"  - slug: {NEW_TOPIC}\n    aliases: [{OLD_TOPIC}]\n"
        )
    )
    types.write_text(types.read_text().replace(
        f"  - slug: {OLD_TYPE}\n", f"  - slug: {NEW_TYPE}\n    aliases: [{OLD_TYPE}]\n"))  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("renamed") / "content"
    shutil.copytree(CONTENT, folder)
    return rename(folder)


@pytest.fixture(scope="module")
def before_and_after(renamed: Path):  # type: ignore[no-untyped-def]
    settings = Settings(public_url=PUBLIC)
    from dataclasses import replace

    return (
        snapshot_for(replace(settings, config=CONTENT)),
        snapshot_for(replace(settings, config=renamed)),
    )


MOVES = Moves({"old-topic": "topic", "older": "topic"}, {"talks": "events"})


@pytest.mark.parametrize(
    ("former", "now"),
    [
        ("/topics/old-topic/events.atom", "/topics/topic/events.atom"),
        ("/topics/older/talks/upcoming.ics", "/topics/topic/events/upcoming.ics"),
        ("/topics/old-topic/talks/archive/2.json", "/topics/topic/events/archive/2.json"),
        ("/topics/old-topic/", "/topics/topic/"),
        ("/embed/topics/old-topic/feed.html", "/embed/topics/topic/feed.html"),
        ("/talks.rss", "/events.rss"),
        ("/talks/past.atom", "/events/past.atom"),
        ("/feed.atom", "/feed.atom"),
        ("/items/talks.ics", "/items/talks.ics"),
        ("/topics/other/feed.json", "/topics/other/feed.json"),
    ],
)
def test_a_former_path_maps_to_the_same_path_under_todays_slugs(former: str, now: str):
    assert moved_path(former, MOVES) == now
    if former != now:
        assert former in former_paths(now, MOVES)


def test_every_former_path_of_a_path_maps_back_to_it():
    path = "/topics/topic/events/archive/1.atom"
    formers = former_paths(path, MOVES)
    assert len(formers) == 3 * 2 - 1  # three topic names, two type names, but itself
    assert all(moved_path(f, MOVES) == path for f in formers)


def test_items_naming_a_former_slug_are_filed_under_todays(renamed: Path):
    catalog = load_catalog(renamed)
    assert set(catalog.topics) == {"harm-reduction", NEW_TOPIC}
    assert {i.id for i in catalog.by_topic[NEW_TOPIC]} == {
        i.id for i in load_catalog(CONTENT).by_topic[OLD_TOPIC]
    }
    assert all(i.type == NEW_TYPE for i in catalog.items if i.event is None)


def test_feed_ids_keep_the_first_slug_and_item_ids_never_change(before_and_after):
    before, after = before_and_after
    old = feedparser.parse(before.representations[f"/topics/{OLD_TOPIC}/{OLD_TYPE}.atom"].body)
    new = feedparser.parse(after.representations[f"/topics/{NEW_TOPIC}/{NEW_TYPE}.atom"].body)
    assert new.feed.id == old.feed.id
    assert [e.id for e in new.entries] == [e.id for e in old.entries] != []


async def test_the_service_redirects_every_former_url_for_good(serve, renamed, before_and_after):
    before, _ = before_and_after
    client = await serve(Settings(config=renamed, public_url=PUBLIC))
    moved = [
        p for p in before.representations
        if not p.startswith("/items/")
        and any(part in p for part in (f"/{OLD_TOPIC}/", f"/{OLD_TYPE}.", f"/{OLD_TYPE}/"))
    ]  # fmt: skip
    assert len(moved) > 40  # feeds, views, calendars, archive pages, pages, iframe pages
    for path in moved:
        response = await client.get(path, allow_redirects=False)
        assert response.status == 301, path
        target = response.headers["Location"]
        expected = path.replace(f"/{OLD_TOPIC}/", f"/{NEW_TOPIC}/")
        expected = expected.replace(f"/{OLD_TYPE}.", f"/{NEW_TYPE}.")
        expected = expected.replace(f"/{OLD_TYPE}/", f"/{NEW_TYPE}/")
        assert target == PUBLIC + expected, path
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["Cache-Control"] == "public, max-age=86400"
        found = await client.get(expected)
        assert found.status == 200, expected


async def test_a_redirect_keeps_the_query_and_answers_head(serve, renamed):
    client = await serve(Settings(config=renamed, public_url=PUBLIC))
    response = await client.get(f"/topics/{OLD_TOPIC}/feed.atom?utm=x", allow_redirects=False)
    assert response.headers["Location"] == f"{PUBLIC}/topics/{NEW_TOPIC}/feed.atom?utm=x"
    head = await client.head(f"/{OLD_TYPE}.rss", allow_redirects=False)
    assert head.status == 301 and head.headers["Location"] == f"{PUBLIC}/{NEW_TYPE}.rss"


async def test_a_former_slug_with_nothing_behind_it_is_still_404(serve, renamed):
    client = await serve(Settings(config=renamed, public_url=PUBLIC))
    response = await client.get(f"/topics/{OLD_TOPIC}/nothing.atom", allow_redirects=False)
    assert response.status == 404


def test_feeds_json_lists_each_feeds_former_urls(before_and_after):
    _, after = before_and_after
    feeds = json.loads(after.representations["/feeds.json"].body)["feeds"]
    entry = next(f for f in feeds if f["url"] == f"{PUBLIC}/topics/{NEW_TOPIC}/{NEW_TYPE}.atom")
    assert entry["former_urls"] == [
        f"{PUBLIC}/topics/{NEW_TOPIC}/{OLD_TYPE}.atom",
        f"{PUBLIC}/topics/{OLD_TOPIC}/{NEW_TYPE}.atom",
        f"{PUBLIC}/topics/{OLD_TOPIC}/{OLD_TYPE}.atom",
    ]
    untouched = next(f for f in feeds if f["url"] == f"{PUBLIC}/topics/harm-reduction/events.atom")
    assert "former_urls" not in untouched


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        ("[drug-policy]", "'drug-policy' is its own slug: a former slug must be free"),
        ("[harm-reduction]", "'harm-reduction' is the slug of the topic at"),
    ],
)
def test_a_former_slug_must_be_free(tmp_path: Path, aliases: str, message: str):
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    topics = folder / "topics.yaml"
    topics.write_text(topics.read_text().replace(
        "  - slug: drug-policy\n", f"  - slug: drug-policy\n    aliases: {aliases}\n"))  # fmt: skip
    with pytest.raises(ContentError) as raised:
        load_catalog(folder)
    assert next(p.message for p in raised.value.problems if p.key == "topic.aliases").startswith(
        message
    )


def test_two_topics_cannot_share_a_former_slug(tmp_path: Path):
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    topics = folder / "topics.yaml"
    text = topics.read_text()
    for slug in ("harm-reduction", "drug-policy"):
        text = text.replace(f"  - slug: {slug}\n", f"  - slug: {slug}\n    aliases: [old]\n")
    topics.write_text(text)
    with pytest.raises(ContentError) as raised:
        load_catalog(folder)
    (problem,) = raised.value.problems
    assert problem.message.startswith("'old' is also a former slug of the topic at ")


def test_a_type_cannot_take_a_reserved_former_slug(tmp_path: Path):
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    types = folder / "types.yaml"
    types.write_text(types.read_text().replace(
        "  - slug: voices\n", "  - slug: voices\n    aliases: [feeds]\n"))  # fmt: skip
    with pytest.raises(ContentError) as raised:
        load_catalog(folder)
    assert raised.value.problems[0].message.startswith("'feeds' is reserved")


def get(url: str, path: str) -> tuple[int, dict[str, str]]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def test_the_static_export_redirects_alike_in_nginx(renamed: Path):
    with reachable_folder("syndicate-moves-") as folder:
        _redirects_alike(renamed, folder)


def _redirects_alike(renamed: Path, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    out = tmp_path / "out"
    subprocess.run(
        [sys.executable, "-m", "syndicate", "build", "--config", str(renamed), "--public-url",
         url, "--nginx-listen", f"127.0.0.1:{port}", str(out)],
        check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip
    lines = (out / "_redirects").read_text().splitlines()
    assert f"/topics/{OLD_TOPIC}/feed.atom {url}/topics/{NEW_TOPIC}/feed.atom 301" in lines
    assert f"/{OLD_TYPE}.rss {url}/{NEW_TYPE}.rss 301" in lines
    with (
        live_server(renamed, tmp_path / "service.log", SYNDICATE_PUBLIC_URL=url) as service,
        running_nginx(out / "_nginx.conf", tmp_path / "nginx", port) as nginx,
    ):
        for line in lines[1:]:
            former, target, _ = line.split()
            served, fields = get(service.url, former)
            exported, nginx_fields = get(nginx, former)
            assert served == exported == 301, former
            assert fields["location"] == nginx_fields["location"] == target, former
            assert nginx_fields["access-control-allow-origin"] == "*"


def wait_for(url: str, status: int) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                found = response.status
                if response.url != url:
                    found = 301
        except OSError:
            found = 0
        if found == status:
            return
        assert time.monotonic() < deadline, f"{url} never answered {status}"
        time.sleep(0.1)


def test_newsboat_and_feedparser_follow_a_renamed_topic_to_the_same_items(tmp_path: Path):
    need("newsboat")
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    with live_server(folder, tmp_path / "server.log") as live:
        old_url = f"{live.url}/topics/{OLD_TOPIC}/feed.atom"
        (tmp_path / "config").write_text("download-timeout 20\n")
        urls_file, cache = tmp_path / "urls", tmp_path / "cache.db"
        urls_file.write_text(old_url + "\n")
        newsboat(tmp_path, "-u", str(urls_file), "-c", str(cache), "-x", "reload")
        before = feedparser.parse(old_url)
        with sqlite3.connect(cache) as db:
            stored = sorted(row[0] for row in db.execute("select guid from rss_item"))
        assert stored and stored == sorted(e.id for e in before.entries)

        rename(folder)
        live.process.send_signal(signal.SIGHUP)  # reload (the test server does not watch)
        wait_for(old_url, 301)

        after = feedparser.parse(old_url)
        assert after.status == 301
        assert after.href == f"{live.url}/topics/{NEW_TOPIC}/feed.atom"
        assert [e.id for e in after.entries] == [e.id for e in before.entries]
        assert after.feed.id == before.feed.id
        newsboat(tmp_path, "-u", str(urls_file), "-c", str(cache), "-x", "reload")
        with sqlite3.connect(cache) as db:
            again = sorted(row[0] for row in db.execute("select guid from rss_item"))
            unread = db.execute("select count(*) from rss_item where unread = 1").fetchone()[0]
        assert again == stored  # the same items, none twice
        assert unread == len(stored)  # and nothing new to read (newsboat left them unread)
