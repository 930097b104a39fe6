"""Archived feeds (RFC 5005 section 4): every item of a feed reachable, in pages that never
change when items are added.

A feed's items (withdrawn ones included, so that pages keep their places) oldest first in
`model.publication_order` (the exact reverse of the feeds' order, so ties fall the same way
in both) are cut into pages of `feed_size` items: page 1
holds the oldest, page n+1 the next. Only full pages are archive documents; the items after
the last full page (fewer than `feed_size`) are among the newest, which the subscription
feed holds. So:

* a new item changes no archive page: it joins the subscription feed, and every
  `feed_size` items a new page appears;
* an edit or withdrawal of an old item changes only the page that holds it (a withdrawn
  item is announced there: an Atom tombstone, JSON `_deleted`; RSS just leaves it out);
* an item added with a `published` date older than archived items moves the later items
  by one place, so the pages from there on change (their ETags tell clients).

Links (`Link`-relation names from RFC 5005): the subscription feed's `prev-archive` is the
newest page; page n's `prev-archive` is page n-1, its `next-archive` page n+1 (a URL known
in advance, so no page changes when the next one appears; the newest page's next is not
served until it is full), and `current` the subscription feed. Views (upcoming, past) have
no archives: they are windows in time over the same items, which their feed archives.
"""

from __future__ import annotations

from dataclasses import replace

from syndicate import urls
from syndicate.feeds import FeedView, last_change, selected_items
from syndicate.model import Catalog, Item, oldest_first
from syndicate.urls import FeedKey


def pages(catalog: Catalog, key: FeedKey) -> list[tuple[FeedKey, tuple[Item, ...]]]:
    """The archive pages of the feed `key`: (the page's key, its items oldest first)."""
    size = catalog.site.feed_size
    items = oldest_first(selected_items(catalog, key))
    return [
        (replace(key, page=n + 1), tuple(items[n * size : (n + 1) * size]))
        for n in range(len(items) // size)
    ]


def archive_view(feed: FeedView, key: FeedKey, items: tuple[Item, ...]) -> FeedView:
    """Archive page `key` of the feed `feed`, holding `items` (oldest first, from `pages`)."""
    assert key.page is not None and key.view is None
    newest_first = tuple(reversed(items))
    return replace(
        feed,
        key=key,
        title=f"{feed.title} (archive {key.page})",
        entries=tuple(item for item in newest_first if item.withdrawn is None),
        withdrawn=tuple(item for item in newest_first if item.withdrawn is not None),
        updated=max((last_change(item) for item in items), default=feed.updated),
        archives=0,
    )


def links(view: FeedView, extension: str) -> tuple[tuple[str, str], ...]:
    """The RFC 5005 links of `view` in the format with `extension`: (rel, absolute URL)."""
    site, key = view.site, view.key
    if key.page is None:
        if not view.archives:
            return ()
        newest = replace(key, page=view.archives)
        return (("prev-archive", urls.absolute(site, urls.feed_path(newest, extension))),)
    found = [("current", urls.absolute(site, urls.feed_path(replace(key, page=None), extension)))]
    if key.page > 1:
        older = replace(key, page=key.page - 1)
        found.append(("prev-archive", urls.absolute(site, urls.feed_path(older, extension))))
    newer = replace(key, page=key.page + 1)
    found.append(("next-archive", urls.absolute(site, urls.feed_path(newer, extension))))
    return tuple(found)
