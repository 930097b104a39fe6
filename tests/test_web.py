"""The HTTP service through aiohttp's test server: every point of the HTTP contract."""

from __future__ import annotations

import asyncio
import gzip
import logging
from email.utils import format_datetime, parsedate_to_datetime

import pytest
import pytest_asyncio

from syndicate.loader import load_catalog
from syndicate.render import FORMATS
from syndicate.settings import Settings
from syndicate.snapshot import build_snapshot
from tests.conftest import CONTENT
from tests.feedcheck import CHECKS

SNAPSHOT = build_snapshot(load_catalog(CONTENT))
FEEDS = sorted(p for p, r in SNAPSHOT.representations.items() if r.key is not None)
DOCUMENTS = sorted(p for p, r in SNAPSHOT.representations.items() if r.key is None)
MEDIA_TYPES = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
    "ics": "text/calendar",
    "fragment": "text/html",
    "frame": "text/html",
}


# One service for the whole module (building one per test cost a twentieth of a second,
# 500 times): its tests only read, and run on the module's event loop (`shared_loop`).
# Tests that count or change something start their own with `serve`.
shared_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client():
    from aiohttp.test_utils import RawTestServer, TestClient

    from syndicate.web import Service

    service = Service(Settings(config=CONTENT, watch=False, access_log=False))
    await service.start()
    server = RawTestServer(service.handle, **service.server_options())
    test_client = TestClient(server, headers={"Accept-Encoding": "identity"})
    await test_client.start_server()
    test_client.service = service  # type: ignore[attr-defined]
    yield test_client
    await test_client.close()
    await service.stop()


@shared_loop
@pytest.mark.parametrize("path", FEEDS)
async def test_every_feed_is_served_with_its_media_type_and_validators(client, path):
    response = await client.get(path)
    assert response.status == 200
    rep = SNAPSHOT.representations[path]
    body = await response.read()
    assert body == rep.body
    assert response.headers["Content-Type"] == f"{MEDIA_TYPES[rep.format]}; charset=utf-8"
    assert response.headers["ETag"] == rep.etag
    assert parsedate_to_datetime(response.headers["Last-Modified"]) == rep.last_modified
    assert response.headers["Cache-Control"] == (
        "public, max-age=86400, stale-while-revalidate=604800, stale-if-error=86400"
        if rep.key is not None and rep.key.page is not None  # an archive page
        else "public, max-age=300, stale-while-revalidate=60, stale-if-error=86400"
    )
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    link = response.headers["Link"]
    if FORMATS[rep.format].kind in ("feed", "calendar"):
        assert 'rel="self"' in link and 'rel="alternate"' in link
    else:  # a fragment or iframe page names the feed's formats, and is none of them
        assert 'rel="self"' not in link and 'rel="alternate"' in link
    CHECKS[rep.format](body)


@shared_loop
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
@pytest.mark.parametrize("path", FEEDS)
async def test_every_feed_answers_its_own_etag_with_304(client, path, encoding):
    """The 304 carries the validators a 200 in the same encoding would (RFC 9110 15.4.5):
    a gzip client that gets the identity ETag back revalidates the wrong representation."""
    asked = {"Accept-Encoding": encoding}
    first = await client.get(path, headers=asked, auto_decompress=False)
    assert first.headers.get("Content-Encoding", "identity") == encoding
    etag = first.headers["ETag"]
    response = await client.get(path, headers={**asked, "If-None-Match": etag})
    assert response.status == 304
    assert await response.read() == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Last-Modified"] == first.headers["Last-Modified"]
    archived = SNAPSHOT.representations[path].key.page is not None
    assert response.headers["Cache-Control"].startswith(
        "public, max-age=86400" if archived else "public, max-age=300"
    )
    assert response.headers["Vary"] == "Accept-Encoding"


@shared_loop
@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/feeds.opml", "text/x-opml; charset=utf-8"),
        ("/feeds.json", "application/json; charset=utf-8"),
    ],
)
async def test_discovery_documents_are_served(client, path, content_type):
    response = await client.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"] == content_type


