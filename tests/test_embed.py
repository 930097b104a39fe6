"""The embed script over HTTP: a stable URL importing an immutable hashed one, within its
size budget, with the same contract as every representation (ETag, 304, gzip, CORS)."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest

from syndicate.settings import Settings
from tests.conftest import CONTENT

SCRIPT = Path(__file__).resolve().parent.parent / "syndicate" / "static" / "embed.js"
BUDGET = 6 * 1024  # bytes, gzipped: what partners' pages pay


@pytest.fixture
async def client(serve):
    return await serve(Settings(config=CONTENT, watch=False, access_log=False))


async def hashed_path(client) -> str:
    loader = await (await client.get("/embed/v1.js")).text()
    match = re.fullmatch(r'import "\./(v1\.[A-Za-z0-9_-]{10}\.js)";\n', loader)
    assert match, loader
    return "/embed/" + match[1]


async def test_the_stable_url_imports_the_script_by_its_content_hash(client):
    path = await hashed_path(client)
    response = await client.get(path)
    assert response.status == 200
    assert await response.read() == SCRIPT.read_bytes()
    import base64

    digest = base64.urlsafe_b64encode(hashlib.sha256(SCRIPT.read_bytes()).digest()).decode()
    assert path == f"/embed/v1.{digest[:10]}.js"


async def test_the_hashed_script_is_cached_for_a_year_as_immutable(client):
    response = await client.get(await hashed_path(client))
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_the_stable_url_is_cached_an_hour_so_fixes_reach_partners(client):
    response = await client.get("/embed/v1.js")
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    cache = response.headers["Cache-Control"]
    assert "max-age=3600" in cache and "immutable" not in cache


async def test_the_stylesheet_is_served_as_css_with_the_stable_policy(client):
    response = await client.get("/embed/v1.css")
    assert response.headers["Content-Type"] == "text/css; charset=utf-8"
    assert "max-age=3600" in response.headers["Cache-Control"]
    css = await response.text()
    for limit in range(1, 51):  # every limit the script accepts has its reserved height
        assert f'syndicate-feed[limit="{limit}"]{{--_rows:{limit}}}' in css


async def test_feeds_keep_their_own_cache_policy(client):
    response = await client.get("/feed.atom")
    assert response.headers["Cache-Control"].startswith("public, max-age=300,")


@pytest.mark.parametrize("stable", [True, False])
async def test_the_scripts_answer_conditional_requests(client, stable):
    path = "/embed/v1.js" if stable else await hashed_path(client)
    first = await client.get(path)
    again = await client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304


async def test_the_script_is_gzipped_within_its_budget(client):
    response = await client.get(await hashed_path(client), headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    body = await response.read()  # aiohttp decodes it; measure what travels
    size = len(gzip.compress(body, compresslevel=6, mtime=0))
    assert size < BUDGET, f"{size} bytes gzipped"


def test_the_script_never_uses_eval_inline_styles_or_html_sinks():
    source = SCRIPT.read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "setAttribute(\"style\"", ".style.", "localStorage",
                 "sessionStorage", "document.cookie", "indexedDB"):  # fmt: skip
        assert sink not in source, sink
