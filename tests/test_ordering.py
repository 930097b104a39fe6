"""One order of items everywhere: whatever ties and withdrawals a catalog holds, a client
walking a feed and its archive chain (RFC 5005) finds every live item, and the
upcoming and past views are exact reverses of each other's order."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from syndicate import archives
from syndicate.feeds import all_feed_keys, feed_view, selected_items
from syndicate.loader import load_catalog
from syndicate.model import Catalog, Withdrawal, latest_first, soonest_first
from tests.conftest import CONTENT

EXAMPLES = int(os.environ.get("SYNDICATE_HYPOTHESIS_EXAMPLES", "500"))
TEMPLATE = load_catalog(CONTENT)
VOICE = next(i for i in TEMPLATE.items if i.event is None)
BASE = datetime(2026, 5, 1, 12, tzinfo=UTC)
TOPICS = tuple(TEMPLATE.topics)[:2]


@st.composite
def tied_catalogs(draw: st.DrawFn) -> Catalog:
    """Up to 14 items whose publication dates come from only three moments."""
    count = draw(st.integers(min_value=0, max_value=14))
    items = []
    for n in range(count):
        moment = BASE + timedelta(hours=draw(st.integers(min_value=0, max_value=2)))
        withdrawn = draw(st.booleans()) and draw(st.booleans())
        items.append(
            replace(
                VOICE,
                id=f"item-{draw(st.integers(min_value=0, max_value=99)):02d}-{n}",
                published=moment,
                updated=moment,
                topics=draw(st.sampled_from([TOPICS[:1], TOPICS[1:], TOPICS])),
                withdrawn=Withdrawal(moment, "Withdrawn.") if withdrawn else None,
            )
        )
    site = replace(TEMPLATE.site, feed_size=draw(st.integers(min_value=1, max_value=5)))
    return Catalog.build(site, list(TEMPLATE.types.values()), list(TEMPLATE.topics.values()), items)


@settings(max_examples=EXAMPLES, deadline=None)
@given(catalog=tied_catalogs())
def test_every_live_item_is_in_the_feed_or_on_exactly_one_archive_page(catalog):
    for key in all_feed_keys(catalog):
        if key.view is not None:
            continue
        feed = feed_view(catalog, key)
        archived = []
        for page_key, items in archives.pages(catalog, key):
            archived += [item.id for item in archives.archive_view(feed, page_key, items).entries]
        live = {item.id for item in selected_items(catalog, key) if item.withdrawn is None}
        # The feed may repeat the newest page's items; pages never repeat each other's.
        assert len(archived) == len(set(archived)), key
        assert {item.id for item in feed.entries} | set(archived) == live, key


def test_latest_first_is_soonest_first_reversed_even_on_ties():
    events = [i for i in TEMPLATE.items if i.event is not None]
    assert len(events) >= 2
    tied = [replace(e, event=replace(e.event, start=BASE)) for e in events]  # type: ignore[arg-type]
    assert latest_first(tied) == tuple(reversed(soonest_first(tied)))
