"""The fediverse's HTTP side, thin like the feed handlers: WebFinger, the followers count and
the inboxes. Actor documents, outboxes and Notes are in the snapshot (fediverse/documents.py)
and served like any feed; this handles what depends on a query or on the database.

An inbox (ours, or the shared one) believes nothing it has not verified: the body is capped
at 1 MB, the signature must be the activity's actor's (its key fetched from its server, over
HTTPS, never from a private address), dated within 12 hours. Then a Follow of one of our
actors is recorded and answered with an Accept, an Undo of it removes it, a Delete of the
follower's own actor removes all it follows; anything else is answered 202 and ignored.
Each client address may post `INBOX_LIMIT` activities a minute, and each remote server may
follow `FOLLOW_LIMIT` times in ten minutes.

Answers are JSON with a reason for every refusal (4xx, never a traceback).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from multidict import CIMultiDict

from syndicate import untrusted, urls
from syndicate.fediverse import activities, documents, signatures
from syndicate.fediverse.remote import MAX_URL, Actors, Remote, RemoteError
from syndicate.headers import CORS
from syndicate.model import Catalog
from syndicate.people import deliveries, followers
from syndicate.people.database import Database
from syndicate.people.deliveries import Outgoing
from syndicate.web.clock import Clock
from syndicate.web.content import ContentStore
from syndicate.web.handlers import respond
from syndicate.web.limits import ClientLimiter, Proxies, capped_body, client_address
from syndicate.web.metrics import Metrics

log = logging.getLogger("syndicate.fediverse")
PREFIXES = (urls.WEBFINGER_PATH, urls.AP_PREFIX)
MAX_INBOX = 1_000_000  # bytes: Mastodon caps activities at 1 MB
INBOX_TYPES = frozenset({"application/activity+json", "application/ld+json", "application/json"})
INBOX_LIMIT = 600  # activities a minute from one client address (a busy server's shared inbox)
FOLLOW_LIMIT = 60  # follows in ten minutes from one remote server
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
    """The fediverse endpoints of one process. `actors` (remote.Actors) is set when the
    service starts (it needs the event loop); `wake` starts a delivery round."""

    def __init__(
        self,
        store: ContentStore,
        db: Database,
        metrics: Metrics,
        clock: Clock,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.store, self.db, self.metrics, self.clock, self.wake = store, db, metrics, clock, wake
        self.count = metrics.count
        self.actors: Actors | None = None
        self.trusted = Proxies()  # set by the service: SYNDICATE_TRUSTED_PROXIES
        self.clients = ClientLimiter(INBOX_LIMIT, 60.0)
        self.follows = ClientLimiter(FOLLOW_LIMIT, 600.0)

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        try:
            return await self._handle(request)
        except Refused as refused:
            self.count("fediverse", refused.status, 0)
            if request.method == "POST":
                self.metrics.fediverse_inbox[f"refused-{refused.status}"] += 1
            return _json(refused.status, {"error": refused.reason})

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        path, method = request.path, request.method
        if path == urls.WEBFINGER_PATH:
            if method not in ("GET", "HEAD"):
                raise Refused(405, "WebFinger answers GET only.")
            return self.webfinger(request)
        prefix = urls.actor_path("")
        if path == urls.SHARED_INBOX_PATH or (path.startswith(prefix) and path.endswith("/inbox")):
            if method != "POST":
                raise Refused(405, "An inbox takes POSTs of signed activities.")
            return await self.inbox(request)
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

    # Inboxes -------------------------------------------------------------------------

    async def inbox(self, request: web.BaseRequest) -> web.StreamResponse:
        wait = self.clients.allow(client_address(request, self.trusted) or "?", time.monotonic())
        if wait:
            raise Refused(429, f"Too many activities from here; try again in {int(wait) + 1} s.")
        body = await capped_body(request, MAX_INBOX)
        if body is None:
            raise Refused(413, f"An activity is at most {MAX_INBOX} bytes.")
        if request.content_type not in INBOX_TYPES:
            raise Refused(415, f"An activity is {documents.ACTIVITY_JSON}, not "
                               f"{request.content_type[:60]!r}.")  # fmt: skip
        activity = _activity(body)
        catalog = self.store.current.snapshot.catalog
        received = signatures.Received(
            request.method, urls.absolute(catalog.site, request.path_qs),
            CIMultiDict(request.headers), body,
        )  # fmt: skip
        remote = await self._signer(received, activity)
        if remote is None:  # a Delete of an actor that is gone: nothing to verify against
            removed = await self.db.run(followers.remove, activity["actor"])
            return self._accepted("actor-gone", f"{removed} follow(s) of a deleted actor removed")
        kind = activity["type"]
        if kind == "Follow":
            return await self._follow(request, catalog, activity, remote)
        if kind == "Undo":
            return await self._undo(catalog, activity)
        if kind == "Delete" and _id(activity.get("object")) == activity["actor"]:
            removed = await self.db.run(followers.remove, activity["actor"])
            return self._accepted("actor-deleted", f"{removed} follow(s) removed")
        return self._accepted("ignored", f"{kind[:40]} activities are not acted on here")

    def _accepted(self, answer: str, message: str) -> web.Response:
        self.metrics.fediverse_inbox[answer] += 1
        self.count("fediverse", 202, 0)
        return _json(202, {"status": "accepted", "message": message})

    async def _signer(
        self, received: signatures.Received, activity: dict[str, Any]
    ) -> Remote | None:
        """The remote actor that signed `received`, which must be the activity's actor;
        None for a Delete of an actor whose server says it is gone."""
        assert self.actors is not None
        try:
            key_id = signatures.key_id(received)
        except signatures.SignatureError as error:
            raise Refused(401, _sentence(error)) from None
        try:
            remote = await self.actors.by_key(key_id)
        except RemoteError as error:
            if (
                error.gone
                and activity["type"] == "Delete"
                and (_id(activity.get("object")) == activity["actor"])
            ):
                return None
            raise Refused(401, f"The signer's key could not be had: {error}") from None
        now = self.clock.now()
        try:
            signatures.verify(received, remote.public_pem, now)
        except signatures.SignatureError as first:
            try:  # the actor may have a new key since we kept it
                remote = await self.actors.by_key(key_id, fresh=True)
                signatures.verify(received, remote.public_pem, now)
            except (RemoteError, signatures.SignatureError):
                raise Refused(401, _sentence(first)) from None
        if remote.id != activity["actor"]:
            raise Refused(401, "The activity is signed by another actor than its own.")
        return remote

    def _ours(self, catalog: Catalog, target: object) -> str:
        """The handle of our actor `target` names (404 if none)."""
        url = _id(target)
        prefix = urls.absolute(catalog.site, urls.actor_path(""))
        handle = url.removeprefix(prefix) if url.startswith(prefix) else ""
        if handle not in documents.handles(catalog):
            raise Refused(404, f"There is no actor {url[:200]!r} here.")
        return handle

    async def _follow(
        self, request: web.BaseRequest, catalog: Catalog, activity: dict[str, Any], remote: Remote
    ) -> web.Response:
        handle = self._ours(catalog, activity.get("object"))
        host = urlsplit(remote.id).hostname or "?"
        wait = self.follows.allow(host, time.monotonic())
        if wait:
            raise Refused(429, f"Too many follows from {host}; try again in {int(wait) + 1} s.")
        now = self.clock.now()
        found = followers.Follower(handle, remote.id, remote.inbox, remote.shared_inbox,
                                   str(activity["id"]))  # fmt: skip
        await self.db.run(followers.add, found, now)
        accept = activities.accept(catalog.site, handle, activity)
        outgoing = Outgoing(str(accept["id"]), handle,
                            json.dumps(accept, ensure_ascii=False, separators=(",", ":")),
                            (handle,))  # fmt: skip
        inbox_host = urlsplit(remote.inbox).netloc
        await self.db.run(deliveries.enqueue, outgoing, {remote.inbox: inbox_host}, now)
        self.wake()
        log.info("a follow of @%s from %s", handle, host)
        return self._accepted("followed", f"{remote.id} follows @{handle}")

    async def _undo(self, catalog: Catalog, activity: dict[str, Any]) -> web.Response:
        undone = activity.get("object")
        actor = activity["actor"]
        if isinstance(undone, dict) and undone.get("type") == "Follow":
            if _id(undone.get("actor", actor)) != actor:
                raise Refused(403, "An Undo may only undo its own actor's Follow.")
            handle = self._ours(catalog, undone.get("object"))
            removed = await self.db.run(followers.remove, actor, handle)
        elif isinstance(undone, str):
            removed = await self.db.run(followers.remove, actor, None, undone)
        else:
            return self._accepted("ignored", "only Undo of a Follow is acted on here")
        return self._accepted("unfollowed", f"{removed} follow(s) removed")


def _sentence(error: Exception) -> str:
    """`error`'s words as a sentence: its first letter capitalised, a full stop."""
    words = str(error)
    return f"{words[:1].upper()}{words[1:]}."


def _id(value: object) -> str:
    """An object's id, whether it is given as a string or as an object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _activity(body: bytes) -> dict[str, Any]:
    """The activity `body` holds, with the fields every handling needs; 400 otherwise."""
    try:
        found = untrusted.loads(body)
    except ValueError as error:  # UnicodeDecodeError too
        raise Refused(400, f"The body is not JSON we read: {str(error)[:80]}.") from None
    if not isinstance(found, dict):
        raise Refused(400, "An activity is a JSON object.")
    for name in ("id", "type"):
        if not isinstance(found.get(name), str) or not found[name]:
            raise Refused(400, f"The activity has no {name}.")
    actor = _id(found.get("actor"))
    if not actor.startswith(("https://", "http://")):
        raise Refused(400, "The activity names no actor (a URL).")
    for name, value in (
        ("id", found["id"]),
        ("actor", actor),
        ("object's id", _id(found.get("object"))),
    ):
        if len(value) > MAX_URL:  # kept in columns that wide (a Follow's id, its actor)
            raise Refused(400, f"The activity's {name} is over {MAX_URL} characters.")
    found["actor"] = actor
    return found
