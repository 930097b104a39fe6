"""Reach in the database (people/reach.py), on SQLite and PostgreSQL: counts added, latest
figures replaced, each poller counted once, a finished day's hashes forgotten, old days
deleted, channels counted, operators' sessions."""

from __future__ import annotations

import threading
from datetime import date, timedelta

from syndicate.people import followers
from syndicate.people import reach as stored
from syndicate.people.followers import Follower
from syndicate.people.reach import Row
from tests.people import old_subscriber
from tests.test_people import NOW, subscribed, table

DAY = date(2026, 11, 30)
FEED = "/topics/harm-reduction/feed.atom"


def values(engine, day: date = DAY) -> dict[tuple[str, str, str], int]:  # type: ignore[no-untyped-def]
    return {
        (r.path, r.measure, r.detail): r.value for r in stored.rows(engine, day) if r.day == day
    }


def test_counts_from_every_worker_add_up(engine):
    stored.add(engine, [Row(DAY, FEED, "requests", "", 3)], [], [])
    stored.add(engine, [Row(DAY, FEED, "requests", "", 4)], [], [])
    assert values(engine)[(FEED, "requests", "")] == 7


def test_a_hosted_readers_figure_is_its_latest_not_a_sum(engine):
    stored.add(engine, [], [Row(DAY, FEED, "subscribers", "Feedly", 16)], [])
    stored.add(engine, [], [Row(DAY, FEED, "subscribers", "Feedly", 15)], [])
    assert values(engine)[(FEED, "subscribers", "Feedly")] == 15


def test_a_poller_seen_by_two_workers_is_one_poller(engine):
    stored.add(engine, [], [], [(DAY, FEED, "aa", "newsboat"), (DAY, FEED, "bb", "other")])
    stored.add(engine, [], [], [(DAY, FEED, "aa", "newsboat")])
    found = values(engine)
    assert found[(FEED, "pollers", "newsboat")] == 1 and found[(FEED, "pollers", "other")] == 1


def test_a_finished_day_keeps_its_count_and_forgets_its_hashes(engine):
    stored.add(engine, [], [], [(DAY, FEED, "aa", "newsboat"), (DAY, FEED, "bb", "newsboat")])
    stored.add(engine, [], [], [(DAY + timedelta(days=1), FEED, "aa", "newsboat")])
    assert stored.close_days(engine, DAY + timedelta(days=1)) == 2
    assert [(r.day, r.hash) for r in table(engine, "reach_pollers")] == [
        (DAY + timedelta(days=1), "aa")
    ]
    assert values(engine)[(FEED, "pollers", "newsboat")] == 2
    assert stored.close_days(engine, DAY + timedelta(days=1)) == 0  # closing again adds nothing
    assert values(engine)[(FEED, "pollers", "newsboat")] == 2


def test_workers_closing_a_day_at_once_count_each_hash_once(engine):
    stored.add(engine, [], [], [(DAY, FEED, f"h{n}", "other") for n in range(200)])
    threads = [threading.Thread(target=stored.close_days, args=(engine, DAY + timedelta(days=1)))
               for _ in range(4)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert values(engine)[(FEED, "pollers", "other")] == 200


def test_days_past_keeping_are_deleted(engine):
    old, kept = DAY - timedelta(days=731), DAY - timedelta(days=730)
    stored.add(engine, [Row(old, FEED, "requests", "", 1), Row(kept, FEED, "requests", "", 1)],
               [], [])  # fmt: skip
    assert stored.tidy(engine, DAY - timedelta(days=730)) == 1
    assert [r.day for r in table(engine, "reach_daily")] == [kept]


def test_email_subscribers_and_followers_are_counted_per_feed(engine):
    subscribed(engine)  # harm-reduction, every type
    followers.add(engine, Follower("harm-reduction", "https://m.example/users/a",
                                   "https://m.example/users/a/inbox", None,
                                   "https://m.example/f/1"), NOW)  # fmt: skip
    followers.add(engine, Follower("everything", "https://m.example/users/a",
                                   "https://m.example/users/a/inbox", None,
                                   "https://m.example/f/2"), NOW)  # fmt: skip
    found = {(r.path, r.measure): r.value for r in stored.channels(engine, DAY)}
    assert found == {("/topics/harm-reduction/feed", "email"): 1,
                     ("/topics/harm-reduction/feed", "followers"): 1,
                     ("/feed", "followers"): 1}  # fmt: skip


def test_a_session_is_open_until_it_ends_or_is_closed(engine):
    stored.open_session(engine, "h" * 64, NOW + timedelta(hours=12), NOW)
    assert stored.session_open(engine, "h" * 64, NOW + timedelta(hours=11))
    assert not stored.session_open(engine, "h" * 64, NOW + timedelta(hours=12))
    assert not stored.session_open(engine, "x" * 64, NOW)
    stored.close_session(engine, "h" * 64)
    assert not stored.session_open(engine, "h" * 64, NOW)


def test_a_database_of_the_fediverse_version_keeps_its_people_through_the_reach_upgrade(
    empty_engine,
):
    from syndicate.people.database import migrate

    migrate(empty_engine, "0003")  # as issue 20 left it: a subscriber and a follower
    old_subscriber(empty_engine, "reader@example.org", NOW)
    followers.add(empty_engine, Follower("harm-reduction", "https://m.example/users/a",
                                         "https://m.example/users/a/inbox", None,
                                         "https://m.example/f/1"), NOW)  # fmt: skip
    migrate(empty_engine)
    assert (
        len(table(empty_engine, "subscribers")) == 1 and len(table(empty_engine, "followers")) == 1
    )
    stored.add(empty_engine, [Row(DAY, FEED, "requests", "", 1)], [], [(DAY, FEED, "h", "other")])
    assert values(empty_engine)[(FEED, "requests", "")] == 1
