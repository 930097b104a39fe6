"""nginx as a caching proxy in front of the workers, with the configuration
`syndicate nginx-config` prints, used as it is.

Real nginx and a real pool of two workers on loopback; max-age 2 s so expiry and
revalidation happen within a test. What is compared is what a client gets from the
service directly against what it gets through the cache. Bounded: a few hundred requests.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from syndicate.conditional import accepts_gzip
from tests.conftest import CONTENT
from tests.live import ROOT, LiveServer, free_port, live_pool, owned_by
from tests.nginx import NGINX_USER, SERVICE_USER, reachable_folder, running_nginx, self_signed

TLS_HOST = "feeds.example.org"

MAX_AGE = 2
# nginx keeps time in whole seconds and expires an entry once its validity has passed: an
# entry with max-age 2 may be fresh for up to 3 s. Waits past max-age add this.
EXPIRY_SLACK = 1.5
# Hop-by-hop fields, and those each server writes for itself.
OWN_HEADERS = {"date", "server", "connection", "keep-alive", "transfer-encoding", "x-cache-status"}


@dataclass
class Tier:
    service: LiveServer
    nginx: str
    content: Path


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def cache(self) -> str:
        return self.headers.get("x-cache-status", "")


def request(url: str, path: str, **headers: str) -> Answer:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "identity", **headers})
        response = conn.getresponse()
        body = response.read()
        fields = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, fields, body)
    finally:
        conn.close()


def shared(answer: Answer) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k not in OWN_HEADERS}


def served_by_workers(tier: Tier, route: str = "feed", status: int = 200) -> float:
    """How many such responses the workers have sent (their /metrics, asked directly)."""
    time.sleep(1.2)  # the pool's counters are a heartbeat behind
    text = request(tier.service.url, "/metrics").body.decode()
    pattern = rf'^syndicate_http_requests_total{{route="{route}",status="{status}"}} (\S+)$'
    match = re.search(pattern, text, re.M)
    return float(match.group(1)) if match else 0.0


@pytest.fixture
def tier() -> Iterator[Tier]:
    yield from tier_with(MAX_AGE)


@pytest.fixture
def lasting_tier() -> Iterator[Tier]:
    """A tier whose entries stay fresh for the whole test (max-age 5 minutes)."""
    yield from tier_with(300)


@pytest.fixture
def federating_tier() -> Iterator[Tier]:
    """A tier in front of workers that make topics followable from the fediverse."""
    yield from tier_with(300, state=True, SYNDICATE_FEDIVERSE="true")


@pytest.fixture
def stats_tier() -> Iterator[Tier]:
    """A tier in front of workers with the operators' stats."""
    yield from tier_with(300, state=True, SYNDICATE_ADMIN_PASSWORD=STATS_PASSWORD)


STATS_PASSWORD = "an operators' password"


def tier_with(max_age: int, state: bool = False, tls: bool = False, **env: str) -> Iterator[Tier]:
    """nginx with `syndicate nginx-config`'s configuration (`tls`: with --tls, a self-signed
    certificate for feeds.example.org) in front of a pool of two workers, run as Debian runs
    them: nginx's workers as www-data, the service as a user of its own; `state`: with a
    state folder (the service's)."""
    with reachable_folder("syndicate-tier-") as folder:
        content = folder / "content"
        shutil.copytree(CONTENT, content)
        if state:
            env["SYNDICATE_STATE_DIR"] = str(owned_by(folder / "state", SERVICE_USER))
        port, tls_port = free_port(), free_port()
        nginx_url = f"https://127.0.0.1:{tls_port}" if tls else f"http://127.0.0.1:{port}"
        with live_pool(content, folder / "service.log", 2, as_user=SERVICE_USER,
                       SYNDICATE_MAX_AGE=str(max_age), SYNDICATE_STALE_WHILE_REVALIDATE="30",
                       SYNDICATE_STALE_IF_ERROR="3600", SYNDICATE_PUBLIC_URL=nginx_url,
                       SYNDICATE_WATCH="true", **env) as service:  # fmt: skip
            upstream = service.url.removeprefix("http://")
            options = ["--upstream", upstream, "--listen", f"127.0.0.1:{port}",
                       "--cache-dir", str(owned_by(folder / "cache", NGINX_USER))]  # fmt: skip
            if tls:
                certificate, key = self_signed(folder / "tls", TLS_HOST)
                options += ["--tls", "--tls-listen", f"127.0.0.1:{tls_port}",
                            "--server-name", TLS_HOST, "--certificate", str(certificate),
                            "--certificate-key", str(key),
                            "--acme-root", str(folder / "acme")]  # fmt: skip
            include = folder / "syndicate-nginx.conf"
            generated = subprocess.run(
                [sys.executable, "-m", "syndicate", "nginx-config", *options],
                capture_output=True, text=True, check=True, cwd=ROOT,
            )  # fmt: skip
            include.write_text(generated.stdout)
            with running_nginx(include, folder / "nginx", port) as url:
                yield Tier(service, nginx_url if tls else url, content)


