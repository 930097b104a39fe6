"""The pure parts of counting reach: the day's salt (reach/salt.py) and one worker's tally
(reach/tally.py)."""

from __future__ import annotations

from datetime import date, timedelta

from syndicate.people.reach import Row
from syndicate.reach.salt import DailySalt
from syndicate.reach.tally import BEYOND, DETAILS, OTHERS, Tally

DAY = date(2026, 11, 30)


def test_a_day_has_one_salt_and_the_next_day_another():
    salt = DailySalt(b"s" * 32, DAY)
    today = salt.salt(DAY)
    assert today is not None and salt.salt(DAY) == today
    assert salt.salt(DAY + timedelta(days=1)) not in (None, today)


def test_once_a_day_is_past_its_salt_cannot_be_had_again():
    salt = DailySalt(b"s" * 32, DAY)
    salt.salt(DAY + timedelta(days=1))
    assert salt.salt(DAY) is None


def test_workers_from_one_seed_agree_on_every_later_day():
    pool = DailySalt(b"p" * 32, DAY - timedelta(days=1))
    seed, day = pool.seed(DAY - timedelta(days=1))
    one, two = DailySalt(seed, day), DailySalt(seed, day)
    for later in range(3):
        when = DAY + timedelta(days=later)
        assert one.salt(when) == two.salt(when) is not None


def test_a_fresh_secret_differs_each_time():
    assert DailySalt().salt(DAY) != DailySalt().salt(DAY)


def test_a_poller_is_sent_once_a_day_and_again_the_next_day():
    tally = Tally(DAY)
    tally.poller("/feed.atom", "h1", "newsboat")
    tally.poller("/feed.atom", "h1", "newsboat")
    assert tally.take()[2] == [(DAY, "/feed.atom", "h1", "newsboat")]
    tally.poller("/feed.atom", "h1", "newsboat")
    assert tally.take()[2] == []
    tally.new_day(DAY + timedelta(days=1))
    tally.poller("/feed.atom", "h1", "newsboat")
    assert tally.take()[2] == [(DAY + timedelta(days=1), "/feed.atom", "h1", "newsboat")]


def test_counts_carry_the_day_they_were_made_across_midnight():
    tally = Tally(DAY)
    tally.add("/feed.atom", "requests")
    tally.new_day(DAY + timedelta(days=1))
    tally.add("/feed.atom", "requests")
    added = sorted(tally.take()[0], key=lambda row: row.day)
    assert added == [Row(DAY, "/feed.atom", "requests", "", 1),
                     Row(DAY + timedelta(days=1), "/feed.atom", "requests", "", 1)]  # fmt: skip


def test_details_a_client_chooses_are_bounded_per_feed_and_day():
    tally = Tally(DAY)
    names = [tally.bounded("/feed.json", "component", f"https://p{n}.example") for n in range(150)]
    assert len(set(names) - {OTHERS}) == DETAILS and names[-1] == OTHERS
    assert tally.bounded("/feed.json", "component", "https://p0.example") == "https://p0.example"


def test_what_could_not_be_written_goes_with_the_next_take():
    tally = Tally(DAY)
    tally.add("/feed.atom", "requests", value=3)
    tally.reported("/feed.atom", "Feedly", 10)
    tally.poller("/feed.atom", "h1", "other")
    taken = tally.take()
    tally.add("/feed.atom", "requests", value=2)
    tally.reported("/feed.atom", "Feedly", 12)  # newer than what failed
    tally.give_back(*taken)
    added, latest, pollers = tally.take()
    assert added == [Row(DAY, "/feed.atom", "requests", "", 5)]
    assert latest == [Row(DAY, "/feed.atom", "subscribers", "Feedly", 12)]
    assert pollers == [(DAY, "/feed.atom", "h1", "other")]


def test_pollers_past_the_bound_are_counted_apart(monkeypatch):
    monkeypatch.setattr("syndicate.reach.tally.POLLERS", 2)
    tally = Tally(DAY)
    for n in range(5):
        tally.poller("/feed.atom", f"h{n}", "other")
    added, _, pollers = tally.take()
    assert len(pollers) == 2 and added == [Row(DAY, "/feed.atom", BEYOND, "", 3)]


def test_pollers_past_the_bound_over_all_feeds_are_counted_apart(monkeypatch):
    monkeypatch.setattr("syndicate.reach.tally.ALL_POLLERS", 3)
    tally = Tally(DAY)
    for n in range(5):  # five feeds, each polled by a poller of its own
        tally.poller(f"/{n}/feed.atom", "h", "other")
    added, _, pollers = tally.take()
    assert [path for _, path, _, _ in pollers] == ["/0/feed.atom", "/1/feed.atom", "/2/feed.atom"]
    assert added == [Row(DAY, f"/{n}/feed.atom", BEYOND, "", 1) for n in (3, 4)]
