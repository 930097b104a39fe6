"""A feedgen extension for what feedgen does not write: event details, item language,
and withdrawn items.

* Event details use the RSS 1.0 Event Module (namespace `http://purl.org/rss/1.0/modules/event/`,
  prefix `ev`), which feed validators and several readers already know: `ev:startdate` and
  `ev:enddate` (W3C date-time with offset, or a date alone for all-day events; `enddate` of an
  all-day event is the last day included), `ev:location` (the place as text, or "Online")
  and `ev:organizer`. The same elements go in Atom entries and RSS items.
* An item's own language becomes `xml:lang` on its Atom entry.
* RSS dates (`pubDate`, `lastBuildDate`) are written in GMT: feedgen keeps the date's own
  offset, and validators warn on offsets such as `+0545` (RFC 822 names GMT; the RSS
  profile's examples all use it).
* RSS channels get the RSS Syndication Module's `sy:updatePeriod` and `sy:updateFrequency`,
  agreeing with `ttl` and the HTTP cache lifetime.
* WebSub hubs (the site's `hubs`) are advertised as `<link rel="hub">` in Atom and
  `<atom:link rel="hub">` in RSS, beside the self link.
* Archived feeds (RFC 5005): `prev-archive`, `next-archive` and `current` links (Atom
  `link`, RSS `atom:link`) and `fh:archive` in archive documents.
* Withdrawn items become RFC 6721 `at:deleted-entry` elements in Atom feeds
  (namespace `http://purl.org/atompub/tombstones/1.0`), with the reason as `at:comment`.

feedgen's extension contract (`feedgen.ext.base`) is three hooks: `extend_ns`,
`extend_atom`, `extend_rss`. Like every feedgen import, this stays inside `syndicate.render`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from zoneinfo import ZoneInfo

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from lxml import etree

from syndicate.eventtext import where
from syndicate.model import Event

EVENT_NS = "http://purl.org/rss/1.0/modules/event/"
TOMBSTONE_NS = "http://purl.org/atompub/tombstones/1.0"
HISTORY_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005
ATOM_NS = "http://www.w3.org/2005/Atom"  # declared by feedgen in RSS for the self link
SYNDICATION_NS = "http://purl.org/rss/1.0/modules/syndication/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass(frozen=True)
class Tombstone:
    ref: str
    when: datetime
    comment: str
    url: str


def event_date(moment: datetime, event: Event) -> str:
    """W3C date-time for a timed event; for an all-day one, the date in the event's zone."""
    if event.all_day:
        return moment.astimezone(ZoneInfo(event.timezone)).date().isoformat()
    return moment.isoformat()


RSS_DATES = ("pubDate", "lastBuildDate")