def sample_paths(tier: Tier) -> list[str]:
    feeds = request(tier.service.url, "/feeds.json")

    listed = [urllib.parse.urlsplit(f["url"]).path for f in json.loads(feeds.body)["feeds"]]
    return sorted(set(listed[:40]) | {"/", "/feeds.opml", "/embed/v1.js", "/embed/v1.css"})


def test_through_the_cache_every_representation_has_the_service_bytes_and_headers(tier: Tier):
    for path in sample_paths(tier):
        for encoding in ("identity", "gzip"):
            direct = request(tier.service.url, path, **{"Accept-Encoding": encoding})
            first = request(tier.nginx, path, **{"Accept-Encoding": encoding})
            again = request(tier.nginx, path, **{"Accept-Encoding": encoding})
            assert direct.status == first.status == again.status == 200, path
            assert first.body == again.body == direct.body, (path, encoding)
            assert shared(first) == shared(again) == shared(direct), (path, encoding)
            assert (first.cache, again.cache) == ("MISS", "HIT"), (path, encoding)


def test_a_cached_feed_is_not_asked_of_the_workers_again(tier: Tier):
    request(tier.nginx, "/feed.atom")
    before = served_by_workers(tier)
    for _ in range(20):
        assert request(tier.nginx, "/feed.atom").cache == "HIT"
    assert served_by_workers(tier) == before


ACCEPT_ENCODINGS = [
    "gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "GZIP", "x-gzip", "gzip;q=0",
    "gzip; q=0.000", "gzip;q=0.001", "*", "*;q=0", "*;q=0.5", "gzip;q=0, *", "*;q=0, gzip",
    "identity", "deflate", "br", "",
]  # fmt: skip


def test_gzip_is_negotiated_as_the_service_does_and_kept_apart_from_identity(
    lasting_tier: Tier,
):
    tier = lasting_tier  # one tier for the whole table (one per case cost 1.5 s each)
    request(tier.nginx, "/feed.rss", **{"Accept-Encoding": "gzip"})  # both entries exist
    request(tier.nginx, "/feed.rss", **{"Accept-Encoding": "identity"})
    for accept_encoding in ACCEPT_ENCODINGS:
        through = request(tier.nginx, "/feed.rss", **{"Accept-Encoding": accept_encoding})
        direct = request(tier.service.url, "/feed.rss", **{"Accept-Encoding": accept_encoding})
        gzipped = through.headers.get("content-encoding") == "gzip"
        assert gzipped == accepts_gzip(accept_encoding), accept_encoding
        assert through.body == direct.body, accept_encoding
        assert through.headers["etag"] == direct.headers["etag"], accept_encoding
        assert through.cache == "HIT", accept_encoding


def test_well_formed_query_strings_share_the_entry_of_their_path(tier: Tier):
    plain = request(tier.nginx, "/feed.json")
    for query in ("?utm_source=x", "?t=1732600000", "?a=%20b&c=d+e"):
        answer = request(tier.nginx, "/feed.json" + query)
        assert answer.status == 200 and answer.body == plain.body
        assert answer.cache == "HIT", query


def test_a_malformed_query_reaches_a_worker_and_gets_its_400(tier: Tier):
    request(tier.nginx, "/feed.json")  # cached without a query
    for query in ("?x=%zz", "?x=%01", "?x=%ff"):
        answer = request(tier.nginx, "/feed.json" + query)
        assert answer.status == 400, query
        assert b"query string is malformed" in answer.body
        assert answer.cache == "BYPASS"


