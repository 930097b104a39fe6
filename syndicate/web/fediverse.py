"""The fediverse's HTTP side, thin like the feed handlers: WebFinger, the followers count and
the inboxes. Actor documents, outboxes and Notes are in the snapshot (fediverse/documents.py)
and served like any feed; this handles what depends on a query or on the database.

Answers are JSON with a reason for every refusal (4xx, never a traceback).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from syndicate import urls
from syndicate.fediverse import documents
from syndicate.headers import CORS
from syndicate.people import followers
from syndicate.people.database import Database
from syndicate.web.content import ContentStore
from syndicate.web.handlers import respond

log = logging.getLogger("syndicate.fediverse")
PREFIXES = (urls.WEBFINGER_PATH, urls.AP_PREFIX)
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **CORS}
FOLLOWERS_CACHE = "public, max-age=60"


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def _json(status: int, document: dict[str, Any], headers: dict[str, str] | None = None,
          content_type: str = "application/json") -> web.Response:  # fmt: skip
    return web.Response(
        status=status,
        body=json.dumps(document, ensure_ascii=False).encode("utf-8"),
        content_type=content_type,
        charset="utf-8",
        headers={**NO_STORE, **(headers or {})},
    )


class Fediverse:
    """The fediverse endpoints of one process."""

    def __init__(
        self, store: ContentStore, db: Database, count: Callable[[str, int, int], None]
    ) -> None:
        self.store, self.db, self.count = store, db, count

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        try:
            return await self._handle(request)
        except Refused as refused:
            self.count("fediverse", refused.status, 0)
            return _json(refused.status, {"error": refused.reason})

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        path, method = request.path, request.method
        if path == urls.WEBFINGER_PATH:
            if method not in ("GET", "HEAD"):
                raise Refused(405, "WebFinger answers GET only.")
            return self.webfinger(request)
        prefix = urls.actor_path("")
        if path.startswith(prefix) and path.endswith("/followers"):
            if method not in ("GET", "HEAD"):
                raise Refused(405, "A followers collection answers GET only.")
            return await self.followers(request, path.removeprefix(prefix)[: -len("/followers")])
        raise Refused(404, "There is nothing here. Actors are found by WebFinger.")

    def webfinger(self, request: web.BaseRequest) -> web.StreamResponse:
        """RFC 7033: `resource` is `acct:{handle}@{host}` or an actor's URL."""
        resource = request.query.get("resource", "").strip()
        if not resource:
            raise Refused(400, "WebFinger needs ?resource=acct:{handle}@{host}.")
        current = self.store.current
        catalog = current.snapshot.catalog
        host = documents.host(catalog.site)
        handle: str | None = None
        if resource.startswith("acct:"):
            name, _, at = resource.removeprefix("acct:").lstrip("@").rpartition("@")
            if at.lower() == host.lower():
                handle = name
        else:
            actor = urls.absolute(catalog.site, urls.actor_path(""))
            if resource.startswith(actor):
                handle = resource.removeprefix(actor)
        if handle not in documents.handles(catalog):
            raise Refused(404, f"No actor here is {resource[:200]!r}.")
        assert handle is not None
        prepared = current.prepare(urls.webfinger_document_path(handle))
        if prepared is None:  # the snapshot is always rendered with every handle
            raise Refused(404, f"No actor here is {resource[:200]!r}.")
        return respond(request, prepared, self.count)

    async def followers(self, request: web.BaseRequest, handle: str) -> web.StreamResponse:
        """How many follow `handle`; who is nobody's business."""
        catalog = self.store.current.snapshot.catalog
        if handle not in documents.handles(catalog):
            raise Refused(404, f"There is no actor {handle[:100]!r}.")
        total = await self.db.run(followers.count, handle)
        self.count("fediverse", 200, 0)
        return _json(
            200,
            {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": urls.absolute(catalog.site, f"{urls.actor_path(handle)}/followers"),
                "type": "OrderedCollection",
                "totalItems": total,
            },
            {"Cache-Control": FOLLOWERS_CACHE},
            documents.ACTIVITY_JSON,
        )