@shared_loop
async def test_gzip_is_the_precompressed_body_with_its_own_etag(client):
    plain = await client.get("/feed.atom")
    response = await client.get(
        "/feed.atom", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    )
    assert response.headers["Content-Encoding"] == "gzip"
    raw = await response.read()
    assert raw == SNAPSHOT.representations["/feed.atom"].gzip_body
    assert gzip.decompress(raw) == await plain.read()
    assert response.headers["ETag"] != plain.headers["ETag"]
    assert response.headers["Vary"] == "Accept-Encoding"


@shared_loop
@pytest.mark.parametrize("accept", ["gzip;q=0", "identity", "br", "*;q=0", ""])
async def test_gzip_is_not_sent_when_not_accepted(client, accept):
    response = await client.get(
        "/feed.atom", headers={"Accept-Encoding": accept}, auto_decompress=False
    )
    assert "Content-Encoding" not in response.headers
    assert await response.read() == SNAPSHOT.representations["/feed.atom"].body


@shared_loop
@pytest.mark.parametrize("accept", ["gzip", "deflate, gzip;q=0.5", "*", "GZIP", "x-gzip"])
async def test_gzip_is_sent_when_accepted(client, accept):
    response = await client.get(
        "/feed.atom", headers={"Accept-Encoding": accept}, auto_decompress=False
    )
    assert response.headers.get("Content-Encoding") == "gzip"


@shared_loop
@pytest.mark.parametrize(
    "if_none_match",
    [
        "{etag}",
        "W/{etag}",
        '"other", {etag}',
        '"a", W/"b",{etag}  ',
        "*",
        "{gzip_etag}",  # a client that cached the other encoding
    ],
)
async def test_if_none_match_forms_give_304(client, if_none_match):
    rep = SNAPSHOT.representations["/feed.rss"]
    value = if_none_match.format(etag=rep.etag, gzip_etag=rep.gzip_etag)
    response = await client.get("/feed.rss", headers={"If-None-Match": value})
    assert response.status == 304


@shared_loop
async def test_a_stale_etag_gets_the_full_feed(client):
    response = await client.get("/feed.rss", headers={"If-None-Match": '"stale"'})
    assert response.status == 200


@shared_loop
async def test_if_none_match_takes_precedence_over_if_modified_since(client):
    rep = SNAPSHOT.representations["/feed.rss"]
    future = format_datetime(rep.last_modified.replace(year=2099), usegmt=True)
    response = await client.get(
        "/feed.rss", headers={"If-None-Match": '"stale"', "If-Modified-Since": future}
    )
    assert response.status == 200


@shared_loop
async def test_if_modified_since_at_or_after_last_modified_gives_304(client):
    last_modified = (await client.get("/feed.rss")).headers["Last-Modified"]
    assert (
        await client.get("/feed.rss", headers={"If-Modified-Since": last_modified})
    ).status == 304


@shared_loop
async def test_if_modified_since_before_last_modified_gives_200(client):
    response = await client.get(
        "/feed.rss", headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}
    )
    assert response.status == 200


@shared_loop
async def test_unparseable_if_modified_since_is_ignored(client):
    response = await client.get("/feed.rss", headers={"If-Modified-Since": "yesterday-ish"})
    assert response.status == 200


@shared_loop
async def test_head_has_headers_and_no_body(client):
    response = await client.head("/feed.atom")
    assert response.status == 200
    assert response.headers["Content-Length"] == str(
        len(SNAPSHOT.representations["/feed.atom"].body)
    )
    assert await response.read() == b""


@shared_loop
async def test_conditional_head_gives_304(client):
    etag = SNAPSHOT.representations["/feed.atom"].etag
    assert (await client.head("/feed.atom", headers={"If-None-Match": etag})).status == 304


@shared_loop
async def test_cors_preflight(client):
    response = await client.options(
        "/feed.json",
        headers={"Origin": "https://partner.example", "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "if-none-match"},
    )  # fmt: skip
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]


