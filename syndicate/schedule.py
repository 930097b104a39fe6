"""Scheduled publishing and drafts: what is published at a given moment, and what waits.

An item whose `published` is later than now is scheduled, as in every CMS: it is in no
feed, page or count until that moment. An item marked `draft: true` waits for an editor,
whatever its date: it is in nothing the service serves or sends (feeds, calendars, pages,
embeds, archives, hence no WebSub ping either) until the mark is removed. `as_of` splits
a catalog at a moment into the catalog of what is published, the items still scheduled
and the drafts; the service renders the first and rebuilds by itself at the next
scheduled moment (`web/publishing.py`). Output stays deterministic: the same content at
the same side of every scheduled moment gives the same bytes; the moment itself is never
written into a feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from syndicate.model import Catalog, Item, oldest_first


@dataclass(frozen=True)
class Published:
    """A catalog split at a moment."""

    catalog: Catalog  # what is published by the moment
    scheduled: tuple[Item, ...]  # what is not yet, soonest first (drafts apart)
    drafts: tuple[Item, ...] = ()  # what waits for an editor, oldest first

    @property
    def next_moment(self) -> datetime | None:
        """When the next scheduled item is due; None when nothing is scheduled."""
        return self.scheduled[0].published if self.scheduled else None


def as_of(catalog: Catalog, moment: datetime) -> Published:
    """The part of `catalog` published by `moment`, the items scheduled after it, and the
    drafts."""
    drafts = oldest_first(item for item in catalog.items if item.draft)
    scheduled = oldest_first(
        item for item in catalog.items if item.published > moment and not item.draft
    )
    if not scheduled and not drafts:
        return Published(catalog, ())
    visible = [item for item in catalog.items if item.published <= moment and not item.draft]
    published = Catalog.build(
        catalog.site, list(catalog.types.values()), list(catalog.topics.values()), visible
    )
    return Published(published, scheduled, drafts)
