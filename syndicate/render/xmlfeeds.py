"""Atom 1.0 (RFC 4287) and RSS 2.0 (RSS Board profile), written with feedgen.

feedgen's API is mutable and has traps, so it stays inside this module and `feedgen_ext`:
entries are added with `order="append"` (it prepends by default) in our own order, and
every date it would otherwise stamp with `now()` (feed and entry `updated`,
`lastBuildDate`) is set from the data.

* Atom: https://www.rfc-editor.org/rfc/rfc4287
* RSS 2.0: https://www.rssboard.org/rss-profile
"""

from __future__ import annotations

import threading

from feedgen.entry import FeedEntry
from feedgen.ext.dc import DcEntryExtension
from feedgen.feed import FeedGenerator

from syndicate import __version__, archives, eventtext, urls
from syndicate.feeds import FeedView
from syndicate.model import Catalog, Item
from syndicate.render.feedgen_ext import (
    Link,
    SyndicateEntryExtension,
    SyndicateExtension,
    Tombstone,
)
from syndicate.render.registry import Format, advertises_hubs

ATOM = "application/atom+xml"
RSS = "application/rss+xml"
EXTENSION = "syndicate"


def _generator(view: FeedView, fmt: Format) -> FeedGenerator:
    site, extension, media_type = view.site, fmt.extension, fmt.media_type
    fg = FeedGenerator()
    fg.register_extension(EXTENSION, SyndicateExtension, SyndicateEntryExtension)
    fg.load_extension("dc", atom=False, rss=True)  # dc:creator: RSS's author wants an e-mail
    getattr(fg, EXTENSION).configure(
        uses_events=any(item.event for item in view.entries),
        update=update_period(view.refresh_seconds) if extension == "rss" else None,
        hubs=site.hubs if advertises_hubs(fmt, view.key) else (),
        history=archives.links(view, extension),
        archive=view.key.page is not None,
        tombstones=()
        if extension != "atom"  # RSS cannot announce deletions
        else tuple(
            Tombstone(
                urls.item_id(site, item.id), item.withdrawn.date, item.withdrawn.reason, item.url
            )
            for item in view.withdrawn
            if item.withdrawn
        ),
    )
    fg.id(view.id)
    fg.title(view.title)
    fg.subtitle(view.subtitle)  # RSS: the channel description
    fg.link(href=view.url(extension), rel="self", type=media_type)
    fg.link(href=view.home_url, rel="alternate", type="text/html")
    fg.language(site.language)
    publisher = site.publisher
    fg.author(
        {
            k: v
            for k, v in (
                ("name", publisher.name),
                ("uri", publisher.url),
                ("email", publisher.email),
            )
            if v
        }
    )
    if publisher.email:
        fg.managingEditor(f"{publisher.email} ({publisher.name})")
    if site.rights:
        fg.rights(site.rights)
    if site.logo:
        fg.logo(site.logo)
    if site.icon:
        fg.icon(site.icon)
    fg.generator("syndicate", version=__version__)
    fg.updated(view.updated)  # also RSS lastBuildDate; feedgen would use now()
    fg.pubDate(view.updated)
    # How often to poll, said three ways that must agree: HTTP max-age, ttl, sy:update*.
    fg.ttl(max(1, -(-view.refresh_seconds // 60)))
    entries = _entries_of(view.catalog)
    for item in view.entries:
        entry = entries.get(item.id)
        if entry is None:
            entry = entries[item.id] = _entry(view.catalog, item)
        fg.add_entry(entry, order="append")
    return fg


# An item is an entry of several feeds (its topics', its type's, the site's, their views), in
# both Atom and RSS; its FeedEntry depends on the catalog alone, so it is built once per
# build and shared (feedgen only reads an entry when it writes a document). One catalog at a
# time: a rebuild's catalog replaces the previous one's entries.
_shared = threading.local()


def _entries_of(catalog: Catalog) -> dict[str, FeedEntry]:
    held: tuple[Catalog, dict[str, FeedEntry]] | None = getattr(_shared, "entries", None)
    if held is None or held[0] is not catalog:
        held = _shared.entries = (catalog, {})
    return held[1]


def update_period(seconds: int) -> tuple[str, int]:
    """RSS Syndication Module period and frequency closest to polling every `seconds`.

    (feedgen's own syndication extension writes `sy:UpdatePeriod`, capitalised, which is not
    the module's element; ours writes `sy:updatePeriod`.)
    """
    for period, length in (("hourly", 3600), ("daily", 86400), ("weekly", 604800)):
        if seconds <= length:
            return period, max(1, round(length / max(seconds, 1)))
    return "yearly", max(1, round(31_536_000 / seconds))


def _entry(catalog: Catalog, item: Item) -> FeedEntry:
    site = catalog.site
    fe = FeedEntry()
    fe.register_extension(EXTENSION, SyndicateEntryExtension)
    fe.register_extension("dc", DcEntryExtension, atom=False, rss=True)
    fe.id(urls.item_id(site, item.id))  # also the RSS guid, isPermaLink="false"
    fe.title(eventtext.titled(item.title, item.event))
    fe.link(href=item.url, rel="alternate")  # written as a plain <link href>: alternate by default
    calendar = urls.absolute(site, urls.event_calendar_path(item.id)) if item.event else None
    prefix = eventtext.as_html(item.event, calendar) if item.event else ""
    fe.summary(prefix + item.summary.html, type="html")  # RSS: description
    if item.content:
        fe.content(prefix + item.content.html, type="html")  # RSS: content:encoded
    fe.published(item.published)
    fe.updated(item.updated)  # feedgen would use now()
    for person in item.authors:
        fe.author(
            {
                k: v
                for k, v in (("name", person.name), ("uri", person.url), ("email", person.email))
                if v
            }
        )
        fe.dc.dc_creator(person.name, replace=False)
    for slug in item.topics:
        scheme = urls.category_scheme(site, "topics")
        fe.category(term=slug, scheme=scheme, label=catalog.topics[slug].title)
    content_type = catalog.types[item.type]
    fe.category(
        term=item.type, scheme=urls.category_scheme(site, "types"), label=content_type.singular
    )
    for tag in item.tags:
        fe.category(term=tag, scheme=urls.category_scheme(site, "tags"), label=tag)
    getattr(fe, EXTENSION).configure(
        event=item.event,
        organizer=site.publisher.name,
        language=item.language,
        links=_links(item, calendar),
    )
    return fe


def _links(item: Item, calendar: str | None) -> tuple[Link, ...]:
    """The entry's links besides its page: image enclosure, online and registration pages,
    the event's calendar file."""
    links = []
    if item.image:
        links.append(Link(item.image.url, "enclosure", item.image.media_type, item.image.alt))
    if item.event and item.event.online_url:
        links.append(Link(item.event.online_url, "related", "text/html", "Join online"))
    if item.event and item.event.registration_url:
        links.append(Link(item.event.registration_url, "related", "text/html", "Register"))
    if calendar:
        links.append(Link(calendar, "related", "text/calendar", "Add to calendar"))
    return tuple(links)


def render_atom(view: FeedView) -> bytes:
    """The Atom 1.0 document of `view`."""
    fg = _generator(view, ATOM_FORMAT)
    return bytes(fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True))


def render_rss(view: FeedView) -> bytes:
    """The RSS 2.0 document of `view`."""
    fg = _generator(view, RSS_FORMAT)
    return bytes(fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True))


ATOM_FORMAT = Format("atom", "atom", ATOM, render_atom, label="Atom")
RSS_FORMAT = Format("rss", "rss", RSS, render_rss, label="RSS")
