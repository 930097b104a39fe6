"""Limits on what one client may ask of a process in a while (sign-ups, inbox posts): a
sliding window per key, in memory, bounded in the keys it tracks."""

from __future__ import annotations

from collections import OrderedDict, deque

TRACKED_CLIENTS = 100_000


class ClientLimiter:
    """At most `limit` requests per `window` seconds from one client address, in memory (per
    process: with N workers, a client gets at most N times as many)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.seen: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, client: str, now: float) -> float:
        """0 if allowed (and counted); else the seconds until it would be."""
        times = self.seen.pop(client, None) or deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        self.seen[client] = times  # most recent last
        if len(self.seen) > TRACKED_CLIENTS:
            self.seen.popitem(last=False)
        if len(times) >= self.limit:
            return times[0] + self.window - now
        times.append(now)
        return 0.0
