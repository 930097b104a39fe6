"""One worker's counts since it last wrote them to the database: plain dictionaries, one
increment per request, taken whole once a minute (`take`).

Details that a client chooses (a partner's origin, a hosted reader's name) are bounded per
feed and day (`DETAILS`): past the bound they are counted as `OTHERS`, so a client forging
Origin or User-Agent headers cannot grow the database without end. Pollers are bounded the
same way (`POLLERS`, per feed and day in this worker): past it, each new one is added to
`pollers beyond`, which may count one twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from syndicate.people.reach import Row

DETAILS = 100  # distinct details of one measure, per feed and day
POLLERS = 100_000  # distinct pollers remembered, per feed and day
OTHERS = "(others)"
BEYOND = "pollers beyond"


class Tally:
    def __init__(self, day: date) -> None:
        self.day = day
        self.added: defaultdict[tuple[date, str, str, str], int] = defaultdict(int)
        self.latest: dict[tuple[date, str, str, str], int] = {}
        self.pollers: list[tuple[date, str, str, str]] = []
        self._seen: set[tuple[str, str]] = set()  # today's (path, hash): each sent once
        self._per_path: defaultdict[str, int] = defaultdict(int)
        self._details: defaultdict[tuple[str, str], set[str]] = defaultdict(set)

    def new_day(self, day: date) -> None:
        """From now on count `day`. What was counted of the day before stays until taken;
        the poller hashes remembered, and the details seen, are forgotten."""
        self.day = day
        self._seen.clear()
        self._per_path.clear()
        self._details.clear()

    def add(self, path: str, measure: str, detail: str = "", value: int = 1) -> None:
        self.added[(self.day, path, measure, detail)] += value

    def set_latest(self, path: str, measure: str, detail: str, value: int) -> None:
        self.latest[(self.day, path, measure, self.bounded(path, measure, detail))] = value

    def bounded(self, path: str, measure: str, detail: str) -> str:
        """`detail`, or `OTHERS` once `DETAILS` others were seen of this measure today."""
        seen = self._details[(path, measure)]
        if detail in seen:
            return detail
        if len(seen) >= DETAILS:
            return OTHERS
        seen.add(detail)
        return detail

    def poller(self, path: str, digest: str, family: str) -> None:
        key = (path, digest)
        if key in self._seen:
            return
        if self._per_path[path] >= POLLERS:
            self.add(path, BEYOND)
            return
        self._seen.add(key)
        self._per_path[path] += 1
        self.pollers.append((self.day, path, digest, family))

    def take(self) -> tuple[list[Row], list[Row], list[tuple[date, str, str, str]]]:
        """Everything counted since the last take, as rows; counting starts again from nothing
        (the poller hashes of today stay remembered: each is sent once)."""
        added = [Row(*key, value) for key, value in self.added.items()]
        latest = [Row(*key, value) for key, value in self.latest.items()]
        pollers, self.pollers = self.pollers, []
        self.added, self.latest = defaultdict(int), {}
        return added, latest, pollers

    def give_back(
        self, added: list[Row], latest: list[Row], pollers: list[tuple[date, str, str, str]]
    ) -> None:
        """Put back what `take` gave when it could not be written: it goes with the next."""
        for row in added:
            self.added[(row.day, row.path, row.measure, row.detail)] += row.value
        for row in latest:
            self.latest.setdefault((row.day, row.path, row.measure, row.detail), row.value)
        self.pollers[:0] = pollers
