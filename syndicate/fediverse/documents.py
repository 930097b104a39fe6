"""The fediverse's public documents, rendered into the snapshot like every feed: pure from
the catalog (and the actors' public key), byte-identical on every replica.

* `actor`: a topic's (or the site's) actor: name, summary, icon, the topic page as `url`,
  inbox, shared inbox, outbox, followers, public key. A `Service` (an automated account:
  Mastodon shows it as such), accepting followers without approval.
* `webfinger`: `acct:{handle}@{host}` to the actor (RFC 7033, `application/jrd+json`).
* `nodeinfo_links` / `nodeinfo`: what this server is (NodeInfo 2.1).
* `outbox` and `outbox_page`: the actor's posts, newest first, `PAGE_SIZE` a page, so that a
  new follower's server can fill in what came before the follow.
* `note_document`: one item's Note, at its id.
"""

from __future__ import annotations

import html
import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

from syndicate import urls
from syndicate.fediverse.activities import EVENT_CONTEXT, SECURITY, listed
from syndicate.fediverse.notes import CONTEXT, actor_url, carriers, event_object, note
from syndicate.model import Catalog, Item, Kind, Site, newest_first

ACTIVITY_JSON = "application/activity+json"
JRD_JSON = "application/jrd+json"
NODEINFO_JSON = 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'
PAGE_SIZE = 20
ACTOR_CONTEXT: list[Any] = [
    CONTEXT,
    SECURITY,
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
    },
]


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"


def host(site: Site) -> str:
    """The host in every handle: the public URL's."""
    return urlsplit(urls.absolute(site, "/")).netloc


def handles(catalog: Catalog) -> tuple[str, ...]:
    """Every actor: each topic, the site, and (when it has a type of events) the events
    actor, which gives event software each event as an `Event`."""
    events = any(kind.kind == Kind.EVENT for kind in catalog.types.values())
    return (*catalog.topics, urls.SITE_HANDLE, *((urls.EVENTS_HANDLE,) if events else ()))


def profile_url(catalog: Catalog, handle: str) -> str:
    """The page a person sees for the actor: the topic page, or the front page."""
    if handle in (urls.SITE_HANDLE, urls.EVENTS_HANDLE):
        return urls.absolute(catalog.site, urls.INDEX_PATH)
    return urls.absolute(catalog.site, urls.topic_page_path(handle))


def carried(catalog: Catalog, handle: str) -> tuple[Item, ...]:
    """The live items `handle`'s followers get, newest first."""
    return newest_first(
        item for item in catalog.items if item.withdrawn is None and handle in carriers(item)
    )


def actor(catalog: Catalog, handle: str) -> dict[str, Any]:
    site = catalog.site
    assert site.actors_key is not None
    me = actor_url(site, handle)
    if handle == urls.SITE_HANDLE:
        name, about = site.title, site.description or f"Everything {site.title} publishes."
    elif handle == urls.EVENTS_HANDLE:
        name = f"{site.title}: events"
        about = (
            f"Every event {site.title} announces, as calendar events: for Mobilizon, "
            "Gancio and other event software. On Mastodon, follow a topic instead."
        )
    else:
        topic = catalog.topics[handle]
        name = topic.title
        about = topic.description or f"What {site.title} publishes on {topic.title}."
    found: dict[str, Any] = {
        "@context": ACTOR_CONTEXT,
        "id": me,
        "type": "Service",
        "preferredUsername": handle,
        "name": name,
        "summary": f"<p>{html.escape(about, quote=False)}</p>",
        "url": profile_url(catalog, handle),
        "inbox": f"{me}/inbox",
        "outbox": f"{me}/outbox",
        "followers": f"{me}/followers",
        "endpoints": {"sharedInbox": urls.absolute(site, urls.SHARED_INBOX_PATH)},
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "indexable": True,
        "publicKey": {"id": f"{me}#main-key", "owner": me, "publicKeyPem": site.actors_key},
    }
    icon = site.icon or site.logo
    if icon:
        found["icon"] = {"type": "Image", "url": icon}  # an absolute URL (schema.py)
    return found


def actor_document(catalog: Catalog, handle: str) -> bytes:
    return _json(actor(catalog, handle))


