"""The documents that help people and programs find the feeds, rendered with the snapshot:

* `/` an HTML page: the site, its topics, every feed in every format with a copyable URL,
  autodiscovery `<link rel="alternate">` tags, how to subscribe, and the extensions used;
* `/feeds.opml` OPML 2.0 listing every feed once, in Atom (`xmlUrl`), for readers to import
  all at once; `/feeds-rss.opml` and `/feeds-json.opml` list the same feeds in RSS and JSON
  Feed (a list of every feed in every format would show each item three times);
* `/feeds.json` the machine-readable twin: URL, title, kind (feed or calendar), format,
  topic and type of each feed and calendar.

Pure functions from a catalog and its feed listing to bytes, like the feed renderers.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from email.utils import format_datetime
from html import escape

from syndicate import urls
from syndicate.feeds import FeedView
from syndicate.model import Catalog
from syndicate.render import FORMATS, Format


@dataclass(frozen=True)
class Listed:
    """One feed in one format, as discovery documents list it."""

    view: FeedView
    format: Format

    @property
    def url(self) -> str:
        return self.view.url(self.format.extension)


def listing(views: tuple[FeedView, ...]) -> tuple[Listed, ...]:
    """Every feed (of `views`) in every format that applies to it, in a stable order."""
    return tuple(
        Listed(view, fmt)
        for view in views
        for fmt in FORMATS.values()
        if fmt.applies_to(view.key, view.catalog)
    )


def feeds_json(catalog: Catalog, listed: tuple[Listed, ...]) -> bytes:
    """`/feeds.json`: every feed, machine-readable."""
    data = {
        "title": catalog.site.title,
        "home_page_url": catalog.site.url,
        "opml_url": urls.absolute(catalog.site, urls.opml_path(urls.OPML_FORMAT)),
        "feeds": [
            {
                "url": entry.url,
                "title": entry.view.title,
                "kind": "feed" if entry.format.is_feed else "calendar",
                "format": entry.format.name,
                "media_type": entry.format.media_type,
                "topic": entry.view.key.topic,
                "type": entry.view.key.type,
                **({"entries": len(entry.view.entries)} if entry.format.is_feed else {}),
                "updated": entry.view.updated.isoformat(),
            }
            for entry in listed
        ],
    }
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def opml(catalog: Catalog, listed: tuple[Listed, ...], format_name: str) -> bytes:
    """OPML 2.0 (http://opml.org/spec2.opml): one outline per feed, in the format named
    `format_name`, grouped by topic."""
    site = catalog.site
    # Views are left out: importing them too would show each event twice.
    listed = tuple(
        entry
        for entry in listed
        if entry.format.name == format_name and entry.view.key.view is None
    )
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = f"{site.title} feeds"
    newest = max((item.updated for item in catalog.items), default=None)
    if newest is not None:
        ET.SubElement(head, "dateModified").text = format_datetime(newest)
    ET.SubElement(head, "ownerName").text = site.publisher.name
    if site.publisher.url:
        ET.SubElement(head, "ownerId").text = site.publisher.url
    ET.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = ET.SubElement(root, "body")
    groups: dict[str | None, ET.Element] = {}
    for entry in listed:
        topic = entry.view.topic
        if topic is None:
            parent = groups.setdefault(
                None, ET.SubElement(body, "outline", text=f"{site.title}: everything")
            )
        else:
            parent = groups.setdefault(topic.slug, ET.SubElement(body, "outline", text=topic.title))
        name = f"{entry.view.title} ({entry.format.label})"
        ET.SubElement(
            parent,
            "outline",
            type="rss",  # what readers expect for any feed; `version` says which format
            version=_opml_version(entry.format),
            text=name,
            title=name,
            xmlUrl=entry.url,
            htmlUrl=entry.view.home_url,
            description=entry.view.subtitle,
            language=site.language,
        )
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def _opml_version(fmt: Format) -> str:
    return {"atom": "ATOM", "rss": "RSS2", "json": "JSONFEED"}.get(fmt.name, fmt.name.upper())


def _feed_rows(entries: list[Listed]) -> str:
    rows = []
    for entry in entries:
        url = escape(entry.url)
        subscribe = (
            ""
            if entry.format.is_feed
            else f' <a href="{escape(urls.webcal(entry.url))}">subscribe in your calendar</a>'
        )
        rows.append(
            f'<li><span class="format">{escape(entry.format.label)}</span> '
            f'<input readonly value="{url}" aria-label="{escape(entry.view.title)}, '
            f'{escape(entry.format.label)} URL" onclick="this.select()"> '
            f'<a href="{url}">open</a>{subscribe}</li>'
        )
    return "<ul class=feeds>" + "".join(rows) + "</ul>"


def index_html(catalog: Catalog, entries: tuple[Listed, ...]) -> bytes:
    """`/`: the human entry point, with autodiscovery links for readers and browsers."""
    site = catalog.site
    by_view: dict[str, list[Listed]] = {}
    for entry in entries:
        by_view.setdefault(entry.view.id, []).append(entry)
    discovery = "\n".join(
        f'<link rel="alternate" type="{escape(e.format.media_type)}" '
        f'title="{escape(e.view.title)} ({escape(e.format.label)})" href="{escape(e.url)}">'
        for e in entries
        if e.format.is_feed  # calendars are for calendar apps, not feed readers
    )

    def section(views: list[list[Listed]]) -> str:
        return "".join(
            f"<h3>{escape(group[0].view.title)}</h3><p>{escape(group[0].view.subtitle)}</p>"
            f"{_feed_rows(group)}"
            for group in views
        )

    site_wide = [g for g in by_view.values() if g[0].view.topic is None]
    topics_html = []
    for topic in catalog.topics.values():
        groups = [g for g in by_view.values() if g[0].view.topic is topic]
        area = f' <span class="area">{escape(topic.area)}</span>' if topic.area else ""
        page = f' <a href="{escape(topic.url)}">Topic page</a>' if topic.url else ""
        topics_html.append(
            f'<section id="topic-{escape(topic.slug)}"><h2>{escape(topic.title)}{area}</h2>'
            f"<p>{escape(topic.description or '')}{page}</p>{section(groups)}</section>"
        )
    opml_url = escape(urls.absolute(site, urls.opml_path(urls.OPML_FORMAT)))
    other_opml = ", ".join(
        f'<a href="{escape(urls.absolute(site, urls.opml_path(fmt.name)))}">{escape(fmt.label)}</a>'
        for fmt in FORMATS.values()
        if fmt.name != urls.OPML_FORMAT and fmt.is_feed
    )
    json_url = escape(urls.absolute(site, urls.FEEDS_JSON_PATH))
    page = f"""<!doctype html>
<html lang="{escape(site.language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(site.title)}: feeds</title>
{discovery}
<style>
body{{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
h1{{margin-bottom:0}} h2{{border-bottom:1px solid #ccc;margin-top:2.5rem}} h3{{margin-bottom:.2rem}}
ul.feeds{{list-style:none;padding:0}} ul.feeds li{{margin:.2rem 0}}
.format{{display:inline-block;width:6rem;font-weight:600}} .area{{font-size:.8em;color:#666}}
input{{width:min(36rem,70vw);font:14px monospace}} code{{background:#f3f3f3;padding:0 .2rem}}
</style>
</head>
<body>
<header><h1>{escape(site.title)}: feeds</h1><p>{escape(site.description or "")}
<a href="{escape(site.url)}">Website</a></p></header>
<section id="subscribe"><h2>How to subscribe</h2>
<ol><li>Copy the URL of a feed below (click the box, then copy).</li>
<li>Paste it into your feed reader (Feedly, Inoreader, NetNewsWire, Miniflux, newsboat...).
Most readers also find the feeds if you give them this page's address.</li>
<li>To subscribe to everything at once, import <a href="{opml_url}">the OPML list</a> into
your reader: it names each feed once, in Atom. The same list in another format, if your
reader prefers it: {other_opml}.</li></ol>
<p>Every feed comes as Atom, RSS and JSON Feed: choose Atom or RSS if unsure; they carry the
same items. Programs can list all feeds from <a href="{json_url}">feeds.json</a>.</p>
<p>Events also come as calendars (iCalendar, <code>.ics</code>): choose "subscribe in your
calendar" (a <code>webcal://</code> link) to add one to Apple Calendar, Outlook or
Thunderbird, or paste its URL into Google Calendar ("Other calendars", "From URL").
Subscribed calendars follow changes and cancellations by themselves.</p></section>
<section id="everything"><h2>Everything</h2>{section(site_wide)}</section>
{"".join(topics_html)}
<section id="extensions"><h2>Extensions</h2>
<p>Event items carry their schedule and place: in Atom and RSS as RSS 1.0 Event Module
elements (<code>ev:startdate</code>, <code>ev:enddate</code>, <code>ev:location</code>,
<code>ev:organizer</code>, namespace <code>http://purl.org/rss/1.0/modules/event/</code>),
and in JSON Feed as an <code>_event</code> object (<code>start</code>, <code>end</code>,
<code>timezone</code>, <code>all_day</code>, <code>text</code>, <code>location</code>,
<code>online_url</code>, <code>registration_url</code>, <code>status</code>,
<code>schema_org_status</code>, <code>changes</code>, <code>calendar_url</code>). All-day
events give dates without times, and <code>end</code> is the last day included. An event
that is cancelled, postponed, rescheduled or moved online says so in its title and text;
each event links its own calendar file ("Add to calendar").</p>
<p>Withdrawn items leave the feeds and are announced: in Atom as RFC 6721
<code>at:deleted-entry</code> elements, in JSON Feed in a feed-level <code>_deleted</code>
object (<code>items</code>: <code>id</code>, <code>url</code>, <code>date_withdrawn</code>,
<code>reason</code>).</p></section>
</body>
</html>
"""
    return page.encode("utf-8")
