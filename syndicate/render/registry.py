"""The format registry: name -> (file extension, media type, pure render function).

A renderer is a pure function from a `FeedView` to bytes. The HTTP layer and the snapshot
builder look formats up here, so adding a format (iCalendar, HTML) touches neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from syndicate import urls
from syndicate.feeds import FeedView
from syndicate.model import Catalog
from syndicate.urls import FeedKey


def every_feed(key: FeedKey, catalog: Catalog) -> bool:
    return True


FEED = "feed"  # for feed readers: autodiscovery, OPML
CALENDAR = "calendar"  # for calendar apps: webcal links
FRAGMENT = "fragment"  # for partner sites: HTML to include in their pages
FRAME = "frame"  # for partner sites: a page to show in an iframe


@dataclass(frozen=True)
class Format:
    name: str
    extension: str
    media_type: str
    render: Callable[[FeedView], bytes]
    applies_to: Callable[[FeedKey, Catalog], bool] = every_feed
    label: str = ""
    kind: str = FEED  # who it is for: FEED, CALENDAR, FRAGMENT or FRAME
    prefix: str = ""  # before the feed's path: "/embed" for /embed/topics/x/feed.html
    headers: tuple[tuple[str, str], ...] = ()  # response headers of its own (a CSP)

    def path(self, key: FeedKey) -> str:
        """The path of `key`'s feed in this format."""
        return self.prefix + urls.feed_path(key, self.extension)

    @property
    def is_feed(self) -> bool:
        """A format for feed readers (autodiscovery, OPML)."""
        return self.kind == FEED

    @property
    def content_type(self) -> str:
        """The Content-Type header value."""
        return f"{self.media_type}; charset=utf-8"


def advertises_hubs(fmt: Format, key: FeedKey) -> bool:
    """The one rule for WebSub (W3C WebSub 4): the topics are the feeds and their views in
    feed formats, not their archive pages (which never change when items are added), nor
    calendars, fragments or pages. A topic names the hubs in its `Link` header and in the
    document; the publisher pings exactly these."""
    return fmt.kind == FEED and key.page is None


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    """Add `fmt` to the registry; paths must be unique (extension and prefix)."""
    if any((o.extension, o.prefix) == (fmt.extension, fmt.prefix) for o in FORMATS.values()):
        raise ValueError(f"{fmt.prefix}/….{fmt.extension} is already registered")
    FORMATS[fmt.name] = fmt
    return fmt


def by_extension(extension: str) -> Format | None:
    """The format of `/….{extension}` feed paths (not prefixed ones)."""
    return next((f for f in FORMATS.values() if f.extension == extension and not f.prefix), None)
