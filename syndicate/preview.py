"""What `syndicate preview` serves: the content as it will be, drafts and scheduled items
included, each marked.

An editor previews before publishing: every page, feed, calendar and embed shows what
subscribers will get once the drafts are published and the scheduled moments have come. The
one difference is a mark at the start of those items' titles, "[Draft]" or "[Scheduled: 3
December 2026, 09:00]" (in the site's zone), so nobody mistakes the preview for the public
service. The site is marked too (`Site.preview`): every page carries a banner and `noindex`,
and the service sends `X-Robots-Tag: noindex` and tells no WebSub hub of anything
(`preview_site` leaves the hubs out). Pure: the same content at the same moment gives the
same preview.
"""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

from syndicate.eventtext import date
from syndicate.model import Catalog, Item, Site
from syndicate.schedule import Published

DRAFT_MARK = "[Draft]"
SCHEDULED_MARK = "[Scheduled: {when}]"


def scheduled_mark(item: Item, zone: str) -> str:
    """ "[Scheduled: 3 December 2026, 09:00]": when `item` will appear, in the site's zone."""
    local = item.published.astimezone(ZoneInfo(zone))
    when = f"{date(item.published, zone)}, {local.hour:02d}:{local.minute:02d}"
    return SCHEDULED_MARK.format(when=when)


def marked(item: Item, mark: str) -> Item:
    return replace(item, title=f"{mark} {item.title}")


def preview_site(site: Site) -> Site:
    """The site as the preview shows it: marked, and with no hub to tell."""
    return replace(site, preview=True, hubs=())


def preview_catalog(published: Published) -> Catalog:
    """Everything in `published` (what is public, what is scheduled and the drafts) in one
    catalog, the scheduled items and drafts marked in their titles."""
    site = published.catalog.site
    waiting = [marked(item, scheduled_mark(item, site.timezone)) for item in published.scheduled]
    waiting += [marked(item, DRAFT_MARK) for item in published.drafts]
    catalog = published.catalog
    return Catalog.build(
        preview_site(site),
        list(catalog.types.values()),
        list(catalog.topics.values()),
        [*catalog.items, *waiting],
    )