def webfinger(catalog: Catalog, handle: str) -> bytes:
    me = actor_url(catalog.site, handle)
    page = profile_url(catalog, handle)
    return _json(
        {
            "subject": f"acct:{handle}@{host(catalog.site)}",
            "aliases": [me, page],
            "links": [
                {"rel": "self", "type": ACTIVITY_JSON, "href": me},
                {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": page},
            ],
        }
    )


def nodeinfo_links(catalog: Catalog) -> bytes:
    target = urls.absolute(catalog.site, urls.NODEINFO_DOCUMENT_PATH)
    schema = "http://nodeinfo.diaspora.software/ns/schema/2.1"
    return _json({"links": [{"rel": schema, "href": target}]})


def _version() -> str:
    try:
        return version("syndicate")
    except PackageNotFoundError:  # run from a folder, not installed
        return "0"


def nodeinfo(catalog: Catalog) -> bytes:
    return _json(
        {
            "version": "2.1",
            "software": {"name": "syndicate", "version": _version()},
            "protocols": ["activitypub"],
            "services": {"inbound": [], "outbound": ["atom1.0", "rss2.0"]},
            "openRegistrations": False,
            "usage": {
                "users": {"total": len(handles(catalog))},
                "localPosts": sum(1 for item in catalog.items if item.withdrawn is None),
            },
            "metadata": {"nodeName": catalog.site.title},
        }
    )


def pages_of(items: tuple[Item, ...]) -> int:
    """How many outbox pages `items` (an actor's `carried` items) fill: at least one."""
    return max(1, -(-len(items) // PAGE_SIZE))


def outbox(catalog: Catalog, handle: str, items: tuple[Item, ...]) -> bytes:
    """`handle`'s outbox collection; `items`, what it carries (`carried`, computed once for
    the collection and all its pages)."""
    site = catalog.site
    return _json(
        {
            "@context": CONTEXT,
            "id": f"{actor_url(site, handle)}/outbox",
            "type": "OrderedCollection",
            "totalItems": len(items),
            "first": urls.absolute(site, urls.outbox_page_path(handle, 1)),
            "last": urls.absolute(site, urls.outbox_page_path(handle, pages_of(items))),
        }
    )


def outbox_page(catalog: Catalog, handle: str, items: tuple[Item, ...], page: int) -> bytes:
    """Page `page` of `handle`'s outbox: 1 holds the newest posts."""
    site = catalog.site
    found: dict[str, Any] = {
        "@context": CONTEXT,
        "id": urls.absolute(site, urls.outbox_page_path(handle, page)),
        "type": "OrderedCollectionPage",
        "partOf": f"{actor_url(site, handle)}/outbox",
        "orderedItems": [
            _bare(listed(catalog, item, handle))
            for item in items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        ],
    }
    if page > 1:
        found["prev"] = urls.absolute(site, urls.outbox_page_path(handle, page - 1))
    if page < pages_of(items):
        found["next"] = urls.absolute(site, urls.outbox_page_path(handle, page + 1))
    return _json(found)


def note_document(catalog: Catalog, item: Item) -> bytes:
    return _json({"@context": CONTEXT, **note(catalog, item)})


def event_document(catalog: Catalog, item: Item) -> bytes:
    return _json({"@context": EVENT_CONTEXT, **event_object(catalog, item)})


NEGOTIATED = frozenset(
    {"ap-actor", "ap-note", "ap-event"}
)  # representations a browser is redirected from
# Every representation format of the fediverse's documents (snapshot.fediverse_documents).
FORMATS = frozenset({"ap-actor", "ap-note", "ap-event", "ap-outbox", "webfinger", "nodeinfo"})


def browser_url(catalog: Catalog, path: str) -> str | None:
    """Where a browser asking for the actor or Note at `path` is sent: the topic page (or
    the front page), or the item's own page."""
    prefix = urls.actor_path("")
    if path.startswith(prefix):
        return profile_url(catalog, path.removeprefix(prefix))
    item_id = path.removeprefix(urls.note_path("")).removeprefix(urls.event_object_path(""))
    for item in catalog.items:
        if item.id == item_id:
            return item.url
    return None


def prefers_html(accept: str | None) -> bool:
    """A browser's Accept (text/html, and no ActivityPub type): an ActivityPub client, or one
    that sends no Accept or */*, gets the JSON."""
    if not accept or "text/html" not in accept:
        return False
    return "activity+json" not in accept and "ld+json" not in accept


def _bare(activity: dict[str, Any]) -> dict[str, Any]:
    """An activity inside a collection: the collection's @context covers it."""
    return {key: value for key, value in activity.items() if key != "@context"}
