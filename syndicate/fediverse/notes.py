"""An item as the fediverse shows it: a `Note` (the one type Mastodon displays whole), pure
from the item and the site.

* The text: the title in bold, the summary, for an event its status, when (in the event's
  zone) and where, the link to the item's page, and a hashtag per topic. Every editor's
  string is escaped here; Mastodon keeps `p`, `a`, `strong`, `br` and `span`.
* `contentMap` with the item's (or the site's) language: language-filtered timelines drop a
  post without it.
* One Note per item, forever (`/ap/notes/{id}`), attributed to the item's first topic (the
  site's actor when it has none). The other actors that carry the item announce it.
* `digest`: what followers were told, so that a change is sent as an Update and nothing else.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from syndicate import eventtext, urls
from syndicate.model import Catalog, Item, Site

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
CONTEXT = "https://www.w3.org/ns/activitystreams"
_NOT_IN_HASHTAG = re.compile(r"[^\w]+")


def author(item: Item) -> str:
    """The handle of the actor a Note is attributed to: the item's first topic."""
    return item.topics[0] if item.topics else urls.SITE_HANDLE


def carriers(item: Item) -> tuple[str, ...]:
    """Every actor whose followers get the item: its topics, the site's, and for an event
    the events actor's (which gives it as an `Event`, not a Note)."""
    events = (urls.EVENTS_HANDLE,) if item.event is not None else ()
    return (*item.topics, urls.SITE_HANDLE, *events)


def actor_url(site: Site, handle: str) -> str:
    return urls.absolute(site, urls.actor_path(handle))


def hashtag(title: str) -> str:
    """A topic's hashtag: its title's words run together ("Harm Reduction" -> HarmReduction);
    letters and digits of any script stay."""
    words = [w for w in _NOT_IN_HASHTAG.split(title.replace("_", " ")) if w]
    return "".join(w[:1].upper() + w[1:] for w in words)


def _paragraph(text: str) -> str:
    return f"<p>{html.escape(text, quote=False)}</p>"


def content(catalog: Catalog, item: Item) -> str:
    """The Note's HTML: title, summary, the event's status, time and place, link, hashtags."""
    site = catalog.site
    parts = [f"<p><strong>{html.escape(item.title, quote=False)}</strong></p>"]
    parts.append(_paragraph(item.summary.plain))
    event = item.event
    if event is not None:
        status = eventtext.status_label(event)
        if status:
            parts.append(f"<p><strong>{html.escape(status, quote=False)}</strong></p>")
        where = eventtext.where(event)
        parts.append(_paragraph(f"{eventtext.when(event)}{f' · {where}' if where else ''}"))
        if event.online_url:
            online = html.escape(event.online_url)
            parts.append(f'<p>Online: <a href="{online}">{online}</a></p>')
    link = html.escape(item.url)
    parts.append(f'<p><a href="{link}">{link}</a></p>')
    tags = []
    for slug in item.topics:
        topic = catalog.topics.get(slug)
        name = hashtag(topic.title) if topic else ""
        if name:
            page = html.escape(urls.absolute(site, urls.topic_page_path(slug)))
            tags.append(
                f'<a href="{page}" class="mention hashtag" rel="tag">'
                f"#<span>{html.escape(name, quote=False)}</span></a>"
            )
    if tags:
        parts.append(f"<p>{' '.join(tags)}</p>")
    return "".join(parts)


def note(catalog: Catalog, item: Item) -> dict[str, Any]:
    """The Note of `item` (without @context: it goes inside an activity or a document)."""
    site = catalog.site
    by = author(item)
    body = content(catalog, item)
    language = item.language or site.language
    found: dict[str, Any] = {
        "id": urls.absolute(site, urls.note_path(item.id)),
        "type": "Note",
        "attributedTo": actor_url(site, by),
        "to": [PUBLIC],
        "cc": [f"{actor_url(site, by)}/followers"],
        "published": _iso(item.published),
        "url": item.url,
        "content": body,
        "contentMap": {language: body},
        "summary": None,
        "sensitive": False,
        "tag": [
            {
                "type": "Hashtag",
                "href": urls.absolute(site, urls.topic_page_path(slug)),
                "name": f"#{hashtag(catalog.topics[slug].title)}",
            }
            for slug in item.topics
            if slug in catalog.topics and hashtag(catalog.topics[slug].title)
        ],
    }
    if item.updated > item.published:
        found["updated"] = _iso(item.updated)
    event = item.event
    if event is not None:  # ActivityStreams' own properties: servers that look read them
        zone = ZoneInfo(event.timezone)
        found["startTime"] = event.start.astimezone(zone).isoformat()
        if event.end is not None:
            found["endTime"] = event.end.astimezone(zone).isoformat()
        place = ", ".join(p for p in (event.venue, event.address, event.city, event.country) if p)
        if place:
            found["location"] = {"type": "Place", "name": event.venue or place, "address": place}
    if item.image is not None:
        found["attachment"] = [
            {
                "type": "Image",
                "mediaType": item.image.media_type,
                "url": item.image.url,
                "name": item.image.alt,
            }
        ]
    return found


def digest(found: dict[str, Any]) -> str:
    """A fingerprint of what a Note says: equal Notes, equal digests."""
    return hashlib.sha256(
        json.dumps(found, sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


ICAL_STATUS = {"cancelled": "CANCELLED", "postponed": "TENTATIVE"}  # the rest: CONFIRMED


def event_object(catalog: Catalog, item: Item) -> dict[str, Any]:
    """`item` (an event) as an ActivityStreams `Event`, as event software reads it
    (Mobilizon, Gancio): name, description, start and end in the event's zone, place, its
    page, and its status as iCalendar says it. By the events actor, never a topic's."""
    event = item.event
    assert event is not None
    site = catalog.site
    by = actor_url(site, urls.EVENTS_HANDLE)
    zone = ZoneInfo(event.timezone)
    summary = f"<p>{html.escape(item.summary.plain, quote=False)}</p>"
    found: dict[str, Any] = {
        "id": urls.absolute(site, urls.event_object_path(item.id)),
        "type": "Event",
        "name": item.title,
        "attributedTo": by,
        "to": [PUBLIC],
        "cc": [f"{by}/followers"],
        "published": _iso(item.published),
        "url": item.url,
        "content": summary,
        "contentMap": {item.language or site.language: summary},
        "startTime": event.start.astimezone(zone).isoformat(),
        "timezone": event.timezone,
        "ical:status": ICAL_STATUS.get(event.status.value, "CONFIRMED"),
    }
    if event.end is not None:
        found["endTime"] = event.end.astimezone(zone).isoformat()
    if item.updated > item.published:
        found["updated"] = _iso(item.updated)
    place = ", ".join(p for p in (event.venue, event.address, event.city, event.country) if p)
    if place:
        found["location"] = {"type": "Place", "name": event.venue or place, "address": place}
    if event.online_url:
        found["attachment"] = [{"type": "Link", "name": "Online", "href": event.online_url}]
    return found
