"""Request handlers: a lookup in the current snapshot plus HTTP semantics, nothing more.

No rendering, no file I/O and no YAML here. Every miss gets a helpful 4xx in plain text
(what exists, where the list of feeds is), never a traceback. Handlers receive their
dependencies (the store, the metrics) when they are made, not from a global or an app.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from aiohttp import web

from syndicate.conditional import accepts_gzip, is_not_modified, query_problem
from syndicate.fediverse.documents import prefers_html
from syndicate.feeds import holds_events
from syndicate.headers import ALLOWED_METHODS, CORS, PREFLIGHT
from syndicate.render import FORMATS, by_extension
from syndicate.render.registry import CALENDAR, FRAGMENT
from syndicate.urls import (
    FEEDS_JSON_PATH,
    HEALTH_PATH,
    INDEX_PATH,
    METRICS_PATH,
    OPML_FORMAT,
    absolute,
    moved_path,
    opml_path,
    parse_feed_path,
)
from syndicate.web.board import Board
from syndicate.web.content import ContentStore
from syndicate.web.metrics import Metrics
from syndicate.web.reach import Reach
from syndicate.web.responses import Current, Prepared
from syndicate.web.supervise import Health

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
Counter = Callable[[str, int, int], None]
EMAIL_PREFIX = "/email/"
ERROR_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **CORS}
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
# A former URL of a renamed topic or type: moved for good, so caches may keep the answer.
MOVED_HEADERS = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff",
                 **CORS}  # fmt: skip


def router(
    store: ContentStore,
    metrics: Metrics,
    health: Health,
    board: Board | None = None,
    wings: Sequence[tuple[str, Handler]] = (),
    reach: Reach | None = None,
) -> Handler:
    """The one handler of the service: /healthz, /metrics, every snapshot path, and the
    `wings` (path prefix, handler): email updates (web/signup.py) under /email/, the
    fediverse (web/fediverse.py) for WebFinger and the /ap/ paths no snapshot holds.

    Three kinds of path need no router: the snapshot lookup is the common case and comes
    first; the two operational endpoints are compared by string.
    """
    count = metrics.count

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        current = store.current  # held for the whole request: a reload cannot change it
        # The hot path: the raw path as sent is a snapshot path (no query, no escapes), so
        # the URL need not be decoded. Anything else takes the decoded path below.
        prepared = current.prepared.get(request.raw_path)
        method = request.method
        if prepared is not None and (method == "GET" or method == "HEAD"):
            return respond(request, prepared, count, reach)
        path = request.path
        prepared = current.prepare(path)  # first asked for, or an escaped spelling
        if (
            prepared is not None
            and (method == "GET" or method == "HEAD")
            and "?" not in request.raw_path
        ):
            return respond(request, prepared, count, reach)  # an escaped spelling
        if path == HEALTH_PATH:
            return _operational(
                request, count, "healthz", lambda: _health(store, health, board, metrics)
            )
        if path == METRICS_PATH:
            return _operational(request, count, "metrics", metrics.exposition)
        for prefix, wing in wings:
            if path.startswith(prefix):
                return await wing(request)
        return _other(request, current, prepared, count, reach)

    return handle


def respond(
    request: web.BaseRequest, prepared: Prepared, count: Counter, reach: Reach | None = None
) -> web.Response:
    """200 or 304 for a GET or HEAD of an existing representation (a browser asking for a
    fediverse actor or Note: 302 to its page), counted by `reach` if it counts it."""
    headers = request.headers
    if prepared.browse is not None and prefers_html(headers.get("Accept")):
        count(prepared.route, 302, 0)
        return web.Response(
            status=302,
            headers={"Location": prepared.browse, "Vary": "Accept, Accept-Encoding",
                     "Cache-Control": prepared.ok.get("Cache-Control", "no-cache")},
        )  # fmt: skip
    gzip = accepts_gzip(headers.get("Accept-Encoding"))
    if is_not_modified(
        headers.get("If-None-Match"),
        headers.get("If-Modified-Since"),
        prepared.etags,
        prepared.rep.last_modified,
    ):
        count(prepared.route, 304, 0)
        if reach is not None and prepared.reach is not None:
            reach.count(request, prepared, 304, 0)
        return web.Response(
            status=304, headers=prepared.not_modified_gzip if gzip else prepared.not_modified
        )
    if gzip:
        body = prepared.rep.gzip_body
    else:
        body = prepared.identity if prepared.identity is not None else prepared.rep.body
    sent = 0 if request.method == "HEAD" else len(body)
    count(prepared.route, 200, sent)
    if reach is not None and prepared.reach is not None:
        reach.count(request, prepared, 200, sent)
    return web.Response(body=body, headers=prepared.ok_gzip if gzip else prepared.ok)


def _other(
    request: web.BaseRequest,
    current: Current,
    prepared: Prepared | None,
    count: Counter,
    reach: Reach | None,
) -> web.Response:
    """Everything off the hot path: other methods, unknown paths, query strings."""
    method = request.method
    route = prepared.route if prepared is not None else "not_found"
    if method not in ("GET", "HEAD"):
        if method == "OPTIONS":
            count("preflight", 204, 0)
            return web.Response(status=204, headers=PREFLIGHT)
        return _not_allowed(method, ALLOWED_METHODS, route, count)
    if prepared is None:
        if request.path + "/" in current:  # a page asked for without its slash
            count("redirect", 301, 0)
            location = request.path + "/"
            return web.Response(status=301, headers={**ERROR_HEADERS, "Location": location})
        moved = _moved(request, current)
        if moved is not None:
            count("redirect", 301, 0)
            return web.Response(status=301, headers={**MOVED_HEADERS, "Location": moved})
        return _text(404, _not_found(request.path, current), "not_found", count)
    problem = query_problem(request.raw_path.split("?", 1)[1])
    if problem:
        message = (
            f"The query string is malformed: {problem}.\n"
            "Feeds take no query parameters (unknown ones are ignored): request "
            f"{prepared.rep.path} without one.\n"
        )
        return _text(400, message, route, count)
    return respond(request, prepared, count, reach)


def _moved(request: web.BaseRequest, current: Current) -> str | None:
    """Where a path of a renamed topic or type is now (absolute, the query kept), if it is
    anywhere. Answered with 301 Moved Permanently (RFC 9110 15.4.2), which every feed reader
    takes as "update the subscription", rather than 308, which means the same for a GET but
    which feedparser 6 follows without reporting it (so feedparser-based readers never
    update) and some hosted readers still treat as an error (NewsBlur issue 1841)."""
    snapshot = current.snapshot
    if not snapshot.moves:
        return None
    path = request.path
    target = moved_path(path, snapshot.moves)
    if target == path:
        return None
    if target not in current:
        if target + "/" not in current:
            return None
        target += "/"
    query = request.raw_path.partition("?")[2]
    return absolute(snapshot.catalog.site, target) + (f"?{query}" if query else "")


def _text(status: int, message: str, route: str, count: Counter) -> web.Response:
    count(route, status, len(message))
    return web.Response(
        status=status,
        text=message,
        content_type="text/plain",
        charset="utf-8",
        headers=ERROR_HEADERS,
    )


def _not_allowed(method: str, allowed: str, route: str, count: Counter) -> web.Response:
    verbs = allowed.replace(", OPTIONS", "").replace(", ", " or ")
    response = _text(405, f"{method} is not allowed here; use {verbs}.\n", route, count)
    response.headers["Allow"] = allowed
    return response


def _shown(path: str) -> str:
    """The requested path, made safe and short to echo back."""
    printable = "".join(c if c.isprintable() else "?" for c in path)
    return printable if len(printable) <= 200 else printable[:200] + "..."


def _not_found(path: str, current: Current) -> str:
    catalog = current.snapshot.catalog
    site = catalog.site
    parsed = parse_feed_path(path)
    reason = f"Nothing is published at {_shown(path)}."
    if parsed is not None:
        key, extension = parsed
        fmt = by_extension(extension)
        if key.topic and key.topic not in catalog.topics:
            reason = f"There is no topic '{key.topic}'. Topics: {', '.join(catalog.topics)}."
        elif key.type and key.type not in catalog.types:
            reason = f"There is no content type '{key.type}'. Types: {', '.join(catalog.types)}."
        elif key.view and not holds_events(key, catalog):
            reason = (
                f"Only feeds that hold events have {key.view} views; "
                f"'{key.type}' items are not events."
            )
        elif fmt is None:
            formats = ", ".join(
                f".{f.extension} ({f.label})" for f in FORMATS.values() if f.is_feed
            )
            calendars = ", ".join(
                f".{f.extension} ({f.label})" for f in FORMATS.values() if f.kind == CALENDAR
            )
            fragments = ", ".join(
                f".{f.extension} ({f.label})" for f in FORMATS.values() if f.kind == FRAGMENT
            )
            also = f"; event feeds also as {calendars}" if calendars else ""
            also += f"; every feed also as {fragments}, to include in a page" if fragments else ""
            reason = f"There is no '.{extension}' format. Feeds come as {formats}{also}."
        else:
            reason = f"This feed has no {fmt.label} format."
    return (
        f"404 Not Found. {reason}\n\n"
        f"Every feed is listed at {absolute(site, INDEX_PATH)} (for people), "
        f"{absolute(site, opml_path(OPML_FORMAT))} (for feed readers) and "
        f"{absolute(site, FEEDS_JSON_PATH)}.\n"
    )


def _operational(
    request: web.BaseRequest, count: Counter, route: str, body: Callable[[], tuple[bytes, str]]
) -> web.Response:
    """/healthz and /metrics: GET or HEAD only, never cached."""
    if request.method not in ("GET", "HEAD"):
        return _not_allowed(request.method, "GET, HEAD", "other", count)
    data, content_type = body()
    count(route, 200, len(data))
    return web.Response(body=data, headers={**NO_STORE, "Content-Type": content_type})


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def _health(
    store: ContentStore, health: Health, board: Board | None, metrics: Metrics
) -> tuple[bytes, str]:
    """Service health as JSON: status and why, snapshot version and age, counts, the last
    reload error, failing background work; in a pool, every worker and which one answered."""
    current = store.current
    failure = store.last_failure
    catalog = current.snapshot.catalog
    reasons = [f"the last reload failed ({len(failure.problems)} problem(s))"] if failure else []
    reasons += [f"{task}: {f.reason}" for task, f in sorted(health.failures.items())]
    pool, pool_reasons = board.view() if board is not None else (None, [])
    reasons += pool_reasons
    content = store.content_reasons
    reasons += content
    body: dict[str, object] = {
        "status": "degraded" if reasons else "ok",
        "reasons": reasons,
        "snapshot": {
            "version": current.snapshot.version,
            "built_at": datetime.fromtimestamp(store.built_at, UTC).isoformat(timespec="seconds"),
            "age_seconds": round(time.time() - store.built_at, 1),
            "build_seconds": round(store.build_seconds, 4),
        },
        "counts": {
            "types": len(catalog.types),
            "topics": len(catalog.topics),
            "items": len(catalog.items),
            "withdrawn": sum(1 for item in catalog.items if item.withdrawn),
            "representations": len(current),
        },
    }
    body["scheduled"] = {
        "items": len(current.snapshot.scheduled),
        "next_publication": _iso(store.next_scheduled),
        "next_rebuild": _iso(store.next_rebuild),
    }
    body["content"] = {  # what the record of published things misses (published.py)
        "removed": [
            {"id": r.id, "title": r.entry.title, "url": r.entry.url, "drafted": r.drafted}
            for r in current.snapshot.removed
        ],
        "gone": [{"kind": g.kind, "slug": g.slug} for g in current.snapshot.gone],
    }
    body["last_reload_error"] = (
        {"at": failure.at.isoformat(timespec="seconds"), "problems": list(failure.problems)}
        if failure
        else None
    )
    body["background"] = {
        task: {"since": f.since.isoformat(timespec="seconds"), "reason": f.reason}
        for task, f in sorted(health.failures.items())
    }
    if metrics.email_enabled:  # counts only (the sender's, from the database)
        body["email"] = {
            "subscribers": metrics.email_subscribers,
            "queued": metrics.email_queued,
            "set_aside": metrics.email_set_aside,
            "bounced": metrics.email_bounced,
        }
    if pool is not None:
        body["pool"] = pool
    return (json.dumps(body, indent=2) + "\n").encode("utf-8"), "application/json; charset=utf-8"
