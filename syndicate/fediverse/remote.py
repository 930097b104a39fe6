"""Talking to other servers safely: every fetch of a remote actor and every delivery goes
through one aiohttp session whose connector refuses private, loopback, link-local and other
non-public addresses (checked on the address actually connected to, so a literal address, a
name that resolves to an internal one, or a redirect to either, is refused too), over HTTPS
only, with time limits on every request and a size cap on every body read.

`SYNDICATE_FEDERATION_ALLOW_LOCAL=true` (tests only) allows loopback addresses and plain
HTTP, so that tests can run fake servers on 127.0.0.1.

`Actors` fetches actor documents (signed GETs, for servers that require them) and keeps the
public keys it found for a while: an inbox gets many activities from the same actors.
"""

from __future__ import annotations

import ipaddress
import ssl
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import aiohttp
from aiohttp.abc import ResolveResult

from syndicate import untrusted
from syndicate.fediverse import signatures

FETCH_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5, sock_read=10)
MAX_DOCUMENT = 1_000_000  # bytes: an actor document is a few kB
ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
KEYS_KEPT = 3600.0  # seconds a fetched key is trusted before it is fetched again
KEYS_HELD = 10_000  # actors whose keys are kept in memory at most
USER_AGENT = "syndicate (+https://github.com/; ActivityPub)"


class RemoteError(Exception):
    """A remote server could not be asked, or answered nothing usable. `gone`: it said the
    thing is gone for good (410)."""

    def __init__(self, reason: str, gone: bool = False) -> None:
        super().__init__(reason)
        self.gone = gone


def public_address(address: str) -> bool:
    """Whether `address` is on the public internet (not private, loopback, link-local,
    multicast, reserved or unspecified)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def allowed(address: str, allow_local: bool) -> bool:
    """Whether the service may connect to `address`: a public one, or loopback in tests."""
    if public_address(address):
        return True
    return allow_local and ipaddress.ip_address(address.split("%", 1)[0]).is_loopback


class NotPublic(OSError):
    """A host that is not on the public internet: never connected to."""


class SafeConnector(aiohttp.TCPConnector):
    """aiohttp's connector, keeping only the addresses `allowed` of every host it connects
    to: names as they resolve, and literal addresses (which aiohttp does not resolve)."""

    def __init__(self, allow_local: bool, **options: Any) -> None:
        super().__init__(**options)
        self.allow_local = allow_local

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Any] | None = None
    ) -> list[ResolveResult]:
        found = await super()._resolve_host(host, port, traces)
        kept = [r for r in found if allowed(r["host"], self.allow_local)]
        if not kept:
            raise NotPublic(f"{host} has no public address: not fetched")
        return kept


def check_url(url: str, allow_local: bool) -> str:
    """`url` if it may be fetched: https (or http when local is allowed), with a host."""
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_local else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise RemoteError(f"{url[:200]!r} is not an https URL")
    return url


def session(allow_local: bool, ca_file: Path | None = None) -> aiohttp.ClientSession:
    """The one session for every fetch and delivery; `ca_file`, certificate authorities to
    trust instead of the system's (SYNDICATE_FEDERATION_CA_FILE)."""
    trust = ssl.create_default_context(cafile=str(ca_file)) if ca_file else True
    connector = SafeConnector(allow_local, limit=64, limit_per_host=4, ttl_dns_cache=300, ssl=trust)
    return aiohttp.ClientSession(
        connector=connector, timeout=FETCH_TIMEOUT, headers={"User-Agent": USER_AGENT}
    )


@dataclass(frozen=True)
class Remote:
    """A remote actor, as much of it as we need."""

    id: str
    inbox: str
    shared_inbox: str | None
    key_id: str
    public_pem: str


# The longest actor id or inbox kept (the followers table's columns); Mastodon's are under 100.
MAX_URL = 500


