"""The stats page's figures from daily rows (reach/report.py), computed here by hand."""

from __future__ import annotations

from datetime import date, timedelta

from syndicate.loader import load_catalog
from syndicate.people.reach import Row
from syndicate.reach.report import SITE, build
from tests.conftest import CONTENT

FEED = "/topics/harm-reduction/feed.atom"
OTHER = "/topics/harm-reduction/events/feed.atom"
MONDAY = date(2026, 11, 30)


def day(n: int) -> date:
    return MONDAY + timedelta(days=n)


def scope(rows: list[Row], last: date):  # type: ignore[no-untyped-def]
    (found,) = [s for s in build(rows, load_catalog(CONTENT), last) if s.slug == "harm-reduction"]
    return found


def test_a_reader_that_polls_every_few_days_is_counted_on_the_days_between():
    rows = [Row(day(0), FEED, "subscribers", "Feedly", 100),
            Row(day(3), FEED, "subscribers", "Feedly", 102)]  # fmt: skip
    assert scope(rows, day(1)).latest(day(1)) == 0  # the daily figure misses it
    assert [scope(rows, day(n)).subscribers_7d(day(n)) for n in range(4)] == [100, 100, 100, 102]


def test_a_figure_older_than_seven_days_no_longer_counts():
    rows = [Row(day(0), FEED, "subscribers", "Feedly", 100)]
    assert scope(rows, day(6)).subscribers_7d(day(6)) == 100
    assert scope(rows, day(7)).subscribers_7d(day(7)) == 0


def test_each_reader_and_each_feed_counts_once_with_its_latest_figure():
    rows = [
        Row(day(0), FEED, "subscribers", "Feedly", 100),
        Row(day(1), FEED, "subscribers", "Feedly", 90),  # a drop: the latest figure holds
        Row(day(1), FEED, "subscribers", "Inoreader", 7),
        Row(day(2), OTHER, "subscribers", "Feedly", 5),
        Row(day(2), FEED, "pollers", "newsboat", 40),  # not a hosted reader's figure
    ]
    assert scope(rows, day(2)).subscribers_7d(day(2)) == 90 + 7 + 5


def test_the_rolling_chart_has_a_bar_per_day_of_the_rolling_figure():
    rows = [Row(day(0), FEED, "subscribers", "Feedly", 100)]
    chart = scope(rows, day(9)).rolling_chart(day(9), 10)
    assert [bar.value for bar in chart.bars] == [100] * 7 + [0] * 3


def test_the_site_wide_scope_is_first():
    assert build([], load_catalog(CONTENT), MONDAY)[0].slug == SITE
