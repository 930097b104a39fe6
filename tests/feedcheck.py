"""Spec checks for what we produce, used by every render test.

Each `check_*` parses the bytes with real parsers (lxml with a strict parser, feedparser,
json) and asserts the structural rules of the spec that a validator would flag, returning
the parsed document for further assertions.

* Atom: RFC 4287 sections 4.1.1-4.2 (required elements, one alternate per type/hreflang,
  RFC 3339 dates, absolute IRIs, author at feed or entry level).
* RSS 2.0: the RSS Board profile (channel title/link/description, atom:link self, RFC 822
  dates with four-digit years, guid, enclosure attributes).
* JSON Feed 1.1: required keys and types, RFC 3339 dates, unknown keys only as `_extensions`
  (feedparser 6 has no JSON Feed support, so this check is ours alone).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser
import icalendar
import vobject
from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
# RFC 822 dates, in GMT: the W3C validator warns on offsets such as +0545.
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d{2}:\d{2}:\d{2} GMT$"
)
XML_CHAR = re.compile("^[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")
STRICT = etree.XMLParser(resolve_entities=False, no_network=True, recover=False, huge_tree=True)


# A URI as the W3C feed validator checks it (its `rfc2396_full` pattern): "Invalid character
# in a URI" for anything else (brackets, spaces, non-ASCII, quotes...).
VALIDATOR_URI = re.compile(r"^[a-zA-Z][0-9a-zA-Z+\-.]*:(//)?[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,#]+$")


def _absolute(url: str | None) -> bool:
    if not url:
        return False
    assert VALIDATOR_URI.match(url), f"the W3C validator refuses {url!r}"
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "mailto") and (
        bool(parts.netloc) or parts.scheme == "mailto"
    )


def _feedparser_ok(body: bytes) -> Any:
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def _xml(body: bytes) -> etree._Element:
    assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert XML_CHAR.match(body.decode("utf-8"))
    return etree.fromstring(body, STRICT)


def check_atom(body: bytes) -> etree._Element:
    """Assert `body` is a valid Atom 1.0 feed document; returns the root element."""
    root = _xml(body)
    assert root.tag == f"{ATOM}feed"
    _feedparser_ok(body)
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"{ATOM}{name}")) == 1, name
    assert RFC3339.match(root.findtext(f"{ATOM}updated") or "")
    feed_has_author = root.find(f"{ATOM}author/{ATOM}name") is not None
    _check_links(root, require_self=True)
    for text_element in root.iter(
        f"{ATOM}title", f"{ATOM}subtitle", f"{ATOM}summary", f"{ATOM}content", f"{ATOM}rights"
    ):
        assert text_element.get("type", "text") in ("text", "html")
        if text_element.get("type") == "html":
            etree.fromstring(f"<div>{text_element.text or ''}</div>".encode(), etree.HTMLParser())
    for entry in root.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1, name
        assert (entry.findtext(f"{ATOM}title") or "").strip(), "empty entry title"
        for name in ("updated", "published"):
            for date in entry.findall(f"{ATOM}{name}"):
                assert RFC3339.match(date.text or ""), date.text
        assert feed_has_author or entry.find(f"{ATOM}author/{ATOM}name") is not None
        has_content = entry.find(f"{ATOM}content") is not None
        alternates = [
            link
            for link in entry.findall(f"{ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        assert has_content or alternates, "entry needs content or an alternate link"
        _check_links(entry, require_self=False)
        for category in entry.findall(f"{ATOM}category"):
            assert category.get("term")
    for element in root.iter(f"{ATOM}id", f"{ATOM}icon", f"{ATOM}logo", f"{ATOM}uri"):
        assert element.text and (element.text.startswith("tag:") or _absolute(element.text)), (
            element.text
        )
    return root


def _check_links(parent: etree._Element, *, require_self: bool) -> None:
    links = parent.findall(f"{ATOM}link")
    seen_alternates = set()
    for link in links:
        assert _absolute(link.get("href")), link.get("href")
        if link.get("rel", "alternate") == "alternate":
            key = (link.get("type"), link.get("hreflang"))
            assert key not in seen_alternates, "two alternate links with the same type and hreflang"
            seen_alternates.add(key)
    if require_self:
        assert [link for link in links if link.get("rel") == "self"], "missing self link"


def check_rss(body: bytes) -> etree._Element:
    """Assert `body` is a valid RSS 2.0 document per the RSS Board profile; returns <channel>."""
    root = _xml(body)
    assert root.tag == "rss" and root.get("version") == "2.0"
    _feedparser_ok(body)
    channels = root.findall("channel")
    assert len(channels) == 1
    channel = channels[0]
    for name in ("title", "link", "description"):
        assert len(channel.findall(name)) == 1 and (channel.findtext(name) or "").strip(), name
    assert _absolute(channel.findtext("link"))
    selfs = [link for link in channel.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert len(selfs) == 1 and _absolute(selfs[0].get("href"))
    for name in ("lastBuildDate", "pubDate"):
        for date in channel.findall(name):
            assert RFC822.match(date.text or ""), date.text
    for item in channel.findall("item"):
        assert item.findtext("title") or item.findtext("description")
        guid = item.find("guid")
        assert guid is not None and guid.text and guid.get("isPermaLink") in ("true", "false")
        assert _absolute(item.findtext("link"))
        for date in item.findall("pubDate"):
            assert RFC822.match(date.text or ""), date.text
        enclosures = item.findall("enclosure")
        assert len(enclosures) <= 1
        for enclosure in enclosures:
            assert (
                _absolute(enclosure.get("url"))
                and enclosure.get("length", "").isdigit()
                and enclosure.get("type")
            )
        for author in item.findall("author"):
            assert "@" in (author.text or "")
    return channel


JSON_FEED_KEYS = {
    "version",
    "title",
    "home_page_url",
    "feed_url",
    "description",
    "user_comment",
    "next_url",
    "icon",
    "favicon",
    "authors",
    "language",
    "expired",
    "hubs",
    "items",
}
JSON_ITEM_KEYS = {
    "id",
    "url",
    "external_url",
    "title",
    "content_html",
    "content_text",
    "summary",
    "image",
    "banner_image",
    "date_published",
    "date_modified",
    "authors",
    "tags",
    "language",
    "attachments",
}


def _check_keys(data: dict[str, Any], allowed: set[str]) -> None:
    for key in data:
        assert key in allowed or key.startswith("_"), f"unknown key {key!r}"


def check_json_feed(body: bytes) -> dict[str, Any]:
    """Assert `body` is a valid JSON Feed 1.1 document; returns it parsed."""
    text = body.decode("utf-8")
    feed = json.loads(text)
    assert isinstance(feed, dict)
    _check_keys(feed, JSON_FEED_KEYS)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and feed["title"]
    assert isinstance(feed["items"], list)
    for key in ("home_page_url", "feed_url", "icon", "favicon"):
        if key in feed:
            assert _absolute(feed[key]), key
    for author in feed.get("authors", []):
        assert isinstance(author.get("name"), str) and author["name"]
    ids = set()
    for item in feed["items"]:
        _check_keys(item, JSON_ITEM_KEYS)
        assert isinstance(item["id"], str) and item["id"]
        assert item["id"] not in ids
        ids.add(item["id"])
        assert isinstance(item.get("content_html"), str) or isinstance(
            item.get("content_text"), str
        )
        for key in ("date_published", "date_modified"):
            if key in item:
                assert RFC3339.match(item[key]), item[key]
                datetime.fromisoformat(item[key])
        for key in ("url", "image"):
            if key in item:
                assert _absolute(item[key]), key
        if "tags" in item:
            assert all(isinstance(tag, str) for tag in item["tags"])
        for author in item.get("authors", []):
            assert isinstance(author.get("name"), str) and author["name"]
    return feed


# RFC 5545 3.1: CONTROL characters other than HTAB may not appear in content lines.
ICAL_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


def check_ical(body: bytes) -> icalendar.Calendar:
    """Assert `body` is a valid RFC 5545 calendar that two independent parsers (icalendar and
    vobject) read alike; returns icalendar's parse. Checks what clients are known to choke
    on: bad folding (lines over 75 octets, a UTF-8 sequence split by a fold), control
    characters, a TZID without its VTIMEZONE (or with two), floating times, missing UID or
    DTSTAMP, a timestamp-sized SEQUENCE."""
    assert body.endswith(b"\r\n")
    physical = body[:-2].split(b"\r\n")
    assert b"\n" not in b"".join(physical) and b"\r" not in b"".join(physical)
    for line in physical:
        assert len(line) <= 75, line
        line.decode("utf-8")  # each folded line whole: a fold never splits a character
        assert not ICAL_CONTROL.search(line.decode("utf-8")), line
    unfolded = body.decode("utf-8").replace("\r\n ", "").replace("\r\n\t", "")
    lines = unfolded.split("\r\n")[:-1]
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    calendar = icalendar.Calendar.from_ical(body)
    assert str(calendar["VERSION"]) == "2.0" and str(calendar["PRODID"])
    zones = [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")]
    assert len(zones) == len(set(zones)), zones
    used = set()
    for line in lines:
        name, _, _ = line.partition(":")
        if name.split(";")[0] in ("DTSTART", "DTEND"):
            params = dict(p.split("=", 1) for p in name.split(";")[1:])
            if params.get("VALUE") == "DATE":
                continue
            if "TZID" in params:
                used.add(params["TZID"])
                _assert_happens_once(line.partition(":")[2], params["TZID"])
            elif not line.endswith("Z"):  # inside VTIMEZONE, DTSTART is local by design
                assert _in_vtimezone(lines, line), f"floating time: {line}"
    assert used <= set(zones), f"TZID without VTIMEZONE: {used - set(zones)}"
    components = [c for c in calendar.subcomponents]
    assert components, "RFC 5545 3.4: a calendar holds at least one component"
    if calendar.walk("VEVENT"):
        assert set(zones) <= used, f"VTIMEZONE no event uses: {set(zones) - used}"
    else:  # an empty calendar holds the zone it names, as its one component
        assert zones == [str(calendar["X-WR-TIMEZONE"])], zones
    uids = []
    for event in calendar.walk("VEVENT"):
        for key in ("UID", "DTSTAMP", "DTSTART", "SUMMARY"):
            assert key in event, key
        assert 0 <= int(event.get("SEQUENCE", 0)) < 1000
        assert str(event["STATUS"]) in ("CONFIRMED", "TENTATIVE", "CANCELLED")
        uids.append(str(event["UID"]))
    assert len(uids) == len(set(uids)), "duplicate UID"
    other = read_vobject(body)
    other_uids = [e.uid.value for e in getattr(other, "vevent_list", [])]
    assert other_uids == uids
    return calendar


def read_vobject(body: bytes) -> Any:
    """`body` parsed by vobject, as a client that never saw another calendar would. vobject
    keeps every TZID it has read in a registry for the whole process and reads a later
    calendar's times with the first definition it saw (a VTIMEZONE of 1900 then shifts
    2027's times by local mean time), so the registry is emptied first, but for UTC."""
    registry = vobject.icalendar.__dict__["__tzidMap"]
    registry.clear()
    vobject.icalendar.registerTzid("UTC", vobject.icalendar.utc)
    return vobject.readOne(body.decode("utf-8"))


