"""The activities our actors send and list, pure from the content: what a follower's server
receives when an item goes live (`create`, or `announce` by the other actors carrying it),
changes (`update`), or is withdrawn (`delete`), and the answer to a follow (`accept`).

Ids are stable: the same item gives the same Create and Announce ids on every machine, an
Update's id names the version it carries, and an Accept's id the Follow it answers.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from syndicate import urls
from syndicate.fediverse.notes import CONTEXT, PUBLIC, actor_url, author, event_object, note
from syndicate.model import Catalog, Item, Site

SECURITY = "https://w3id.org/security/v1"
# Events as event software reads them: iCalendar's status, Mobilizon's time zone.
EVENT_CONTEXT: list[Any] = [
    CONTEXT,
    {"ical": "http://www.w3.org/2002/12/cal/ical#", "mz": "https://joinmobilizon.org/ns#",
     "timezone": "mz:timezone"},
]  # fmt: skip


def _followers(site: Site, handle: str) -> str:
    return f"{actor_url(site, handle)}/followers"


def _carrying(kind: str, found: dict[str, Any], activity_id: str, when: str) -> dict[str, Any]:
    """An activity of the Note's author carrying the whole Note, to its audience."""
    return {
        "@context": CONTEXT, "id": activity_id, "type": kind, "actor": found["attributedTo"],
        "published": when, "to": found["to"], "cc": found["cc"], "object": found,
    }  # fmt: skip


def create(catalog: Catalog, item: Item) -> dict[str, Any]:
    """The Create of `item`'s Note, by its author."""
    found = note(catalog, item)
    return _carrying("Create", found, f"{found['id']}/activity", found["published"])


def announce(catalog: Catalog, item: Item, handle: str) -> dict[str, Any]:
    """`handle` sharing `item`'s Note with its own followers (an actor carrying the item
    that is not its author)."""
    site = catalog.site
    found = note(catalog, item)
    return {
        "@context": CONTEXT,
        "id": f"{actor_url(site, handle)}/announces/{item.id}",
        "type": "Announce",
        "actor": actor_url(site, handle),
        "published": found["published"],
        "to": [PUBLIC],
        "cc": [_followers(site, handle), found["attributedTo"]],
        "object": found["id"],
    }


def listed(catalog: Catalog, item: Item, handle: str) -> dict[str, Any]:
    """How `item` appears in `handle`'s outbox: its Create, an Announce of it, or (the
    events actor's) the Create of its Event."""
    if handle == urls.EVENTS_HANDLE:
        return create_event(catalog, item)
    if author(item) == handle:
        return create(catalog, item)
    return announce(catalog, item, handle)


def _event_activity(
    kind: str, found: dict[str, Any], activity_id: str, when: str
) -> dict[str, Any]:
    return {**_carrying(kind, found, activity_id, when), "@context": EVENT_CONTEXT}


def create_event(catalog: Catalog, item: Item) -> dict[str, Any]:
    """The events actor's Create of `item`'s Event."""
    found = event_object(catalog, item)
    return _event_activity("Create", found, f"{found['id']}/activity", found["published"])


def update_event(catalog: Catalog, item: Item, version: str) -> dict[str, Any]:
    """The Update of `item`'s Event (a change of time, place or status: a cancellation)."""
    found = event_object(catalog, item)
    when = found.get("updated", found["published"])
    return _event_activity("Update", found, f"{found['id']}/updates/{version[:16]}", when)


def update(catalog: Catalog, item: Item, version: str) -> dict[str, Any]:
    """The Update of `item`'s Note (the same id, forever) to what it says now; `version`,
    the new Note's digest, makes each Update's id unique."""
    found = note(catalog, item)
    when = found.get("updated", found["published"])
    return _carrying("Update", found, f"{found['id']}/updates/{version[:16]}", when)


def delete(site: Site, item_id: str, by: str, when: datetime) -> dict[str, Any]:
    """The Delete of a withdrawn item's Note (by the events actor: of its Event): a
    Tombstone in its place."""
    path = urls.event_object_path if by == urls.EVENTS_HANDLE else urls.note_path
    note_id = urls.absolute(site, path(item_id))
    return {
        "@context": CONTEXT,
        "id": f"{note_id}/delete",
        "type": "Delete",
        "actor": actor_url(site, by),
        "to": [PUBLIC],
        "cc": [_followers(site, by)],
        "object": {
            "id": note_id,
            "type": "Tombstone",
            "deleted": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }


def accept(site: Site, handle: str, follow: dict[str, Any]) -> dict[str, Any]:
    """The answer to a Follow of `handle`: accepted (nobody approves followers by hand)."""
    follow_id = str(follow.get("id", ""))
    key = hashlib.sha256(follow_id.encode("utf-8")).hexdigest()[:32]
    return {
        "@context": CONTEXT,
        "id": f"{actor_url(site, handle)}/accepts/{key}",
        "type": "Accept",
        "actor": actor_url(site, handle),
        "object": follow,
    }