def _actor(document: dict[str, Any]) -> Remote:
    key = document.get("publicKey")
    if isinstance(key, list):
        key = key[0] if key else None
    if not isinstance(key, dict):
        raise RemoteError("the actor has no public key")
    inbox = document.get("inbox")
    endpoints = document.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    fields = (document.get("id"), inbox, key.get("id"), key.get("publicKeyPem"))
    if not all(isinstance(f, str) and f for f in fields):
        raise RemoteError("the actor document lacks its id, inbox or key")
    if key.get("owner", document["id"]) != document["id"]:
        raise RemoteError("the actor's key belongs to another actor")
    urls = (str(document["id"]), str(inbox), shared if isinstance(shared, str) else "")
    if any(len(url) > MAX_URL for url in urls):
        raise RemoteError(f"the actor's id or inboxes are over {MAX_URL} characters")
    return Remote(
        str(document["id"]), str(inbox), shared if isinstance(shared, str) else None,
        str(key["id"]), str(key["publicKeyPem"]),
    )  # fmt: skip


async def read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes:
    """The body of `response`, RemoteError past `cap` bytes (read no further)."""
    if (response.content_length or 0) > cap:
        raise RemoteError(f"{str(response.url)[:200]} is over {cap} bytes")
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(65536):
        size += len(chunk)
        if size > cap:
            raise RemoteError(f"{str(response.url)[:200]} is over {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class Actors:
    """Fetches remote actors for one process, keeping their keys for `KEYS_KEPT` s."""

    def __init__(
        self,
        client: aiohttp.ClientSession,
        allow_local: bool,
        key_id: str,
        private_pem: str,
        now: Any,
    ) -> None:
        self.client, self.allow_local = client, allow_local
        self.key_id, self.private_pem, self.now = key_id, private_pem, now
        self.kept: OrderedDict[str, tuple[float, Remote]] = OrderedDict()

    async def document(self, url: str) -> dict[str, Any]:
        """The JSON document at `url`, by a signed GET."""
        check_url(url, self.allow_local)
        now: datetime = self.now()
        headers = signatures.sign("GET", url, self.key_id, self.private_pem, now, accept=ACCEPT)
        try:
            async with self.client.get(url, headers=headers, allow_redirects=True) as response:
                if response.status == 410:
                    raise RemoteError(f"{url[:200]} is gone (410)", gone=True)
                if response.status != 200:
                    raise RemoteError(f"{url[:200]} answered {response.status}")
                check_url(str(response.url), self.allow_local)  # after any redirect
                body = await read_capped(response, MAX_DOCUMENT)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            # A refused address is the connector's NotPublic, inside aiohttp's error.
            cause = error.os_error if isinstance(error, aiohttp.ClientConnectorError) else error
            host = urlsplit(url).hostname
            raise RemoteError(f"{host} could not be asked: {cause}"[:300]) from None
        try:
            found = untrusted.loads(body)
        except ValueError:
            raise RemoteError(f"{url[:200]} is not JSON") from None
        if not isinstance(found, dict):
            raise RemoteError(f"{url[:200]} is not a JSON object")
        return found

    async def by_key(self, key_id: str, fresh: bool = False) -> Remote:
        """The actor whose key is `key_id` (the key id's document, or its owner's)."""
        url = urldefrag(key_id).url
        kept = self.kept.get(key_id)
        if kept is not None and not fresh and time.monotonic() - kept[0] < KEYS_KEPT:
            self.kept.move_to_end(key_id)
            return kept[1]
        document = await self.document(url)
        if "publicKeyPem" in document and "inbox" not in document:  # a key, not an actor
            owner = document.get("owner")
            if not isinstance(owner, str):
                raise RemoteError("the key names no owner")
            document = await self.document(owner)
        remote = _actor(document)
        if remote.key_id != key_id:
            raise RemoteError("the key id is not the key its actor names")
        self.kept[key_id] = (time.monotonic(), remote)
        while len(self.kept) > KEYS_HELD:
            self.kept.popitem(last=False)
        return remote
