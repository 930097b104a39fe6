"""JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/).

Extensions, as the spec allows (keys starting with an underscore, each with an `about`):

* `_event` on items of an event type: `start` and `end` (RFC 3339 date-times, or dates for
  all-day events, `end` then being the last day included), `timezone` (IANA), `all_day`,
  `text` (the schedule as people read it), `location` (`venue`, `address`, `city`,
  `country`, `text`), `online_url`, `registration_url`, `status` (`scheduled`,
  `cancelled`, `postponed`, `rescheduled`, `moved-online`) and `schema_org_status` (its
  schema.org URL), `changes` (`date`, `note`), `calendar_url` (the event's .ics file).
* `_archive` at feed level, on feeds with archive pages (RFC 5005) and on the pages:
  `archive` (true on a page), `current`, `prev_archive`, `next_archive` (URLs); `next_url`
  is the same chain from JSON Feed's side (the next older items).
* `_deleted` at feed level: the withdrawn items, `{"items": [{"id", "url", "date_withdrawn",
  "reason"}]}`, the JSON twin of Atom's RFC 6721 tombstones.
"""

from __future__ import annotations

import json
from typing import Any

from syndicate import archives, eventtext, urls
from syndicate.feeds import FeedView
from syndicate.model import Event, EventStatus, Item, Person
from syndicate.render.feedgen_ext import event_date
from syndicate.render.registry import Format, advertises_hubs

VERSION = "https://jsonfeed.org/version/1.1"
SCHEMA_ORG_STATUS = {
    EventStatus.SCHEDULED: "https://schema.org/EventScheduled",
    EventStatus.CANCELLED: "https://schema.org/EventCancelled",
    EventStatus.POSTPONED: "https://schema.org/EventPostponed",
    EventStatus.RESCHEDULED: "https://schema.org/EventRescheduled",
    EventStatus.MOVED_ONLINE: "https://schema.org/EventMovedOnline",
}
MEDIA_TYPE = "application/feed+json"
EXTENSIONS_DOC = "/developers/#extensions"


def _person(person: Person) -> dict[str, str]:
    return {k: v for k, v in (("name", person.name), ("url", person.url)) if v}


def _event(event: Event, about: str) -> dict[str, Any]:
    location = {
        k: v
        for k, v in (
            ("venue", event.venue), ("address", event.address), ("city", event.city),
            ("country", event.country), ("text", eventtext.where(event)),
        )
        if v
    }  # fmt: skip
    data: dict[str, Any] = {
        "about": about,
        "start": event_date(event.start, event),
        "end": event_date(event.end, event) if event.end else None,
        "timezone": event.timezone,
        "all_day": event.all_day,
        "text": eventtext.when(event),
        "location": location or None,
        "online_url": event.online_url,
        "registration_url": event.registration_url,
        "status": event.status.value,
        "schema_org_status": SCHEMA_ORG_STATUS[event.status],
        "changes": [
            {"date": change.date.isoformat(), "note": change.note} for change in event.changes
        ]
        or None,
    }
    return {k: v for k, v in data.items() if v is not None}


def _item(view: FeedView, item: Item, about: str) -> dict[str, Any]:
    catalog = view.catalog
    body = item.content or item.summary
    calendar = urls.absolute(view.site, urls.event_calendar_path(item.id)) if item.event else None
    prefix_html = eventtext.as_html(item.event, calendar) if item.event else ""
    data: dict[str, Any] = {
        "id": urls.item_id(view.site, item.id),
        "url": item.url,
        "title": eventtext.titled(item.title, item.event),
        "content_html": prefix_html + body.html,
        # The summary alone: a preview (and partners' embeds) shows the schedule from
        # `_event`; content_html starts with it for readers.
        "summary": item.summary.plain,
        "image": item.image.url if item.image else None,
        "date_published": item.published.isoformat(),
        "date_modified": item.updated.isoformat(),
        "authors": [_person(p) for p in item.authors] or None,
        "tags": [catalog.topics[t].title for t in item.topics] + list(item.tags),
        "language": item.language,
    }
    if item.event:
        data["_event"] = _event(item.event, about)
        data["_event"]["calendar_url"] = calendar
    return {k: v for k, v in data.items() if v is not None}


def render_json_feed(view: FeedView) -> bytes:
    """The JSON Feed 1.1 document of `view`: UTF-8, keys in a fixed order, newline-terminated.

    Compact (no indentation): json's C encoder is only used without `indent`, and is several
    times faster on large feeds.
    """
    site = view.site
    about = urls.absolute(site, EXTENSIONS_DOC)
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": view.title,
        "home_page_url": view.home_url,
        "feed_url": view.url("json"),
        "description": view.subtitle,
        "icon": site.icon,
        "favicon": site.icon,
        "authors": [_person(site.publisher)],
        "language": site.language,
        "hubs": [{"type": "WebSub", "url": hub} for hub in site.hubs]
        if site.hubs and advertises_hubs(FORMAT, view.key)
        else None,
        "items": [_item(view, item, about) for item in view.entries],
    }
    history = dict(archives.links(view, "json"))
    # JSON Feed's own paging: next_url is the next older items, the RFC 5005 chain.
    feed["next_url"] = history.get("prev-archive")
    if history:
        feed["_archive"] = {
            "about": about,
            "archive": view.key.page is not None,
            **{rel.replace("-", "_"): url for rel, url in history.items()},
        }
    if view.withdrawn:
        feed["_deleted"] = {
            "about": about,
            "items": [
                {
                    "id": urls.item_id(site, item.id),
                    "url": item.url,
                    "date_withdrawn": item.withdrawn.date.isoformat(),
                    "reason": item.withdrawn.reason,
                }
                for item in view.withdrawn
                if item.withdrawn
            ],
        }
    cleaned = {k: v for k, v in feed.items() if v is not None}
    return (json.dumps(cleaned, ensure_ascii=False) + "\n").encode("utf-8")


FORMAT = Format("json", "json", MEDIA_TYPE, render_json_feed, label="JSON Feed")
