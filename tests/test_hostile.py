"""Hostile content: whatever an editor writes and the loader accepts, every format stays valid.

Items are generated as YAML (through `yaml.safe_dump`, so control characters arrive as
YAML escapes, as an editor could write them), loaded by the real loader, rendered in every
format and checked with real parsers. `make test` runs 500 examples; `make test-slow` more.
"""

from __future__ import annotations

import json
import os
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import feedparser
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicate import archives, discovery, pages
from syndicate.feeds import feed_view
from syndicate.loader import load_catalog
from syndicate.problems import ContentError
from syndicate.render import FORMATS
from syndicate.urls import FeedKey
from tests.conftest import MINIMAL, write_config
from tests.feedcheck import CHECKS, check_page

EXAMPLES = int(os.environ.get("SYNDICATE_HYPOTHESIS_EXAMPLES", "500"))

NASTY = [
    "&", "&amp;", "&#0;", "&bogus;", "<", ">", "]]>", "<![CDATA[", "<script>alert(1)</script>",
    "\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\x7f", "\x85", "\x9f", "\ufffe", "\uffff",
    "\u2028", "\u202e", "\u200f", "\ufeff", "😀", "👩🏽‍⚕️", "مرحبا بالعالم", "שלום", "日本語",
    '"', "'", "\\", "\n", "\r\n", "\t", " ", "javascript:alert(1)", "%00", "{{x}}", "e\u0301",
]  # fmt: skip
NASTY_HTML = [
    '<a href="javascript:alert(1)">x</a>', '<a href="/relative?a=1&b=2">rel</a>',
    '<p onclick="steal()">p</p>', "<iframe src=https://evil.example></iframe>",
    "<img src=x onerror=alert(1)>", "<style>*{display:none}</style>", "<object data=x></object>",
    "<form action=x><input name=y></form>", "<b>unclosed", "</p></div>", "<!-- c -->",
    '<a title="]]>" href="https://example.org/?q=]]>">t</a>', "<svg onload=alert(1)>",
    '<a href="data:text/html,<script>alert(1)</script>">d</a>', "<ul><li>one<li>two</ul>",
]  # fmt: skip

pieces = st.one_of(st.sampled_from(NASTY), st.text(max_size=15))
hostile = st.lists(pieces, max_size=10).map("".join)
long_text = st.integers(min_value=5_000, max_value=10_000).map(lambda n: ("ب😀&<" * n)[:n])
# One-line fields (titles, names) are limited to 300 characters: the longest allowed.
long_line = st.integers(min_value=250, max_value=300).map(lambda n: ("ب😀&<" * n)[:n])
field = hostile
# a field that must not be empty: a letter guarantees something is left after cleaning
needed = hostile.map(lambda s: "x" + s)
# Titles and summaries are sometimes very long (parsing long values is slow, so only these).
needed_or_long = st.one_of(needed, needed, needed, long_text)
needed_or_long_line = st.one_of(needed, needed, needed, long_line)
html = st.lists(st.one_of(st.sampled_from(NASTY_HTML), pieces), max_size=8).map(
    lambda p: "x" + "".join(p)
)
# Hosts as editors (or a paste) might write them: IP literals, IDN, userinfo, ports, junk.
url_host = st.sampled_from([
    "example.org", "[::1]", "[v1.x]", "[::1]:8080", "bücher.example", 'exa"mple.org',
    "user:pw@example.org", "example.org:8443", "xn--bcher-kva.example", "a{b}.example",
    "127.0.0.1", "example.org.", "EXAMPLE.org", "ex|ample.org",
])  # fmt: skip
url_path = st.text(alphabet=st.sampled_from(list('abc-_~%20 é日<>"{}|^`[]?&=#')), max_size=30)
dates = st.datetimes(
    min_value=__import__("datetime").datetime(1000, 1, 2),
    max_value=__import__("datetime").datetime(9998, 12, 30),
).map(lambda d: d.replace(microsecond=0).isoformat())
optional = lambda strategy: st.one_of(st.none(), strategy)  # noqa: E731


