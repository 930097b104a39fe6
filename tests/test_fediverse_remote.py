"""Fetching from other servers never reaches inward: private, loopback, link-local and other
non-public addresses are refused, on the address actually connected to (so neither a name
that resolves inward nor a redirect gets through), and only https is fetched."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from syndicate.fediverse.remote import (
    Actors,
    RemoteError,
    SafeConnector,
    check_url,
    public_address,
)
from syndicate.fediverse.remote import session as remote_session
from tests.fediverse import ALICE_PRIVATE


@asynccontextmanager
async def fetching(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]], allow_local: bool
) -> AsyncIterator[Callable[[], Awaitable[dict[str, Any]]]]:
    """A server on 127.0.0.1 answering /users/a with `handler`, and a fetch of it through
    the service's session (`allow_local`: whether that session may reach loopback)."""
    application = web.Application()
    application.router.add_get("/users/a", handler)
    server = TestServer(application, host="127.0.0.1")
    await server.start_server()
    client = remote_session(allow_local=allow_local)
    actors = Actors(client, True, "https://feeds.example.org/ap/actors/x#main-key",
                    ALICE_PRIVATE, lambda: datetime.now(UTC))  # fmt: skip
    try:
        yield lambda: actors.document(f"http://127.0.0.1:{server.port}/users/a")
    finally:
        await client.close()
        await server.close()


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"],
)  # fmt: skip
def test_a_non_public_address_is_not_public(address: str) -> None:
    assert not public_address(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2e"])
def test_a_public_address_is(address: str) -> None:
    assert public_address(address)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1"])
async def test_the_connector_refuses_a_host_that_is_or_resolves_inward(host: str) -> None:
    connector = SafeConnector(allow_local=False)
    try:
        with pytest.raises(OSError, match="no public address"):
            await connector._resolve_host(host, 443)
    finally:
        await connector.close()
    local = SafeConnector(allow_local=True)
    try:
        found = await local._resolve_host(host, 443)
        assert found and all(r["host"] in ("127.0.0.1", "::1") for r in found)
    finally:
        await local.close()


async def test_a_literal_private_address_is_not_fetched() -> None:
    """aiohttp connects to a literal address without resolving it: the connector checks it."""

    async def actor(request: web.Request) -> web.Response:
        return web.json_response({})

    async with fetching(actor, allow_local=False) as fetch:
        with pytest.raises(RemoteError, match="no public address"):
            await fetch()


@pytest.mark.parametrize("url", ["http://mastodon.example/users/a", "ftp://x/y", "https:///x"])
def test_only_https_urls_with_a_host_are_fetched(url: str) -> None:
    with pytest.raises(RemoteError, match="not an https URL"):
        check_url(url, allow_local=False)


async def test_a_redirect_inward_is_not_followed() -> None:
    """A public-looking server may redirect to an internal address: the fetch connects
    through the same resolver, so it is refused there."""

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://10.0.0.1:1/secret")

    # Loopback is allowed here (the test's server), but not where it redirects.
    async with fetching(moved, allow_local=True) as fetch:
        with pytest.raises(RemoteError, match="no public address"):
            await fetch()


async def test_a_document_over_the_cap_is_not_read_whole() -> None:
    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/activity+json"})
        await response.prepare(request)
        for _ in range(40):  # 2.6 MB, sent in chunks without a Content-Length
            await response.write(b" " * 65536)
        return response

    async with fetching(huge, allow_local=True) as fetch:
        with pytest.raises(RemoteError, match="is over 1000000 bytes"):
            await fetch()