def rss_date(moment: datetime) -> str:
    """An RSS (RFC 822) date in GMT: `Mon, 02 Nov 2026 15:00:00 GMT`."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _dates_in_gmt(parent: etree._Element) -> None:
    """Rewrite the RFC 822 dates feedgen wrote under `parent` (in the date's own offset) in
    GMT, the same instant."""
    for name in RSS_DATES:
        element = parent.find(name)
        if element is not None and element.text:
            element.text = rss_date(parsedate_to_datetime(element.text))


class SyndicateExtension(BaseExtension):  # type: ignore[misc]
    """Feed level: declares the namespaces in use and writes tombstones (Atom only)."""

    def __init__(self) -> None:
        self.uses_events = False
        self.tombstones: tuple[Tombstone, ...] = ()
        self.update: tuple[str, int] | None = None
        self.hubs: tuple[str, ...] = ()
        self.history: tuple[tuple[str, str], ...] = ()
        self.archive = False

    def configure(
        self,
        *,
        uses_events: bool,
        tombstones: tuple[Tombstone, ...],
        update: tuple[str, int] | None,
        hubs: tuple[str, ...] = (),
        history: tuple[tuple[str, str], ...] = (),
        archive: bool = False,
    ) -> None:
        """`tombstones` for Atom feeds; `update` (period, frequency) for RSS feeds; `hubs`,
        the WebSub hubs to advertise (`rel="hub"` links, W3C WebSub 4)."""
        self.uses_events = uses_events
        self.tombstones = tombstones
        self.update = update
        self.hubs = hubs
        self.history = history  # RFC 5005 links: (rel, href)
        self.archive = archive  # an archive document: fh:archive

    def extend_ns(self) -> dict[str, str]:
        namespaces = {}
        if self.uses_events:
            namespaces["ev"] = EVENT_NS
        if self.tombstones:
            namespaces["at"] = TOMBSTONE_NS
        if self.update:
            namespaces["sy"] = SYNDICATION_NS
        if self.archive:
            namespaces["fh"] = HISTORY_NS
        return namespaces

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        for hub in self.hubs:  # feed metadata: written before the entries are added
            etree.SubElement(feed, "link", href=hub, rel="hub")
        for rel, href in self.history:
            etree.SubElement(feed, "link", href=href, rel=rel)
        if self.archive:
            etree.SubElement(feed, f"{{{HISTORY_NS}}}archive")
        for stone in self.tombstones:
            deleted = etree.SubElement(
                feed, f"{{{TOMBSTONE_NS}}}deleted-entry", ref=stone.ref, when=stone.when.isoformat()
            )
            etree.SubElement(deleted, f"{{{TOMBSTONE_NS}}}comment").text = stone.comment
            # feedgen writes Atom elements un-namespaced under a literal xmlns attribute, so an
            # Atom element we add is un-namespaced too; it serializes into the Atom namespace.
            etree.SubElement(deleted, "link", href=stone.url, rel="alternate", type="text/html")
        return feed

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        # (RSS has no way to announce a deletion: a withdrawn item just leaves.)
        channel = feed[0]
        _dates_in_gmt(channel)
        for hub in self.hubs:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", href=hub, rel="hub")
        for rel, href in self.history:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", href=href, rel=rel)
        if self.archive:
            etree.SubElement(channel, f"{{{HISTORY_NS}}}archive")
        if self.update:
            period, frequency = self.update
            etree.SubElement(channel, f"{{{SYNDICATION_NS}}}updatePeriod").text = period
            etree.SubElement(channel, f"{{{SYNDICATION_NS}}}updateFrequency").text = str(frequency)
        return feed


@dataclass(frozen=True)
class Link:
    href: str
    rel: str
    type: str
    title: str


class SyndicateEntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """Entry level: event elements (Atom and RSS), xml:lang and links (Atom), enclosure (RSS).

    Links other than the alternate one are written here, not with feedgen's `link()`:
    feedgen 1.0 drops their `rel` and `type` attributes in Atom, turning an enclosure into a
    second "alternate" link, which RFC 4287 forbids.
    """

    def __init__(self) -> None:
        self.event: Event | None = None
        self.organizer: str | None = None
        self.language: str | None = None
        self.links: tuple[Link, ...] = ()

    def configure(
        self,
        *,
        event: Event | None,
        organizer: str,
        language: str | None,
        links: tuple[Link, ...],
    ) -> None:
        self.event, self.organizer, self.language = event, organizer, language
        self.links = links

    def _add_event(self, element: etree._Element) -> None:
        event = self.event
        if event is None:
            return
        etree.SubElement(element, f"{{{EVENT_NS}}}startdate").text = event_date(event.start, event)
        if event.end is not None:
            etree.SubElement(element, f"{{{EVENT_NS}}}enddate").text = event_date(event.end, event)
        place = where(event)
        if place:
            etree.SubElement(element, f"{{{EVENT_NS}}}location").text = place
        if self.organizer:
            etree.SubElement(element, f"{{{EVENT_NS}}}organizer").text = self.organizer

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        if self.language:
            entry.set(XML_LANG, self.language)
        for link in self.links:
            etree.SubElement(
                entry, "link", href=link.href, rel=link.rel, type=link.type, title=link.title
            )
        self._add_event(entry)
        return entry

    def extend_rss(self, item: etree._Element) -> etree._Element:
        _dates_in_gmt(item)
        for link in self.links:
            if link.rel == "enclosure":
                # The RSS profile: "a length of 0" when the size cannot be determined.
                etree.SubElement(item, "enclosure", url=link.href, length="0", type=link.type)
                break  # RSS allows one enclosure per item
        for link in self.links:
            if link.type == "text/calendar":  # RSS has one link per item: the calendar file
                etree.SubElement(  # goes as an atom:link, as RSS feeds do for other links
                    item, f"{{{ATOM_NS}}}link", href=link.href, rel=link.rel, type=link.type,
                    title=link.title,
                )  # fmt: skip
        self._add_event(item)
        return item
