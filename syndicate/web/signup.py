"""The people's endpoints of email updates, thin: parse, call the people wing, answer.

    POST /email/subscribe           sign-up, from our pages' form (form-encoded) or a partner's
                                    (JSON, CORS): 202, the same answer whatever the address
    GET|POST /email/confirm         a confirmation link: GET shows a button, POST confirms
    GET|POST /email/unsubscribe     GET shows a button (mail scanners follow links); POST,
                                    from the page or a mail client's RFC 8058 one-click, ends it
    GET|POST /email/manage          see and change what one gets, export it, delete it all
    GET /email/manage/export        what is kept about one, as JSON

Every write assumes a hostile client: bodies capped at 4 KB, sign-ups limited per client
address (here) and per recipient (the database), a honeypot field, signed links (links.py),
addresses refused unless email-validator accepts them. Answers are 4xx with a reason, pages
rendered per request from autoescaped templates. No address reaches a log line or a metric.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from syndicate import assets, templating, urls
from syndicate.headers import CORS
from syndicate.mail import links
from syndicate.mail.addresses import AddressError, normalised
from syndicate.mail.links import LinkError
from syndicate.mail.messages import (
    CONFIRM_PATH,
    FREQUENCY_PROMISE,
    FREQUENCY_TEXT,
    MANAGE_PATH,
    UNSUBSCRIBE_PATH,
    feed_title,
)
from syndicate.model import Catalog
from syndicate.people import outbox, subscriptions
from syndicate.people.database import Database, DatabaseUnavailable
from syndicate.people.subscriptions import EVERY, FREQUENCIES, INSTANT, Feed
from syndicate.web.clock import Clock
from syndicate.web.content import ContentStore
from syndicate.web.forms import BadRequest, form_fields
from syndicate.web.limits import ClientLimiter, Proxies, client_address
from syndicate.web.metrics import Metrics
from syndicate.web.supervise import Health

PREFIX = "/email/"
SUBSCRIBE_PATH = "/email/subscribe"
EXPORT_PATH = "/email/manage/export"
MAX_BODY = 4096
EXPORT_NAME = "my-email-updates.json"
HONEYPOT = "website"  # a field people never see: filled in, it was a robot
CLIENT_LIMIT, CLIENT_WINDOW = 10, 600.0  # sign-ups per client address per window (seconds)
SIGNUP_FLOOR = 0.05  # seconds every accepted sign-up takes at least (see subscribe)
DATABASE_TASK, RETRY_AFTER = "database", 30
NO_STORE = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": templating.PAGE_CSP,
    "Referrer-Policy": "no-referrer",
}
SUBSCRIBE_PREFLIGHT = {
    **CORS,
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}
ASKED = (
    "Thank you. If this address can receive updates, a confirmation email is on its way: "
    "open the link in it to start getting them."
)


class People:
    """The /email/ endpoints of one process."""

    def __init__(
        self,
        store: ContentStore,
        db: Database,
        metrics: Metrics,
        clock: Clock,
        wake_sender: Callable[[], None],
        health: Health,
    ) -> None:
        self.store, self.db, self.metrics, self.clock = store, db, metrics, clock
        self.health = health
        self.wake_sender = wake_sender
        self.trusted = Proxies()  # set by the service: SYNDICATE_TRUSTED_PROXIES
        self.limiter = ClientLimiter(CLIENT_LIMIT, CLIENT_WINDOW)
        self.secret = outbox.link_key(db.engine)
        self.routes: dict[tuple[str, str], Callable[[web.BaseRequest], Awaitable[web.Response]]] = {
            ("POST", SUBSCRIBE_PATH): self.subscribe,
            ("GET", CONFIRM_PATH): self.confirm_page,
            ("POST", CONFIRM_PATH): self.confirm,
            ("GET", UNSUBSCRIBE_PATH): self.unsubscribe_page,
            ("POST", UNSUBSCRIBE_PATH): self.unsubscribe,
            ("GET", MANAGE_PATH): self.manage_page,
            ("POST", MANAGE_PATH): self.manage,
            ("GET", EXPORT_PATH): self.export,
        }

    async def handle(self, request: web.BaseRequest) -> web.Response:
        if request.method == "OPTIONS" and request.path == SUBSCRIBE_PATH:
            return web.Response(status=204, headers=SUBSCRIBE_PREFLIGHT)
        route = self.routes.get((request.method, request.path))
        if route is None:
            allowed = sorted({m for m, p in self.routes if p == request.path})
            if allowed:
                return self._error(
                    request, 405, f"Use {' or '.join(allowed)} here.", {"Allow": ", ".join(allowed)}
                )
            return self._error(request, 404, "There is nothing here.")
        try:
            response = await route(request)
        except BadRequest as error:
            return self._error(request, error.status, error.reason)
        except DatabaseUnavailable as error:
            self.health.fail(DATABASE_TASK, str(error))
            return self._error(
                request, 503, "We cannot take this just now; please try again in a minute.",
                {"Retry-After": str(RETRY_AFTER)},
            )  # fmt: skip
        if DATABASE_TASK in self.health.failures:
            self.health.ok(DATABASE_TASK)  # it answered again
        return response

    # Sign-up --------------------------------------------------------------------------

    async def subscribe(self, request: web.BaseRequest) -> web.Response:
        started = time.monotonic()
        wait = self.limiter.allow(client_address(request, self.trusted) or "?", time.monotonic())
        if wait:
            self.metrics.email_signups["limited"] += 1
            raise BadRequest(429, f"Too many sign-ups from here; try again in {int(wait) + 1} s.")
        fields = await form_fields(request, MAX_BODY)
        if fields.get(HONEYPOT):
            self.metrics.email_signups["honeypot"] += 1
            return self._asked(request)
        try:
            address = normalised(fields.get("email", ""))
        except AddressError as error:
            self.metrics.email_signups["refused"] += 1
            raise BadRequest(400, str(error)) from None
        feed = self._feed(fields.get("topic") or EVERY, fields.get("type") or EVERY)
        frequency = fields.get("frequency") or INSTANT
        if frequency not in FREQUENCIES:
            raise BadRequest(400, f"frequency must be one of {', '.join(FREQUENCIES)}.")
        queued = await self.db.run(
            subscriptions.request, address, feed, frequency, self.clock.now()
        )
        self.metrics.email_signups["asked"] += 1
        if queued:
            self.wake_sender()
        # The answer takes as long whether the address was new, waiting or subscribed: the
        # database's work differs (a few inserts, or none), and a stopwatch would tell.
        await asyncio.sleep(max(0.0, started + SIGNUP_FLOOR - time.monotonic()))
        return self._asked(request)

    def _feed(self, topic: str, kind: str) -> Feed:
        catalog = self.store.snapshot.catalog
        if topic != EVERY and topic not in catalog.topics:
            raise BadRequest(
                400, f"There is no topic {topic[:100]!r}. Topics: {', '.join(catalog.topics)}."
            )
        if kind != EVERY and kind not in catalog.types:
            raise BadRequest(
                400, f"There is no type {kind[:100]!r}. Types: {', '.join(catalog.types)}."
            )
        return Feed(topic, kind)

    def _asked(self, request: web.BaseRequest) -> web.Response:
        if _wants_json(request):
            return _json(202, {"status": "check-your-inbox", "message": ASKED})
        return self._page(202, "Check your inbox", [ASKED])

    # Confirmation ---------------------------------------------------------------------

    async def confirm_page(self, request: web.BaseRequest) -> web.Response:
        token = request.query.get("token", "")
        self._link(token, links.CONFIRM)
        return self._page(
            200,
            "Confirm your subscription",
            ["Press the button to start getting email updates."],
            form={"action": CONFIRM_PATH, "token": token, "button": "Confirm"},
        )

    async def confirm(self, request: web.BaseRequest) -> web.Response:
        link = self._link((await form_fields(request, MAX_BODY)).get("token", ""), links.CONFIRM)
        done = await self.db.run(
            subscriptions.confirm,
            link.subscription,
            link.key,
            link.frequency if link.frequency in FREQUENCIES else INSTANT,
            self.clock.now(),
        )
        if not done:
            raise BadRequest(410, "This link was used already, or the subscription was removed.")
        return self._page(
            200,
            "You are subscribed",
            [
                f"You will get {FREQUENCY_PROMISE.get(link.frequency, FREQUENCY_PROMISE[INSTANT])}."
                " "
                "Every email has a link to change or stop them."
            ],
        )

    # Unsubscribing and managing --------------------------------------------------------

    async def unsubscribe_page(self, request: web.BaseRequest) -> web.Response:
        token = request.query.get("token", "")
        self._link(token, links.UNSUBSCRIBE)
        return self._page(
            200,
            "Unsubscribe",
            ["Press the button to stop every email update."],
            form={
                "action": f"{UNSUBSCRIBE_PATH}?token={token}",
                "token": token,
                "button": "Unsubscribe",
            },
        )

    async def unsubscribe(self, request: web.BaseRequest) -> web.Response:
        """Also RFC 8058's one-click POST: the token in the URL, no login, no page."""
        fields = await form_fields(request, MAX_BODY)
        link = self._link(request.query.get("token") or fields.get("token", ""), links.UNSUBSCRIBE)
        await self._owner(link)
        await self.db.run(subscriptions.unsubscribe, link.subscriber)
        return self._page(
            200,
            "Unsubscribed",
            ["You will get no more email updates, and we have deleted your address."],
        )

    async def manage_page(self, request: web.BaseRequest) -> web.Response:
        token = request.query.get("token", "")
        link = self._link(token, links.MANAGE)
        subscriber = await self._owner(link)
        catalog = self.store.snapshot.catalog
        body = templating.render(
            "people/manage.html",
            **self._common("Your email updates"),
            subscriber=subscriber,
            token=token,
            action=f"{MANAGE_PATH}?token={token}",
            export_url=f"{EXPORT_PATH}?token={token}",
            feed_titles={
                s.id: feed_title(catalog, s.feed.topic, s.feed.type)
                for s in subscriber.subscriptions
            },
            frequencies=[(f, FREQUENCY_TEXT[f].capitalize()) for f in FREQUENCIES],
            topics=catalog.topics.values(),
            types=catalog.types.values(),
        )
        return web.Response(body=body, content_type="text/html", charset="utf-8", headers=NO_STORE)

    async def manage(self, request: web.BaseRequest) -> web.Response:
        fields = await form_fields(request, MAX_BODY)
        token = request.query.get("token") or fields.get("token", "")
        link = self._link(token, links.MANAGE)
        subscriber = await self._owner(link)
        action = fields.get("action")
        if action == "erase":
            await self.db.run(subscriptions.erase, subscriber.id)
            return self._page(
                200,
                "Deleted",
                [
                    "Everything we kept about you is deleted, and "
                    "you will get no more email updates."
                ],
            )
        if action == "follow":
            feed = self._feed(fields.get("topic") or EVERY, fields.get("type") or EVERY)
            frequency = fields.get("frequency") or INSTANT
            if frequency not in FREQUENCIES:
                raise BadRequest(400, f"frequency must be one of {', '.join(FREQUENCIES)}.")
            now = self.clock.now()
            await self.db.run(subscriptions.follow, subscriber.id, feed, frequency, now)
            raise web.HTTPSeeOther(f"{MANAGE_PATH}?token={token}", headers=NO_STORE)
        try:
            subscription = int(fields.get("subscription", ""))
        except ValueError:
            raise BadRequest(400, "Which subscription? (the form lost its field)") from None
        if subscription not in {s.id for s in subscriber.subscriptions}:
            raise BadRequest(404, "That subscription is not yours, or is gone.")
        if action == "frequency":
            frequency = fields.get("frequency", "")
            if frequency not in FREQUENCIES:
                raise BadRequest(400, f"frequency must be one of {', '.join(FREQUENCIES)}.")
            await self.db.run(subscriptions.set_frequency, subscriber.id, subscription, frequency)
        elif action == "unsubscribe":
            await self.db.run(subscriptions.unsubscribe, subscriber.id, subscription)
        else:
            raise BadRequest(400, "Unknown action.")
        if await self.db.run(subscriptions.subscriber, subscriber.id) is None:
            return self._page(
                200, "Unsubscribed", ["You follow nothing now, so we deleted your address."]
            )
        raise web.HTTPSeeOther(f"{MANAGE_PATH}?token={token}", headers=NO_STORE)

    async def export(self, request: web.BaseRequest) -> web.Response:
        link = self._link(request.query.get("token", ""), links.MANAGE)
        subscriber = await self._owner(link)
        data = {
            "address": subscriber.address,
            "created_at": _iso(subscriber.created_at),
            "confirmed_at": _iso(subscriber.confirmed_at),
            "bounced_at": _iso(subscriber.bounced_at),
            "subscriptions": [
                {
                    "topic": s.feed.topic,
                    "type": s.feed.type,
                    "frequency": s.frequency,
                    "confirmed_at": _iso(s.confirmed_at),
                }
                for s in subscriber.subscriptions
            ],
        }
        return web.Response(
            body=json.dumps(data, indent=2).encode(),
            content_type="application/json",
            headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{EXPORT_NAME}"'},
        )

    # Helpers --------------------------------------------------------------------------

    def _link(self, token: str, purpose: str) -> links.Link:
        try:
            return links.verify(token, self.secret, purpose, self.clock.now())
        except LinkError as error:
            raise BadRequest(
                410 if error.gone else 400,
                f"This link does not work: {error}.",
            ) from None

    async def _owner(self, link: links.Link) -> subscriptions.Subscriber:
        found: subscriptions.Subscriber | None = await self.db.run(
            subscriptions.subscriber, link.subscriber
        )
        if found is None or found.token_key != link.key:
            raise BadRequest(410, "This link no longer works: the subscription is gone.")
        return found

    def _common(self, title: str) -> dict[str, Any]:
        catalog: Catalog = self.store.snapshot.catalog
        site = catalog.site
        return {
            "site": site,
            "title": title,
            "stylesheet": urls.absolute(site, assets.page_assets()["css"].path),
            "front_url": urls.absolute(site, urls.INDEX_PATH),
        }

    def _page(
        self, status: int, title: str, paragraphs: list[str], form: dict[str, str] | None = None
    ) -> web.Response:
        body = templating.render(
            "people/layout.html", **self._common(title), paragraphs=paragraphs, form=form
        )
        return web.Response(
            status=status, body=body, content_type="text/html", charset="utf-8", headers=NO_STORE
        )

    def _error(
        self,
        request: web.BaseRequest,
        status: int,
        reason: str,
        extra: dict[str, str] | None = None,
    ) -> web.Response:
        self.metrics.count("email", status, 0)
        if _wants_json(request):
            response = _json(status, {"status": "error", "message": reason})
        else:
            response = self._page(status, "That did not work", [reason])
        response.headers.update(extra or {})
        return response


def _wants_json(request: web.BaseRequest) -> bool:
    return request.content_type == "application/json" or "application/json" in request.headers.get(
        "Accept", ""
    )


def _json(status: int, data: dict[str, str]) -> web.Response:
    return web.json_response(data, status=status, headers={**CORS, "Cache-Control": "no-store"})


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