@st.composite
def items(draw: st.DrawFn, index: int) -> dict:
    is_event = draw(st.booleans())
    published, updated = sorted([draw(dates), draw(dates)])
    item: dict = {
        "id": f"item-{index}",
        "type": "events" if is_event else "voices",
        "title": draw(needed_or_long_line),
        "url": f"https://{draw(url_host)}/" + draw(url_path).replace(" ", "%20"),
        "published": published,
        "updated": updated,
        "topics": draw(st.sampled_from([["health"], ["justice"], ["health", "justice"]])),
    }
    if draw(st.booleans()):
        item["summary_html"] = draw(html)
    else:
        item["summary"] = draw(needed_or_long)
    extras = {
        "content_html": optional(html),
        "tags": optional(st.lists(needed, max_size=3)),
        "authors": optional(st.lists(st.fixed_dictionaries({"name": needed}), max_size=2)),
        "image": optional(
            st.fixed_dictionaries({"url": st.just("https://example.org/a.png"), "alt": needed})
        ),
        "language": optional(st.sampled_from(["ar", "he", "en-GB", "zh-Hant-TW"])),
        "withdrawn": optional(st.fixed_dictionaries({"date": st.just(updated), "reason": needed})),
    }
    for key, strategy in extras.items():
        value = draw(strategy)
        if value is not None:
            item[key] = value
    if is_event:
        start, end = sorted([draw(dates), draw(dates)])
        item["start"] = start
        item["timezone"] = draw(
            st.sampled_from(["UTC", "Asia/Kathmandu", "America/St_Johns", "Pacific/Chatham"])
        )
        for key, strategy in {
            "end": optional(st.just(end)),
            "venue": optional(needed), "city": optional(needed), "address": optional(field),
            "online_url": optional(st.just("https://example.org/live?a=1&b=<2>")),
            "registration_url": optional(st.just("https://example.org/r")),
            "status": optional(st.sampled_from(
                ["scheduled", "cancelled", "postponed", "rescheduled", "moved-online"]
            )),
        }.items():  # fmt: skip
            value = draw(strategy)
            if value:
                item[key] = value
        if item.get("status", "scheduled") != "scheduled" or draw(st.booleans()):
            notes = draw(st.lists(needed, min_size=1, max_size=2))
            item["changes"] = [{"date": published, "note": note} for note in notes]
    return item


catalogs = st.integers(min_value=1, max_value=3).flatmap(
    lambda n: st.tuples(*[items(i) for i in range(n)])
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(generated=catalogs, site_title=needed_or_long_line, topic_description=field)
def test_any_content_the_loader_accepts_renders_valid_feeds(
    generated, site_title, topic_description
):
    with tempfile.TemporaryDirectory() as folder:
        config = write_config(Path(folder), MINIMAL)
        site = yaml.safe_load(MINIMAL["site.yaml"])
        site["site"]["title"] = site_title
        (config / "site.yaml").write_text(yaml.safe_dump(site), encoding="utf-8")
        topics = yaml.safe_load(MINIMAL["topics.yaml"])
        if topic_description.strip():
            topics["topics"][0]["description"] = topic_description
        (config / "topics.yaml").write_text(yaml.safe_dump(topics), encoding="utf-8")
        (config / "generated.yaml").write_text(
            yaml.safe_dump({"items": list(generated)}), encoding="utf-8"
        )
        try:
            catalog = load_catalog(config)
        except ContentError as error:
            # Refusing is allowed, but only with located messages: never a crash.
            assert error.problems and all(p.file for p in error.problems)
            return
    views = tuple(feed_view(catalog, key) for key in (FeedKey(), FeedKey(topic="health")))
    for view in views:
        for name, fmt in FORMATS.items():
            CHECKS[name](fmt.render(view))
    listed = discovery.listing(views)
    for name in FORMATS:
        ET.fromstring(discovery.opml(catalog, listed, name))  # strict XML
    json.loads(discovery.feeds_json(catalog, listed))
    for page in (pages.front_page(catalog, listed), pages.topic_page(catalog, listed, "health")):
        check_page(page, catalog.site.feeds_url or "")  # editor text is escaped, never markup
    # The archive chain (RFC 5005) with pages of one item, so every item is on a page.
    paged = replace(catalog, site=replace(catalog.site, feed_size=1))
    for feed in (feed_view(paged, FeedKey()), feed_view(paged, FeedKey(topic="health"))):
        for key, items in archives.pages(paged, feed.key):
            view = archives.archive_view(feed, key, items)
            for name, fmt in FORMATS.items():
                if fmt.kind == "feed":
                    body = fmt.render(view)
                    CHECKS[name](body)
                    if name != "json":  # (feedparser reads XML feeds)
                        assert not feedparser.parse(body).bozo, (key, name)
