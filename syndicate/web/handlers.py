"""Request handlers: a lookup in the current snapshot plus HTTP semantics, nothing more.

No rendering, no file I/O and no YAML here. Every miss gets a helpful 4xx in plain text
(what exists, where the list of feeds is), never a traceback.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from aiohttp import web

from syndicate.render import FORMATS, by_extension
from syndicate.urls import parse_feed_path
from syndicate.web.conditional import accepts_gzip, is_not_modified, query_problem
from syndicate.web.keys import METRICS, STORE
from syndicate.web.responses import ALLOWED_METHODS, CORS, PREFLIGHT, Current

TEXT = "text/plain; charset=utf-8"
ERROR_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **CORS}


async def serve(request: web.Request) -> web.StreamResponse:
    """Every snapshot path: feeds, the index page, OPML and feeds.json."""
    store = request.app[STORE]
    current = store.current
    method = request.method
    if current is None:
        return _text(
            503, "The content is still loading; try again in a moment.\n", "unavailable", request
        )
    prepared = current.prepared.get(request.path)
    route = "feed" if prepared is not None and prepared.rep.key is not None else "document"
    if method not in ("GET", "HEAD"):
        if method == "OPTIONS":
            request.app[METRICS].count("preflight", 204, 0)
            return web.Response(status=204, headers=PREFLIGHT)
        response = _text(405, f"{method} is not allowed here; use GET or HEAD.\n", route, request)
        response.headers["Allow"] = ALLOWED_METHODS
        return response
    if prepared is None:
        return _text(404, _not_found(request.path, current), "not_found", request)
    if "?" in request.raw_path:
        problem = query_problem(request.raw_path.split("?", 1)[1])
        if problem:
            message = (
                f"The query string is malformed: {problem}.\n"
                "Feeds take no query parameters (unknown ones are ignored): request "
                f"{prepared.rep.path} without one.\n"
            )
            return _text(400, message, route, request)
    headers = request.headers
    gzip = accepts_gzip(headers.get("Accept-Encoding"))
    metrics = request.app[METRICS]
    if is_not_modified(
        headers.get("If-None-Match"),
        headers.get("If-Modified-Since"),
        prepared.etags,
        prepared.rep.last_modified,
    ):
        metrics.count(route, 304, 0)
        return web.Response(
            status=304, headers=prepared.not_modified_gzip if gzip else prepared.not_modified
        )
    body = prepared.rep.gzip_body if gzip else prepared.rep.body
    metrics.count(route, 200, 0 if method == "HEAD" else len(body))
    return web.Response(body=body, headers=prepared.ok_gzip if gzip else prepared.ok)


def _text(status: int, message: str, route: str, request: web.Request) -> web.Response:
    request.app[METRICS].count(route, status, len(message))
    return web.Response(
        status=status,
        text=message,
        content_type="text/plain",
        charset="utf-8",
        headers=ERROR_HEADERS,
    )


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
        elif fmt is None:
            formats = ", ".join(f".{f.extension} ({f.label})" for f in FORMATS.values())
            reason = f"There is no '.{extension}' format. Feeds come as {formats}."
        else:
            reason = f"This feed has no {fmt.label} format."
    return (
        f"404 Not Found. {reason}\n\n"
        f"Every feed is listed at {site.feeds_url}/ (for people), "
        f"{site.feeds_url}/feeds.opml (for feed readers) and {site.feeds_url}/feeds.json.\n"
    )


async def healthz(request: web.Request) -> web.Response:
    """Service health as JSON: snapshot version and age, counts, the last reload error."""
    store = request.app[STORE]
    current: Current | None = store.current
    failure = store.last_failure
    body: dict[str, object] = {
        "status": "starting" if current is None else ("degraded" if failure else "ok")
    }
    if current is not None:
        catalog = current.snapshot.catalog
        body["snapshot"] = {
            "version": current.snapshot.version,
            "built_at": datetime.fromtimestamp(store.built_at, UTC).isoformat(timespec="seconds"),
            "age_seconds": round(time.time() - store.built_at, 1),
            "build_seconds": round(store.build_seconds, 4),
        }
        body["counts"] = {
            "types": len(catalog.types),
            "topics": len(catalog.topics),
            "items": len(catalog.items),
            "withdrawn": sum(1 for item in catalog.items if item.withdrawn),
            "representations": len(current.prepared),
        }
    body["last_reload_error"] = (
        {"at": failure.at.isoformat(timespec="seconds"), "problems": list(failure.problems)}
        if failure
        else None
    )
    request.app[METRICS].count("healthz", 200, 0)
    return web.json_response(
        body, headers={"Cache-Control": "no-store"}, dumps=lambda o: json.dumps(o, indent=2)
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition."""
    registry = request.app[METRICS]
    registry.count("metrics", 200, 0)
    response = web.Response(body=registry.exposition(), headers={"Cache-Control": "no-store"})
    response.content_type = "text/plain"
    response.charset = "utf-8"
    return response


async def only_get(request: web.Request) -> web.Response:
    """Any other method on /healthz or /metrics."""
    response = _text(
        405, f"{request.method} is not allowed here; use GET or HEAD.\n", "other", request
    )
    response.headers["Allow"] = "GET, HEAD"
    return response
