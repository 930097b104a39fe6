"""Limits on what one client may ask of a process: in a while (sign-ups, inbox posts), a
sliding window per key, in memory, bounded in the keys it tracks; and in one request, a
body read whole but never past a cap."""

from __future__ import annotations

from collections import OrderedDict, deque

from aiohttp import web

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


async def capped_body(request: web.BaseRequest, cap: int) -> bytes | None:
    """The whole body, however many pieces it arrives in (a read returns what has come so
    far, not all); None past `cap` bytes, read no further."""
    if request.content_length is not None and request.content_length > cap:
        return None
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
