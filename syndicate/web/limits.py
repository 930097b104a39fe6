"""Limits on what one client may ask of a process: in a while (sign-ups, inbox posts,
sign-ins), a sliding window per key, in memory, bounded in the keys it tracks; and in one
request, a body read whole but never past a cap. Who the client is: its address, or behind
a trusted proxy (SYNDICATE_TRUSTED_PROXIES), the one that proxy names."""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

TRACKED_CLIENTS = 100_000
Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
LOOPBACK = "127.0.0.1,::1"


class Proxies:
    """The proxies whose X-Forwarded-For names the client (SYNDICATE_TRUSTED_PROXIES):
    addresses or networks, comma-separated. Each peer's answer is kept (a peer is one of a
    few proxies, or a client asked about once per request)."""

    def __init__(self, value: str = LOOPBACK) -> None:
        self.networks: Networks = tuple(
            ipaddress.ip_network(part.strip()) for part in value.split(",") if part.strip()
        )
        self._known: dict[str, bool] = {}

    def trust(self, peer: str) -> bool:
        found = self._known.get(peer)
        if found is None:
            try:
                address = ipaddress.ip_address(peer)
            except ValueError:
                found = False
            else:
                found = any(address in network for network in self.networks)
            if len(self._known) > 4096:
                self._known.clear()
            self._known[peer] = found
        return found


def network_of(client: str) -> str:
    """The key a client is limited by: an IPv4 address itself, an IPv6 address's /64."""
    if ":" not in client:
        return client
    try:
        address = ipaddress.IPv6Address(client.split("%", 1)[0])
    except ValueError:
        return client
    if address.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is an IPv4 client
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False))


def client_address(request: web.BaseRequest, proxies: Proxies) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy (nginx on the
    same machine), the last address it added to X-Forwarded-For."""
    peer = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded and proxies.trust(peer):
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return peer


class ClientLimiter:
    """At most `limit` requests per `window` seconds from one client address, in memory (per
    process: with N workers, a client gets at most N times as many)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.seen: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, client: str, now: float) -> float:
        """0 if allowed (and counted); else the seconds until it would be. An IPv6 client
        is its /64: one host is given a whole /64 and can pick a new address per request."""
        client = network_of(client)
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
    try:
        async for chunk in request.content.iter_chunked(65536):
            size += len(chunk)
            if size > cap:
                return None
            chunks.append(chunk)
    except ConnectionError:
        # The client went away mid-body: nobody to answer, nothing to log but a line.
        raise web.HTTPBadRequest(text="The connection closed before the whole body came.") from None
    except HttpProcessingError as error:  # a malformed chunked body, a body past its length
        raise web.HTTPBadRequest(text=f"The body is malformed: {error.message}"[:200]) from None
    return b"".join(chunks)
