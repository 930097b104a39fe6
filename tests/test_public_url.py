"""The public URL: links name where the service is reached, and `build` must be told it.

Precedence (README, "URL scheme"): --public-url / SYNDICATE_PUBLIC_URL, then the site's
`feeds_url`, then the address `serve` listens on.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from xml.etree import ElementTree

import pytest

from syndicate.build import NoPublicURL, public_url
from syndicate.loader import load_catalog
from syndicate.settings import Settings
from tests.conftest import CONTENT
from tests.live import ROOT, live_server

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def unpinned(tmp_path: Path) -> Path:
    """The tests' content with no `feeds_url`, as the sample ships."""
    config = tmp_path / "content"
    shutil.copytree(CONTENT, config)
    site = config / "site.yaml"
    text = site.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines(keepends=True) if "feeds_url:" not in line]
    assert len(lines) == len(text.splitlines()) - 1
    site.write_text("".join(lines), encoding="utf-8")
    return config


def fetch(url: str) -> tuple[bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return bytes(response.read()), dict(response.headers)


def links_in_every_place(base: str) -> list[str]:
    """Every absolute link a client follows: Atom self, RSS atom:link, JSON feed_url, the Link
    header, OPML xmlUrl, feeds.json urls, the feeds page's autodiscovery links."""
    found: list[str] = []
    atom, headers = fetch(base + "/topics/harm-reduction/voices.atom")
    root = ElementTree.fromstring(atom)
    found += [link.get("href", "") for link in root.findall(f"{ATOM}link[@rel='self']")]
    found += re.findall(r"<([^>]+)>", headers["Link"])
    rss, _ = fetch(base + "/feed.rss")
    found += [link.get("href", "") for link in ElementTree.fromstring(rss).iter(f"{ATOM}link")]
    found.append(json.loads(fetch(base + "/feed.json")[0])["feed_url"])
    opml, _ = fetch(base + "/feeds.opml")
    found += [o.get("xmlUrl", "") for o in ElementTree.fromstring(opml).iter("outline")
              if o.get("xmlUrl")]  # fmt: skip
    found += [feed["url"] for feed in json.loads(fetch(base + "/feeds.json")[0])["feeds"]]
    page, _ = fetch(base + "/")
    found += re.findall(r'<link rel="alternate"[^>]*href="([^"]+)"', page.decode())
    return found


def test_with_no_public_url_links_name_the_port_served(unpinned, tmp_path):
    with live_server(unpinned, tmp_path / "log", SYNDICATE_PUBLIC_URL="") as live:
        port = live.url.rsplit(":", 1)[1]
        assert port != "8080"
        links = links_in_every_place(live.url)
        assert len(links) > 20
        assert [link for link in links if not link.startswith(live.url + "/")] == []
        log = live.log.read_text()
        assert f"public URL {live.url} (from the address served" in log


def test_the_public_url_setting_wins_over_the_address_and_feeds_url(tmp_path):
    elsewhere = "https://elsewhere.example.net/feeds"
    with live_server(CONTENT, tmp_path / "log", SYNDICATE_PUBLIC_URL=elsewhere) as live:
        links = links_in_every_place(live.url)
        assert [link for link in links if not link.startswith(elsewhere + "/")] == []
        assert f"public URL {elsewhere} (from --public-url" in live.log.read_text()


def test_port_0_serves_on_a_free_port_and_links_name_it(unpinned, tmp_path):
    log = tmp_path / "log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SYNDICATE_WATCH": "false"}
    env.pop("SYNDICATE_PUBLIC_URL", None)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "syndicate", "serve", "--config", str(unpinned), "--port", "0"],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not (found := re.search(r"on (http://127\.0\.0\.1:(\d+))/", log.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        url = found[1]
        assert found[2] != "0"
        body = json.loads(fetch(url + "/feed.json")[0])
        assert body["feed_url"] == url + "/feed.json"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SYNDICATE_PUBLIC_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "syndicate", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_build_without_a_public_url_is_a_usage_error_naming_the_option(unpinned, tmp_path):
    result = run("build", "--config", str(unpinned), str(tmp_path / "out"))
    assert result.returncode == 2
    assert "--public-url" in result.stderr and "SYNDICATE_PUBLIC_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_build_with_a_public_url_writes_links_below_it(unpinned, tmp_path):
    result = run(
        "build", "--config", str(unpinned), "--public-url", "https://feeds.example.net/",
        str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body = json.loads((tmp_path / "out" / "feed.json").read_bytes())
    assert body["feed_url"] == "https://feeds.example.net/feed.json"


def test_a_public_url_that_is_not_http_is_a_usage_error(unpinned, tmp_path):
    result = run("build", "--config", str(unpinned), "--public-url", "feeds.example.net", "out")
    assert result.returncode == 2
    assert "--public-url 'feeds.example.net': expected an absolute http(s) URL" in result.stderr


@pytest.mark.parametrize(
    ("setting", "served", "expected"),
    [
        ("https://a.example", "http://127.0.0.1:1", "https://a.example"),
        (None, "http://127.0.0.1:1", "https://feeds.example.org"),  # the content's feeds_url
    ],
)
def test_public_url_precedence(setting, served, expected):
    site = load_catalog(CONTENT).site
    settings = Settings(config=CONTENT, public_url=setting, served_url=served)
    assert public_url(settings, site)[0] == expected


def test_the_served_address_is_the_last_resort(unpinned):
    site = load_catalog(unpinned).site
    assert public_url(Settings(served_url="http://[::1]:9"), site)[0] == "http://[::1]:9"
    with pytest.raises(NoPublicURL):
        public_url(Settings(), site)
