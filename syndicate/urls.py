"""Every public URL and permanent id, built in one place so routes and links cannot drift.

URL scheme (paths below the site's `feeds_url`):

    /feed.{ext}                    everything, site-wide
    /{type}.{ext}                  one content type, site-wide   /events.atom
    /topics/{topic}/feed.{ext}     one topic, every type         /topics/harm-reduction/feed.rss
    /topics/{topic}/{type}.{ext}   one topic, one type           /topics/harm-reduction/events.json

Permanent ids are RFC 4151 tag URIs: `tag:{authority},{date}:{specific}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from syndicate.model import Site

ALL = "feed"  # the file name of "every type" feeds


@dataclass(frozen=True, order=True)
class FeedKey:
    """Which items a feed selects: a topic or every topic, a type or every type."""

    topic: str | None = None
    type: str | None = None


def feed_path(key: FeedKey, extension: str) -> str:
    """The path of `key`'s feed in the format with file `extension` (e.g. "atom")."""
    name = f"{key.type or ALL}.{extension}"
    return f"/topics/{key.topic}/{name}" if key.topic else f"/{name}"


_FEED_PATH = re.compile(
    r"^(?:/topics/(?P<topic>[a-z0-9][a-z0-9-]*))?/(?P<name>[a-z0-9][a-z0-9-]*)\.(?P<ext>[a-z]+)$"
)


def parse_feed_path(path: str) -> tuple[FeedKey, str] | None:
    """The inverse of `feed_path`: (key, extension), or None if `path` is not feed-shaped."""
    match = _FEED_PATH.match(path)
    if not match:
        return None
    name = match["name"]
    return FeedKey(match["topic"], None if name == ALL else name), match["ext"]


def absolute(site: Site, path: str) -> str:
    """`path` below the service's public base URL."""
    return site.feeds_url + path


def tag(site: Site, specific: str) -> str:
    """An RFC 4151 tag URI minted from the site's authority and date."""
    return f"tag:{site.tag_authority},{site.tag_date}:{specific}"


def item_id(site: Site, item_id: str) -> str:
    """The permanent id of an item: depends on its `id` only, never on title, URL or file."""
    return tag(site, f"item/{item_id}")


def feed_id(site: Site, key: FeedKey) -> str:
    """The permanent id of a feed; the same in every format."""
    return tag(site, f"feed{'/topics/' + key.topic if key.topic else ''}/{key.type or 'all'}")


def category_scheme(site: Site, vocabulary: str) -> str:
    """The scheme URI of one category vocabulary: "topics", "types" or "tags"."""
    return tag(site, vocabulary)