def test_conditional_requests_are_answered_304_from_the_cache(tier: Tier):
    first = request(tier.nginx, "/feed.atom")
    before = served_by_workers(tier, status=304)
    again = request(tier.nginx, "/feed.atom", **{"If-None-Match": first.headers["etag"]})
    assert again.status == 304 and again.headers["etag"] == first.headers["etag"]
    since = request(
        tier.nginx, "/feed.atom", **{"If-Modified-Since": first.headers["last-modified"]}
    )
    assert since.status == 304
    assert served_by_workers(tier, status=304) == before


def test_after_max_age_the_cache_revalidates_with_the_workers_validators(tier: Tier):
    first = request(tier.nginx, "/feed.atom")
    before = served_by_workers(tier, status=304)
    time.sleep(MAX_AGE + EXPIRY_SLACK)
    stale = request(tier.nginx, "/feed.atom")  # within stale-while-revalidate
    assert stale.body == first.body and stale.cache in ("STALE", "UPDATING", "REVALIDATED")
    assert served_by_workers(tier, status=304) == before + 1  # asked with If-None-Match
    assert request(tier.nginx, "/feed.atom").cache == "HIT"  # fresh again


def test_with_every_worker_stopped_cached_feeds_are_still_served(tier: Tier):
    paths = ["/feed.atom", "/feed.rss", "/feed.json"]
    cached = {path: request(tier.nginx, path) for path in paths}
    tier.service.process.terminate()
    assert tier.service.process.wait(timeout=20) == 0
    time.sleep(MAX_AGE + EXPIRY_SLACK)  # past max-age: only stale-if-error allows them now
    for path in paths:
        for _ in range(3):
            answer = request(tier.nginx, path)
            assert answer.status == 200 and answer.body == cached[path].body, path
            assert answer.cache in ("STALE", "UPDATING")  # a stale copy, as the workers allow
            assert shared(answer) == shared(cached[path])
    assert request(tier.nginx, "/never-cached.atom").status in (502, 504)


def test_an_edit_reaches_clients_through_the_cache_after_max_age(tier: Tier):
    request(tier.nginx, "/feed.atom")
    site = tier.content / "site.yaml"
    site.write_text(site.read_text().replace("title: ", "title: Edited ", 1))
    deadline = time.monotonic() + 20
    while b"Edited " not in request(tier.nginx, "/feed.atom").body:
        assert time.monotonic() < deadline, "the edit never came through the cache"
        time.sleep(0.3)


AP = "application/activity+json"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_s_redirect_is_never_served_to_a_fediverse_server(federating_tier: Tier):
    path = "/ap/actors/harm-reduction"
    for _ in range(2):  # the second time from the cache, each to its own kind of client
        browser = request(federating_tier.nginx, path, Accept=BROWSER)
        server = request(federating_tier.nginx, path, Accept=AP)
        assert browser.status == 302 and browser.headers["location"].endswith(
            "/topics/harm-reduction/"
        )
        assert server.status == 200 and server.headers["content-type"].startswith(AP)
        assert json.loads(server.body)["preferredUsername"] == "harm-reduction"
    assert (browser.cache, server.cache) == ("HIT", "HIT")


def test_webfinger_answers_each_resource_through_the_cache(federating_tier: Tier):
    host = urllib.parse.urlsplit(federating_tier.nginx).netloc
    for _ in range(2):
        for handle in ("harm-reduction", "drug-policy", "everything"):
            answer = request(
                federating_tier.nginx, f"/.well-known/webfinger?resource=acct:{handle}@{host}"
            )
            assert answer.status == 200
            assert json.loads(answer.body)["subject"] == f"acct:{handle}@{host}"
    assert answer.cache == "HIT"
    missing = request(federating_tier.nginx, f"/.well-known/webfinger?resource=acct:nobody@{host}")
    assert missing.status == 404


