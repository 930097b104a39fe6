"""Which feeds exist and what each selects: plain data, no XML."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from syndicate.feeds import all_feed_keys, feed_view
from syndicate.loader import load_catalog
from syndicate.model import Catalog
from syndicate.urls import FeedKey, feed_path, parse_feed_path


def test_every_type_topic_and_combination_has_a_feed(content: Catalog):
    keys = set(all_feed_keys(content))
    assert FeedKey() in keys
    for slug in content.types:
        assert FeedKey(type=slug) in keys
    for topic in content.topics:
        assert FeedKey(topic=topic) in keys
        for slug in content.types:
            assert FeedKey(topic=topic, type=slug) in keys
    plain = {key for key in keys if key.view is None}
    assert len(plain) == 1 + len(content.types) + len(content.topics) * (1 + len(content.types))
    # feeds that hold events (every-type feeds, event-type feeds) also come in two views
    holding = {k for k in plain if k.type is None or content.types[k.type].kind.value == "event"}
    assert keys - plain == {
        FeedKey(k.topic, k.type, view) for k in holding for view in ("upcoming", "past")
    }


def test_topic_type_feed_selects_only_that_topic_and_type(content: Catalog):
    view = feed_view(content, FeedKey("harm-reduction", "events"))
    assert view.entries
    assert all(i.type == "events" and "harm-reduction" in i.topics for i in view.entries)


def test_entries_are_newest_first_by_published(content: Catalog):
    entries = feed_view(content, FeedKey()).entries
    assert [i.published for i in entries] == sorted((i.published for i in entries), reverse=True)


def test_withdrawn_items_leave_the_entries_and_are_announced(content: Catalog):
    view = feed_view(content, FeedKey("harm-reduction"))
    assert "drug-checking-services-explained" not in [i.id for i in view.entries]
    assert [i.id for i in view.withdrawn] == [
        "addiction-now-safe-injection-facilities",  # withdrawn 2026-11-25
        "drug-checking-services-explained",  # withdrawn 2026-11-22
    ]


def test_feed_updated_is_the_newest_change_never_the_clock(content: Catalog):
    view = feed_view(content, FeedKey("harm-reduction", "voices"))
    newest = max(
        [i.updated for i in view.entries]
        + [i.withdrawn.date for i in view.withdrawn if i.withdrawn]
    )
    assert view.updated == newest


def test_empty_feed_takes_the_catalogs_newest_change(config_dir):
    catalog = load_catalog(config_dir)
    view = feed_view(catalog, FeedKey("justice", "events"))
    assert view.entries == ()
    assert view.updated == max(i.updated for i in catalog.items)


def test_empty_catalog_feed_takes_the_tag_date(content: Catalog):
    empty = Catalog.build(
        content.site, list(content.types.values()), list(content.topics.values()), []
    )
    assert feed_view(empty, FeedKey()).updated == datetime(2026, 1, 1, tzinfo=UTC)


def test_feed_size_caps_the_entries(content: Catalog):
    small = replace(content, site=replace(content.site, feed_size=2))
    assert len(feed_view(small, FeedKey()).entries) == 2


def test_titles_name_the_topic_and_type(content: Catalog):
    assert feed_view(content, FeedKey("harm-reduction", "events")).title == (
        "Open Society Foundations: Harm Reduction – Events"
    )
    assert feed_view(content, FeedKey()).title == "Open Society Foundations"


def test_topic_feeds_link_to_the_topic_page(content: Catalog):
    view = feed_view(content, FeedKey("harm-reduction"))
    assert view.home_url == "https://www.opensocietyfoundations.org/topics/harm-reduction"


PATHS = [
    (FeedKey(), "atom", "/feed.atom"),
    (FeedKey(type="events"), "rss", "/events.rss"),
    (FeedKey(topic="harm-reduction"), "json", "/topics/harm-reduction/feed.json"),
    (FeedKey("harm-reduction", "voices"), "atom", "/topics/harm-reduction/voices.atom"),
]


def test_feed_paths_round_trip():
    for key, extension, path in PATHS:
        assert feed_path(key, extension) == path
        assert parse_feed_path(path) == (key, extension)


def test_non_feed_paths_do_not_parse():
    for path in ["/", "/topics/", "/topics/x/y/z.atom", "/Feed.atom", "/feed", "/../feed.atom"]:
        assert parse_feed_path(path) is None
