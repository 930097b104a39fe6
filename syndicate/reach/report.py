"""What the stats page shows, from the daily rows (people/reach.Row) and the catalog: per
topic and per feed, the latest day's reach and 90 days of it as charts, the hosted readers
behind the subscriber figures and the partners embedding each topic. Pure: no I/O.

Reach of a feed on a day = the subscribers hosted readers reported (their latest figure,
each reader once) + the distinct other pollers. A topic's is the sum of its feeds': one
person subscribed to two of its feeds counts twice (these are subscriptions, not people).

Subscribers over a rolling 7 days = each hosted reader's latest figure reported in the 7 days
to that day (FeedPress counts so): a reader that polls a feed every few days, which the daily
figure misses on the days it does not come, is counted on each of them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from syndicate.model import Catalog
from syndicate.people.reach import EMAIL, FOLLOWERS, POLLERS, SUBSCRIBERS, Row
from syndicate.reach.charts import Chart, bar_chart

SITE = ""  # the scope of what belongs to no topic: site-wide feeds, event files
EMBEDS = ("component", "fragment", "iframe")
ROLLING_DAYS = 7
_TOPIC = re.compile(r"^(?:/embed)?/topics/([^/]+)/")


def scope_of(path: str) -> str:
    """The topic a counted path belongs to; SITE for site-wide ones."""
    found = _TOPIC.match(path)
    return found.group(1) if found else SITE


@dataclass
class Feed:
    path: str
    reach: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    requests: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    not_modified: int = 0
    answered: int = 0  # requests in the period
    bytes: int = 0
    bots: int = 0
    hubs: int = 0  # WebSub pings hubs took, in the period
    email: int = 0  # the latest day's
    followers: int = 0
    readers: dict[str, int] = field(default_factory=dict)  # the latest day's figures
    # Every figure each hosted reader reported, by day: for the rolling 7 days.
    reports: dict[str, dict[date, int]] = field(default_factory=lambda: defaultdict(dict))
    families: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # latest day
    partners: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    @property
    def not_modified_share(self) -> float:
        return self.not_modified / self.answered if self.answered else 0.0

    def subscribers_7d(self, day: date) -> int:
        """Each hosted reader's latest figure reported in the 7 days to `day`, summed."""
        first = day - timedelta(days=ROLLING_DAYS - 1)
        total = 0
        for by_day in self.reports.values():
            days = [d for d in by_day if first <= d <= day]
            if days:
                total += by_day[max(days)]
        return total


@dataclass
class Scope:
    slug: str
    title: str
    feeds: dict[str, Feed] = field(default_factory=dict)

    def total(self, attribute: str) -> dict[date, int]:
        summed: dict[date, int] = defaultdict(int)
        for feed in self.feeds.values():
            for day, value in getattr(feed, attribute).items():
                summed[day] += value
        return summed

    def latest(self, day: date) -> int:
        return self.total("reach").get(day, 0)

    def subscribers_7d(self, day: date) -> int:
        return sum(feed.subscribers_7d(day) for feed in self.feeds.values())

    def rolling_chart(self, last: date, days: int) -> Chart:
        series = {last - timedelta(days=n): 0 for n in range(days)}
        for day in series:
            series[day] = self.subscribers_7d(day)
        return bar_chart(f"Subscribers of {self.title}, rolling 7 days", series, last, days)

    @property
    def email(self) -> int:
        return sum(feed.email for feed in self.feeds.values())

    @property
    def followers(self) -> int:
        return sum(feed.followers for feed in self.feeds.values())

    @property
    def requests(self) -> int:
        return sum(feed.answered for feed in self.feeds.values())

    @property
    def not_modified_share(self) -> float:
        answered = self.requests
        return sum(f.not_modified for f in self.feeds.values()) / answered if answered else 0.0

    def readers(self) -> dict[str, int]:
        summed: dict[str, int] = defaultdict(int)
        for feed in self.feeds.values():
            for reader, value in feed.readers.items():
                summed[reader] += value
        return dict(sorted(summed.items(), key=lambda kv: (-kv[1], kv[0])))

    def partners(self) -> dict[str, dict[str, int]]:
        """Each partner origin's fetches, by way of embedding."""
        summed: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(EMBEDS, 0))
        for feed in self.feeds.values():
            for (embed, origin), value in feed.partners.items():
                summed[origin][embed] += value
        return dict(sorted(summed.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])))

    def chart(self, last: date, days: int) -> Chart:
        return bar_chart(f"Reach of {self.title}, daily", self.total("reach"), last, days)


def build(rows: Iterable[Row], catalog: Catalog, last: date, days: int = 90) -> list[Scope]:
    """The scopes (the site-wide one first, then topics by title), with their feeds, from
    `rows` of the `days` ending on `last`."""
    first = last - timedelta(days=days - 1)
    scopes: dict[str, Scope] = {SITE: Scope(SITE, "Site-wide feeds")}
    for topic in sorted(catalog.topics.values(), key=lambda t: t.title.casefold()):
        scopes[topic.slug] = Scope(topic.slug, topic.title)
    for row in rows:
        if not first <= row.day <= last:
            continue
        scope = scopes.get(scope_of(row.path))
        if scope is None:  # a topic since removed or renamed: under the site
            scope = scopes[SITE]
        feed = scope.feeds.setdefault(row.path, Feed(row.path))
        _add(feed, row, last)
    return list(scopes.values())


def _add(feed: Feed, row: Row, last: date) -> None:
    measure, value = row.measure, row.value
    if measure == SUBSCRIBERS:
        feed.reports[row.detail][row.day] = feed.reports[row.detail].get(row.day, 0) + value
    if measure in (SUBSCRIBERS, POLLERS):
        feed.reach[row.day] += value
        if row.day == last:
            if measure == SUBSCRIBERS:
                feed.readers[row.detail] = feed.readers.get(row.detail, 0) + value
            else:
                feed.families[row.detail] += value
    elif measure == "requests":
        feed.requests[row.day] += value
        feed.answered += value
    elif measure == "not_modified":
        feed.not_modified += value
    elif measure == "bytes":
        feed.bytes += value
    elif measure == "bots":
        feed.bots += value
    elif measure == "hubs":
        feed.hubs += value
    elif measure in EMBEDS:
        feed.partners[(measure, row.detail)] += value
    elif measure == EMAIL and row.day == last:
        feed.email = value
    elif measure == FOLLOWERS and row.day == last:
        feed.followers = value