@shared_loop
async def test_cors_exposes_the_validators(client):
    response = await client.get("/feed.json", headers={"Origin": "https://partner.example"})
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]


@shared_loop
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_other_methods_get_405_with_allow(client, method):
    response = await client.request(method, "/feed.atom")
    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert "use GET or HEAD" in await response.text()


@shared_loop
@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
async def test_operations_endpoints_refuse_other_methods(client, path):
    response = await client.post(path)
    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD"


@shared_loop
@pytest.mark.parametrize(
    ("path", "explanation"),
    [
        (
            "/topics/nope/feed.atom",
            "There is no topic 'nope'. Topics: harm-reduction, drug-policy.",
        ),
        (
            "/topics/harm-reduction/podcasts.rss",
            "There is no content type 'podcasts'. Types: events, voices.",
        ),
        ("/podcasts.rss", "There is no content type 'podcasts'. Types: events, voices."),
        (
            "/voices/upcoming.atom",
            "Only feeds that hold events have upcoming views; 'voices' items are not events.",
        ),
        (
            "/feed.xml",
            "There is no '.xml' format. Feeds come as .atom (Atom), .rss (RSS), .json (JSON Feed); "
            "event feeds also as .ics (iCalendar); every feed also as .html (HTML fragment), "
            "to include in a page.",
        ),
        ("/wp-admin/", "Nothing is published at /wp-admin/."),
        ("/feed.atom/", "Nothing is published at /feed.atom/."),
    ],
)
async def test_unknown_paths_get_a_helpful_404(client, path, explanation):
    response = await client.get(path)
    assert response.status == 404
    text = await response.text()
    assert explanation in text
    assert "https://feeds.example.org/feeds.opml" in text
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


@shared_loop
async def test_404_does_not_echo_control_characters_or_huge_paths(client):
    response = await client.get("/" + "a" * 3000 + "%01")
    assert response.status == 404
    text = await response.text()
    assert "\x01" not in text and len(text) < 1000


@shared_loop
@pytest.mark.parametrize("query", ["%zz", "a=%e2%28%a1", "a=%0a"])
async def test_malformed_query_strings_get_400_saying_what_is_allowed(client, query):
    from yarl import URL

    response = await client.get(URL(f"/feed.atom?{query}", encoded=True))
    assert response.status == 400
    text = await response.text()
    assert "Feeds take no query parameters" in text


@shared_loop
async def test_unknown_query_parameters_are_ignored(client):
    response = await client.get("/feed.atom?utm_source=x&_=1700000000")
    assert response.status == 200


