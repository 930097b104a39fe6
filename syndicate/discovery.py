"""The documents that help programs find the feeds, rendered with the snapshot (the pages
for people are `pages.py`), and the feed listing both use:

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
from datetime import UTC
from email.utils import format_datetime

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
        return urls.absolute(self.view.site, self.format.path(self.view.key))


def listing(views: tuple[FeedView, ...]) -> tuple[Listed, ...]:
    """Every feed (of `views`) in every format that applies to it, in a stable order."""
    return tuple(
        Listed(view, fmt)
        for view in views
        for fmt in FORMATS.values()
        if fmt.applies_to(view.key, view.catalog)
    )


def feeds_json(catalog: Catalog, listed: tuple[Listed, ...]) -> bytes:
    """`/feeds.json`: every feed, machine-readable; a feed of a renamed topic or type lists
    its former URLs, which redirect to it."""
    moves = urls.moves_of(catalog)
    data = {
        "title": catalog.site.title,
        "home_page_url": catalog.site.url,
        "opml_url": urls.absolute(catalog.site, urls.opml_path(urls.OPML_FORMAT)),
        "feeds": [
            {
                "url": entry.url,
                "title": entry.view.title,
                "kind": entry.format.kind,
                "format": entry.format.name,
                "media_type": entry.format.media_type,
                "topic": entry.view.key.topic,
                "type": entry.view.key.type,
                **({"entries": len(entry.view.entries)} if entry.format.is_feed else {}),
                "updated": entry.view.updated.isoformat(),
                **_former_urls(catalog, entry.url, moves),
            }
            for entry in listed
        ],
    }
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _former_urls(catalog: Catalog, url: str, moves: urls.Moves) -> dict[str, list[str]]:
    if not moves:
        return {}
    path = url.removeprefix(catalog.site.feeds_url or "")
    former = [urls.absolute(catalog.site, p) for p in urls.former_paths(path, moves)]
    return {"former_urls": former} if former else {}


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
    newest = catalog.newest_item_change
    if newest is not None:  # RFC 822, in GMT as in RSS
        ET.SubElement(head, "dateModified").text = format_datetime(
            newest.astimezone(UTC), usegmt=True
        )
    ET.SubElement(head, "ownerName").text = site.publisher.name
    if site.publisher.url:
        ET.SubElement(head, "ownerId").text = site.publisher.url
    ET.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = ET.SubElement(root, "body")
    groups: dict[str | None, ET.Element] = {}
    for entry in listed:
        topic = entry.view.topic
        slug = topic.slug if topic else None
        parent = groups.get(slug)
        if parent is None:  # a group's outline is made once, with its first feed
            text = topic.title if topic else f"{site.title}: everything"
            parent = groups[slug] = ET.SubElement(body, "outline", text=text)
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