def _assert_happens_once(value: str, zone_name: str) -> None:
    """A local DATE-TIME with a TZID names one instant only if its wall time happens once
    in the zone (RFC 5545 3.3.5 reads a repeated hour as its first occurrence, and clients
    differ): a repeated one must be written in UTC."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    local = datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=ZoneInfo(zone_name))
    assert local.utcoffset() == local.replace(fold=1).utcoffset(), f"{value} happens twice"


def _in_vtimezone(lines: list[str], line: str) -> bool:
    index = lines.index(line)
    opened = max((i for i in range(index) if lines[i] == "BEGIN:VTIMEZONE"), default=-1)
    closed = max((i for i in range(index) if lines[i] == "END:VTIMEZONE"), default=-1)
    return opened > closed


def check_fragment(body: bytes) -> Any:
    """Assert `body` is an HTML fragment partners can include as is: one `section`, a list
    of items each with a heading, its link and a `<time datetime>`; no script, no style, no
    id, no event handler, nothing that loads; http(s) links only. Returns the section."""
    from lxml import html

    text = body.decode("utf-8")
    assert text.startswith('<section class="syndicate-feed"') and text.endswith("</section>\n")
    section = html.fragment_fromstring(text)
    _check_feed_section(section, {"class", "href", "datetime", "dir", "lang", "aria-label"})
    return section


def _check_feed_section(section: Any, attributes: set[str]) -> None:
    from datetime import date, datetime

    assert section.tag == "section" and section.get("aria-label")
    allowed = {"section", "h1", "h2", "h3", "a", "ul", "li", "p", "time", "span"}
    for element in section.iter():
        assert isinstance(element.tag, str), "no comments or processing instructions"
        assert element.tag in allowed, element.tag
        for name in element.attrib:
            assert name in attributes, name
        if element.tag == "a":
            assert element.get("href", "").startswith(("https://", "http://")), element.get("href")
        if element.tag == "time":
            value = element.get("datetime", "")
            (date if len(value) == 10 else datetime).fromisoformat(value)
    level = int(section[0].tag[1])  # the heading's; items' titles are one level below
    for item in section.iter("li"):
        assert item.find(f"h{level + 1}/a") is not None and item.find("p/time") is not None


def check_page(body: bytes, base: str | None) -> Any:
    """Assert `body` is one of our HTML pages, safe under its CSP: a document with a
    language and a title; scripts and stylesheets only from `base` (our origin), none
    inline; no event handler or style attribute; http(s) (or webcal) links only. Returns
    the parsed document. `base` None: any http(s) origin."""
    from lxml import html

    text = body.decode("utf-8")
    assert text.lower().startswith("<!doctype html>")
    document = html.document_fromstring(text)
    ours = (base + "/",) if base is not None else ("https://", "http://")
    assert document.get("lang") and document.findtext(".//title")
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag != "style", "no inline stylesheet"
        for name in element.attrib:
            assert not name.lower().startswith("on") and name.lower() != "style", name
        if element.tag == "script":
            assert (
                element.get("src", "").startswith(base + "/") and not (element.text or "").strip()
            )
        if element.tag == "link" and element.get("rel") == "stylesheet":
            assert element.get("href", "").startswith(ours)
        if element.tag == "a":
            assert element.get("href", "").startswith(("https://", "http://", "webcal://", "#"))
    return document


def check_frame(body: bytes) -> Any:
    """Assert `body` is an iframe page: one of our pages with no script at all, holding the
    feed's fragment with links that open in the partner's tab. Returns the section."""
    document = check_page(body, None)
    assert not document.findall(".//script")
    sections = document.findall(".//section")
    assert len(sections) == 1
    attributes = {"class", "href", "datetime", "dir", "lang", "aria-label", "target"}
    _check_feed_section(sections[0], attributes)
    assert all(a.get("target") == "_top" for a in sections[0].iter("a"))
    return sections[0]


CHECKS = {
    "atom": check_atom, "rss": check_rss, "json": check_json_feed, "ics": check_ical,
    "fragment": check_fragment, "frame": check_frame,
}  # fmt: skip
