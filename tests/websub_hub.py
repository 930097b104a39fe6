"""A WebSub hub and subscriber for the tests, following the W3C WebSub Recommendation
(2018-01-23) step by step. No WebSub hub from a package registry runs here without a
database or a public address, so the tests bring their own, written to the spec:

* 5.1 Subscriber sends subscription request: `hub.mode=subscribe`, `hub.topic`,
  `hub.callback`, `hub.lease_seconds`, `hub.secret`; the hub answers 202 Accepted.
* 5.3 Hub verifies intent of the subscriber: `GET callback?hub.mode=subscribe&hub.topic=
  &hub.challenge=&hub.lease_seconds=`; the subscriber answers 2xx with the challenge as
  the body, or the subscription does not exist.
* 6 Publishing: the spec leaves the publisher-to-hub ping to hubs; this hub takes the
  common form (`hub.mode=publish`, `hub.url`), answers 202, then fetches the topic.
* 7 Content distribution: `POST callback` with the topic's full content and Content-Type,
  `Link: <hub>; rel="hub", <topic>; rel="self"`, and `X-Hub-Signature: sha256=<HMAC of
  the body with the subscriber's secret>` (8 Authenticated content distribution).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp
from aiohttp import web


@dataclass
class Hub:
    url: str = ""
    subscriptions: dict[str, list[tuple[str, str]]] = field(
        default_factory=dict
    )  # topic -> (callback, secret)
    publishes: list[str] = field(default_factory=list)  # topics pinged, in order
    pings: list[int] = field(default_factory=list)  # how many topics each ping named
    fail_with: int | None = None  # answer pings with this status instead (an outage)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        mode = form.get("hub.mode")
        if mode == "subscribe":
            self._later(self._verify(str(form["hub.callback"]), str(form["hub.topic"]),
                                     str(form.get("hub.secret", "")), int(str(form.get("hub.lease_seconds", "3600")))))  # fmt: skip
            return web.Response(status=202)
        if mode == "publish":
            if self.fail_with is not None:
                return web.Response(status=self.fail_with)
            topics = form.getall("hub.url")
            self.pings.append(len(topics))
            self.publishes.extend(str(topic) for topic in topics)
            for topic in topics:
                self._later(self._distribute(str(topic)))
            return web.Response(status=202)
        return web.Response(status=400, text="unknown hub.mode")

    def _later(self, coroutine) -> None:  # type: ignore[no-untyped-def]
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _verify(self, callback: str, topic: str, secret: str, lease: int) -> None:
        challenge = secrets.token_urlsafe(16)
        query = urlencode({"hub.mode": "subscribe", "hub.topic": topic,
                           "hub.challenge": challenge, "hub.lease_seconds": lease})  # fmt: skip
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{callback}?{query}") as response,
        ):
            if response.status // 100 == 2 and await response.text() == challenge:
                self.subscriptions.setdefault(topic, []).append((callback, secret))

    async def _distribute(self, topic: str) -> None:
        async with aiohttp.ClientSession() as session:
            async with session.get(topic) as response:
                body = await response.read()
                content_type = response.headers["Content-Type"]
            for callback, secret in self.subscriptions.get(topic, []):
                headers = {"Content-Type": content_type,
                           "Link": f'<{self.url}>; rel="hub", <{topic}>; rel="self"'}  # fmt: skip
                if secret:
                    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                    headers["X-Hub-Signature"] = f"sha256={digest}"
                async with session.post(callback, data=body, headers=headers) as delivered:
                    delivered.raise_for_status()


@dataclass
class Subscriber:
    url: str = ""
    secret: str = field(default_factory=lambda: secrets.token_hex(16))
    verified: asyncio.Event = field(default_factory=asyncio.Event)
    received: asyncio.Queue[tuple[bytes, dict[str, str]]] = field(default_factory=asyncio.Queue)

    async def handle(self, request: web.Request) -> web.Response:
        if request.method == "GET":  # 5.3: confirm the subscription we asked for
            self.verified.set()
            return web.Response(text=request.query["hub.challenge"])
        body = await request.read()
        expected = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        if request.headers.get("X-Hub-Signature") != f"sha256={expected}":
            return web.Response(status=202)  # 8: ignore content that is not signed right
        await self.received.put((body, dict(request.headers)))
        return web.Response(status=204)

    async def subscribe(self, hub: str, topic: str) -> None:
        form = {"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": self.url,
                "hub.lease_seconds": "600", "hub.secret": self.secret}  # fmt: skip
        async with aiohttp.ClientSession() as session, session.post(hub, data=form) as response:
            assert response.status == 202
        await asyncio.wait_for(self.verified.wait(), 5)


async def start(handler, port: int = 0) -> tuple[web.AppRunner, str]:  # type: ignore[no-untyped-def]
    """Serve `handler` on loopback (`port`, default a free one); (runner to clean up, URL)."""
    app = web.Application()
    app.router.add_route("*", "/", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/"
