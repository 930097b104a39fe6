"""One worker's counts since it last wrote them to the database: plain dictionaries, added
to for each client's answers (web/reach.py notes them), taken whole once a minute (`take`).

Details that a client chooses (a partner's origin, a hosted reader's name) are bounded per
feed and day (`DETAILS`): past the bound they are counted as `OTHERS`, so a client forging
Origin or User-Agent headers cannot grow the database without end. Pollers are bounded the
same way (`POLLERS` per feed, and `ALL_POLLERS` over all feeds, a day in this worker): past
either, each new one is added to `pollers beyond`, which may count one twice. A worker's
memory of the day's pollers is so bounded too (about 200 bytes a poller).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from syndicate.people.reach import Row

DETAILS = 100  # distinct details of one measure, per feed and day
POLLERS = 100_000  # distinct pollers remembered, per feed and day
ALL_POLLERS = 1_000_000  # and over all feeds (calendars, event files), a day
OTHERS = "(others)"
SUBSCRIBERS = "subscribers"
SERVED = ("requests", "ok", "not_modified", "other", "bytes")
OK, NOT_MODIFIED, OTHER = 1, 2, 3  # where each answer is counted in `served_today`
BEYOND = "pollers beyond"


class Tally:
    def __init__(self, day: date) -> None:
        self.day = day
        self.added: defaultdict[tuple[date, str, str, str], int] = defaultdict(int)
        self.latest: dict[tuple[date, str, str, str], int] = {}
        # Hosted readers' figures today, by path and reader (see `reported`).
        self.reported_today: dict[str, dict[str, int]] = {}
        self.pollers: list[tuple[date, str, str, str]] = []
        # The day's answers by path: requests, each answer (ok, not_modified, other), bytes.
        self.served_today: dict[str, list[int]] = {}
        self.kinds: dict[str, str] = {}  # what each path is (a path is one representation)
        self.served_before: list[tuple[date, dict[str, list[int]]]] = []  # days since ended
        self._answers: dict[tuple[str, str], list[int]] = {}
        self._seen: set[tuple[str, str]] = set()  # today's (path, hash): each sent once
        self._per_path: defaultdict[str, int] = defaultdict(int)
        self._details: defaultdict[tuple[str, str], set[str]] = defaultdict(set)

    def new_day(self, day: date) -> None:
        """From now on count `day`. What was counted of the day before stays until taken;
        the poller hashes remembered, and the details seen, are forgotten."""
        if self.served_today:
            self.served_before.append((self.day, self.served_today))
            self.served_today = {}
        self._reported_rows()
        self.day = day
        self._seen.clear()
        self._per_path.clear()
        self._details.clear()

    def served(self, path: str, answers: Sequence[int]) -> None:
        """Answers of `path` (its kind in `kinds`): `answers` is how many were ok, not
        modified and other, and the bytes they sent."""
        counts = self.served_today.get(path)
        if counts is None:
            counts = self.served_today[path] = [0, 0, 0, 0, 0]
        ok, not_modified, other, sent = answers
        counts[0] += ok + not_modified + other
        counts[OK] += ok
        counts[NOT_MODIFIED] += not_modified
        counts[OTHER] += other
        counts[4] += sent

    def answered(self, kind: str, answer: str, sent: int, answers: int = 1) -> None:
        """`answers` counted for /metrics only (a bot's requests, a partner's fetches)."""
        counts = self._answers.setdefault((kind, answer), [0, 0])
        counts[0] += answers
        counts[1] += sent

    def take_answers(self) -> dict[tuple[str, str], list[int]]:
        """Answers since the last take by (kind, answer): [how many, bytes], for /metrics.
        Call it after `take`, which adds what was served."""
        answers, self._answers = self._answers, {}
        return answers

    def add(self, path: str, measure: str, detail: str = "", value: int = 1) -> None:
        self.added[(self.day, path, measure, detail)] += value

    def reported(self, path: str, reader: str, subscribers: int) -> None:
        """A hosted reader's figure for `path` today (the hot path: two lookups of strings
        whose hashes are kept, as `path` and `reader` are the same objects every time)."""
        readers = self.reported_today.get(path)
        if readers is None:
            readers = self.reported_today[path] = {}
        if reader not in readers and len(readers) >= DETAILS:
            reader = OTHERS
        readers[reader] = subscribers

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
        if self._per_path[path] >= POLLERS or len(self._seen) >= ALL_POLLERS:
            self.add(path, BEYOND)
            return
        self._seen.add(key)
        self._per_path[path] += 1
        self.pollers.append((self.day, path, digest, family))

    def _reported_rows(self) -> None:
        for path, readers in self.reported_today.items():
            for reader, subscribers in readers.items():
                self.latest[(self.day, path, SUBSCRIBERS, reader)] = subscribers
        self.reported_today = {}

    def take(self) -> tuple[list[Row], list[Row], list[tuple[date, str, str, str]]]:
        """Everything counted since the last take, as rows; counting starts again from nothing
        (the poller hashes of today stay remembered: each is sent once)."""
        for day, served in [*self.served_before, (self.day, self.served_today)]:
            for path, counts in served.items():
                kind = self.kinds.get(path, "")
                for measure, value in zip(SERVED, counts, strict=True):
                    if value:
                        self.added[(day, path, measure, "")] += value
                for answer in (OK, NOT_MODIFIED, OTHER):
                    if counts[answer]:
                        found = self._answers.setdefault((kind, SERVED[answer]), [0, 0])
                        found[0] += counts[answer]
                self._answers.setdefault((kind, SERVED[OK]), [0, 0])[1] += counts[4]
        self.served_today, self.served_before = {}, []
        added = [Row(*key, value) for key, value in self.added.items()]
        self._reported_rows()
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