async def raw_request(client, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(data)
    await writer.drain()
    response = await asyncio.wait_for(reader.read(4096), timeout=5)
    writer.close()
    return response


@shared_loop
async def test_oversized_request_line_is_refused_with_4xx(client):
    response = await raw_request(client, b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    status = int(response.split(b" ", 2)[1])
    assert 400 <= status < 500
    assert b"Traceback" not in response


@shared_loop
async def test_oversized_header_is_refused_with_4xx(client):
    response = await raw_request(
        client, b"GET /feed.atom HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 10_000 + b"\r\n\r\n"
    )
    status = int(response.split(b" ", 2)[1])
    assert 400 <= status < 500
    assert b"Traceback" not in response


@shared_loop
@pytest.mark.parametrize(
    "data",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /feed.atom HTTP/9.9\r\n\r\n",
        b"GET feed.atom HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /feed.atom HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"\x00\x01\x02\r\n\r\n",
    ],
)
async def test_malformed_requests_get_a_4xx_never_a_500_or_a_traceback(client, data):
    response = await raw_request(client, data)
    assert response, "the connection was closed without a reply"
    status = int(response.split(b" ", 2)[1])
    assert 400 <= status < 500
    assert b"Traceback" not in response


@shared_loop
async def test_malformed_requests_are_logged_as_one_line_not_an_error(client, caplog):
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    await raw_request(client, b"GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n")
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert records and all(r.levelno == logging.INFO and not r.exc_info for r in records)
    assert "refused a malformed request" in records[0].getMessage()


@shared_loop
async def test_healthz_reports_snapshot_and_counts(client):
    response = await client.get("/healthz")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    health = await response.json()
    assert health["status"] == "ok"
    assert health["snapshot"]["version"] == SNAPSHOT.version
    assert health["snapshot"]["age_seconds"] >= 0
    assert health["counts"] == {
        "types": 2, "topics": 2, "items": 10, "withdrawn": 3, "representations": 2 + 3 + 3 * 9 + 6 + 4 * 2 * 6 + 5 + 3 + 2 * (9 + 2 * 6) + 3 + 2 + 3 * 8 + 2 + 1,
            # + calendars; + 2 views of 6, 4 formats; + 5 events' calendar files; + the embed
            # script, its loader and stylesheet; + an HTML fragment and an iframe page of
            # every feed and view; + the pages' stylesheet, script and icon; + 2 topic pages;
            # + 8 archive pages (feed_size 4) in Atom, RSS and JSON Feed; + /developers/ and
            # /robots.txt
    }  # fmt: skip
    assert health["last_reload_error"] is None


async def test_metrics_count_requests_304s_bytes_and_builds(serve):
    client = await serve(Settings(config=CONTENT, watch=False, access_log=False))  # counts 0
    etag = SNAPSHOT.representations["/feed.atom"].etag
    await client.get("/feed.atom")
    await client.get("/feed.atom", headers={"If-None-Match": etag})
    await client.get("/nope")
    text = await (await client.get("/metrics")).text()
    assert 'syndicate_http_requests_total{route="feed",status="200"} 1.0' in text
    assert 'syndicate_http_requests_total{route="feed",status="304"} 1.0' in text
    assert 'syndicate_http_requests_total{route="not_found",status="404"} 1.0' in text
    assert "syndicate_http_not_modified_ratio 0.5" in text
    size = len(SNAPSHOT.representations["/feed.atom"].body)
    assert f'syndicate_http_response_bytes_total{{route="feed"}} {float(size)}' in text
    assert "syndicate_snapshot_build_seconds_count 1.0" in text
    assert 'syndicate_reloads_total{result="ok"} 1.0' in text


async def test_max_age_setting_agrees_with_rss_ttl(serve):
    client = await serve(Settings(config=CONTENT, watch=False, max_age=600))
    response = await client.get("/feed.rss")
    assert response.headers["Cache-Control"].startswith("public, max-age=600,")
    channel = CHECKS["rss"](await response.read())
    assert channel.findtext("ttl") == "10"
    sy = "{http://purl.org/rss/1.0/modules/syndication/}"
    assert (channel.findtext(f"{sy}updatePeriod"), channel.findtext(f"{sy}updateFrequency")) == (
        "hourly",
        "6",
    )


async def test_public_url_setting_rewrites_self_links(serve):
    client = await serve(
        Settings(config=CONTENT, watch=False, public_url="https://elsewhere.example.net/feeds")
    )
    body = await (await client.get("/feed.json")).json()
    assert body["feed_url"] == "https://elsewhere.example.net/feeds/feed.json"


async def test_a_format_that_applies_only_to_some_feeds_is_left_out_of_the_others(
    serve, monkeypatch
):
    """The registry's extension point (for formats such as iCalendar, events only)."""
    from syndicate.render import FORMATS, Format

    only_events = Format(
        "text", "txt", "text/plain", lambda view: view.title.encode(), label="Text",
        applies_to=lambda key, catalog: key.type == "events",
    )  # fmt: skip
    monkeypatch.setitem(FORMATS, "text", only_events)
    client = await serve(Settings(config=CONTENT, watch=False, access_log=False))
    assert (await client.get("/topics/harm-reduction/events.txt")).status == 200
    response = await client.get("/voices.txt")
    assert response.status == 404
    assert "This feed has no Text format." in await response.text()