def test_a_stats_url_through_the_tier_is_never_served_from_its_cache(stats_tier: Tier):
    for _ in range(2):
        signed_out = request(stats_tier.nginx, "/stats/")
        assert signed_out.status == 303 and signed_out.cache in ("", "BYPASS")
    parts = urllib.parse.urlsplit(stats_tier.nginx)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        body = urllib.parse.urlencode({"password": STATS_PASSWORD})
        conn.request("POST", "/stats/sign-in", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Origin": stats_tier.nginx})  # fmt: skip
        response = conn.getresponse()
        response.read()
        assert response.status == 303
        cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    finally:
        conn.close()
    for _ in range(2):
        signed_in = request(stats_tier.nginx, "/stats/", Cookie=cookie)
        assert signed_in.status == 200 and b"Reach by topic" in signed_in.body
        assert signed_in.cache in ("", "BYPASS")
    again = request(stats_tier.nginx, "/stats/")  # signed out again: not the page just seen
    assert again.status == 303 and b"Reach by topic" not in again.body


def request_from(source: str, url: str, path: str) -> Answer:
    """GET `path` from a connection whose own address is `source` (another loopback address:
    to nginx, a client that is not this machine's 127.0.0.1)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=10, source_address=(source, 0)
    )
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        fields = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, fields, response.read())
    finally:
        conn.close()


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_the_operators_paths_answer_this_machine_only_and_are_never_cached(
    lasting_tier: Tier, path: str
):
    for _ in range(2):
        local = request(lasting_tier.nginx, path)
        assert local.status == 200 and local.cache == "BYPASS"
    other = request_from("127.0.0.2", lasting_tier.nginx, path)
    assert other.status == 403
    assert b"pid" not in other.body and b"syndicate_" not in other.body
    feed = request_from("127.0.0.2", lasting_tier.nginx, "/feed.atom")
    assert feed.status == 200  # everything else is public


@pytest.fixture
def tls_tier() -> Iterator[Tier]:
    yield from tier_with(300, tls=True)


def secure(tier: Tier, path: str, **headers: str) -> Answer:
    """GET over https, trusting the tier's own certificate, with SNI and Host its name."""
    parts = urllib.parse.urlsplit(tier.nginx)
    folder = tier.content.parent / "tls"
    context = ssl.create_default_context(cafile=str(folder / "fullchain.pem"))
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=10, context=context)
    try:
        conn.request(
            "GET", path, headers={"Accept-Encoding": "identity", "Host": TLS_HOST, **headers}
        )
        response = conn.getresponse()
        fields = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, fields, response.read())
    finally:
        conn.close()


def http_side(tier: Tier) -> str:
    """The tier's http address (the one that redirects), from its generated configuration."""
    conf = (tier.content.parent / "syndicate-nginx.conf").read_text()
    return "http://" + re.findall(r"(?m)^    listen (127\.0\.0\.1:\d+);$", conf)[0]


def test_over_https_the_tier_serves_the_service_s_bytes_with_hsts(tls_tier: Tier):
    direct = request(tls_tier.service.url, "/feed.atom")
    served = secure(tls_tier, "/feed.atom")
    assert served.status == 200 and served.body == direct.body
    assert served.headers["etag"] == direct.headers["etag"]
    assert served.headers["strict-transport-security"] == "max-age=31536000"
    assert secure(tls_tier, "/feed.atom").cache == "HIT"


def test_over_http_everything_is_redirected_to_https_without_hsts(tls_tier: Tier):
    for path in ("/feed.atom", "/topics/harm-reduction/feed.atom?utm_source=x", "/healthz"):
        answer = request(http_side(tls_tier), path, Host=TLS_HOST)
        assert answer.status == 301
        assert answer.headers["location"] == f"https://{TLS_HOST}{path}"
        assert "strict-transport-security" not in answer.headers  # RFC 6797 7.2: https only


def test_certbot_s_challenges_are_served_over_http_from_the_webroot(tls_tier: Tier):
    acme = tls_tier.content.parent / "acme" / ".well-known" / "acme-challenge"
    acme.mkdir(parents=True)
    (acme / "a-token").write_text("a-token.thumbprint")
    (acme / "a-token").chmod(0o644)
    for part in (acme.parent.parent, acme.parent, acme):
        part.chmod(0o755)
    answer = request(http_side(tls_tier), "/.well-known/acme-challenge/a-token", Host=TLS_HOST)
    assert answer.status == 200 and answer.body == b"a-token.thumbprint"
