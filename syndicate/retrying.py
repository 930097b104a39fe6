"""Trying again, shared by every channel that delivers to someone (email, the fediverse):
exponential backoff, and a circuit per destination that stops knocking on a server that
keeps failing (after Ghost's ActivityPub service, adr/0014: five failures within ten minutes
open it for thirty), so a dead server costs one attempt per half hour, not one per item."""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import datetime, timedelta

FAILURES, WITHIN, OPEN_FOR = 5, timedelta(minutes=10), timedelta(minutes=30)


def backoff(attempts: int, first: timedelta, cap: timedelta) -> timedelta:
    """The wait before attempt `attempts` + 1: `first`, doubling, at most `cap`."""
    return min(first * (1 << min(attempts, 30)), cap)


class Circuits:
    """One circuit per destination (a host): closed while it answers, open for `OPEN_FOR`
    after `FAILURES` failures within `WITHIN`. In memory: a restart tries again at once."""

    def __init__(self) -> None:
        self.failures: defaultdict[str, deque[datetime]] = defaultdict(deque)
        self.open_until: dict[str, datetime] = {}

    def is_open(self, host: str, now: datetime) -> bool:
        until = self.open_until.get(host)
        if until is None:
            return False
        if now >= until:  # half-open: the next attempt decides
            del self.open_until[host]
            self.failures.pop(host, None)
            return False
        return True

    def opened(self, now: datetime) -> list[str]:
        """The hosts whose circuit is open now."""
        return [host for host in list(self.open_until) if self.is_open(host, now)]

    def failed(self, host: str, now: datetime) -> datetime | None:
        """Record a failure; when it opens the circuit, until when."""
        seen = self.failures[host]
        seen.append(now)
        while seen and now - seen[0] > WITHIN:
            seen.popleft()
        if len(seen) >= FAILURES:
            self.open_until[host] = now + OPEN_FOR
            seen.clear()
            return self.open_until[host]
        return None

    def succeeded(self, host: str) -> None:
        self.failures.pop(host, None)
        self.open_until.pop(host, None)
