"""The embed's fediverse line (`<syndicate-feed follow>`) in a real browser, on a partner's
page: the handle of the feed's topic, which WebFinger then finds, a copy button, its space
reserved before the script runs, and no accessibility violation."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest

from tests.browser import accessibility_violations, wait_for
from tests.conftest import CONTENT
from tests.live import LiveServer, live_server
from tests.test_embed_browser import LOADED, SHADOW, late_script_page, snippet


@pytest.fixture(scope="module")
def federating(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("embed-follow")
    shutil.copytree(CONTENT, folder / "content")
    with live_server(folder / "content", folder / "service.log", SYNDICATE_FEDIVERSE="true",
                     SYNDICATE_STATE_DIR=str(folder / "state")) as live:  # fmt: skip
        yield live


def test_the_embed_shows_the_topic_s_handle_which_webfinger_finds(federating, partner, page):
    src = f"{federating.url}/topics/harm-reduction/events.json"
    page.get(partner.page("/follow.html", snippet(federating.url, src, "follow")))
    wait_for(page, LOADED)
    line = f"{SHADOW}.querySelector('[part~=follow]')"
    handle = page.execute_script(
        f"return {line}.querySelector('[part~=follow-handle]').textContent"
    )
    assert handle == f"@harm-reduction@{urlsplit(federating.url).netloc}"
    assert page.execute_script(f"return {line}.querySelector('button').textContent") == "Copy"
    resource = quote(f"acct:{handle.removeprefix('@')}")
    with urllib.request.urlopen(
        f"{federating.url}/.well-known/webfinger?resource={resource}", timeout=5
    ) as answer:
        found = json.load(answer)
    assert found["subject"] == f"acct:{handle.removeprefix('@')}"
    assert accessibility_violations(page) == []


def test_a_site_wide_feed_gives_the_site_s_handle(federating, partner, page):
    src = f"{federating.url}/feed.json"
    page.get(partner.page("/follow-all.html", snippet(federating.url, src, "follow")))
    wait_for(page, LOADED)
    handle = page.execute_script(
        f"return {SHADOW}.querySelector('[part~=follow-handle]').textContent"
    )
    assert handle == f"@everything@{urlsplit(federating.url).netloc}"


def test_the_follow_line_s_space_is_reserved_before_the_script_runs(federating, partner, page):
    src = f"{federating.url}/topics/harm-reduction/feed.json"
    body = late_script_page(federating.url, src, True, 'limit="3" follow')
    page.get(partner.page("/follow-late.html", body))
    wait_for(page, LOADED)
    page.execute_script("return new Promise((done) => setTimeout(done, 300))")
    assert page.execute_script("return window.__cls") == 0
