"""Response headers for every representation, prepared once per snapshot.

A request then costs a dictionary lookup and a choice between four prepared header sets
(identity or gzip, 200 or 304). Caching policy lives here:

* `Cache-Control: public, max-age=N, stale-while-revalidate=S, stale-if-error=E` (RFC 9111,
  RFC 5861), N agreeing with the feeds' RSS ttl;
* strong ETags, one per encoding; `Vary: Accept-Encoding`;
* `Last-Modified` from the feed's own `updated`;
* CORS for partner sites (`Access-Control-Allow-Origin: *`, validators exposed);
* `X-Content-Type-Options: nosniff`; `Link` naming the feed's self and alternate formats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from multidict import CIMultiDict, CIMultiDictProxy

from syndicate import assets
from syndicate.settings import Settings
from syndicate.snapshot import ARCHIVED, CONTENT, Representation, Snapshot
from syndicate.web.conditional import http_date

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, Link, Content-Length",
}
PREFLIGHT = {
    **CORS,
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since, Cache-Control",
    "Access-Control-Max-Age": "86400",
}
ALLOWED_METHODS = "GET, HEAD, OPTIONS"


def cache_control(settings: Settings) -> str:
    return (
        f"public, max-age={settings.max_age}, "
        f"stale-while-revalidate={settings.stale_while_revalidate}, "
        f"stale-if-error={settings.stale_if_error}"
    )


def cache_policies(settings: Settings) -> dict[str, str]:
    """Cache-Control by a representation's `cache`: what follows the content is fresh for
    max-age; the embed script's stable URL for an hour (a fix reaches partners within it);
    its hashed URL, whose bytes never change, for a year (RFC 8246 `immutable`); archive
    pages, which change only when an old item is edited, for a day (then revalidated)."""
    return {
        CONTENT: cache_control(settings),
        assets.STABLE: f"public, max-age=3600, stale-while-revalidate=86400, "
        f"stale-if-error={settings.stale_if_error}",
        assets.IMMUTABLE: "public, max-age=31536000, immutable",
        ARCHIVED: f"public, max-age=86400, stale-while-revalidate=604800, "
        f"stale-if-error={settings.stale_if_error}",
    }


Headers = CIMultiDictProxy[str]


def _headers(fields: Mapping[str, str]) -> Headers:
    """A header set in the form aiohttp's Response copies fastest (a third of a request's
    cost in aiohttp's own code went to copying a plain dict of 13 fields)."""
    return CIMultiDictProxy(CIMultiDict(fields))


@dataclass(frozen=True)
class Prepared:
    """One representation with its four header sets."""

    rep: Representation
    route: str  # "feed" or "document", for metrics
    etags: frozenset[str]
    identity: bytes | None  # the identity body when kept as it is; None: decompress each time
    ok: Headers
    ok_gzip: Headers
    not_modified: Headers
    not_modified_gzip: Headers


@dataclass(frozen=True)
class Current:
    """What requests are served from: a snapshot and its prepared responses, swapped as one."""

    snapshot: Snapshot
    prepared: Mapping[str, Prepared]


def prepare(snapshot: Snapshot, settings: Settings) -> Current:
    policies = cache_policies(settings)
    prepared = {}
    for path, rep in snapshot.representations.items():
        common = {
            "Cache-Control": policies[rep.cache],
            "Last-Modified": http_date(rep.last_modified),
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
            **CORS,
        }
        if rep.link_header:
            common["Link"] = rep.link_header
        common.update(rep.headers)
        identity = {**common, "ETag": rep.etag}
        gzipped = {**common, "ETag": rep.gzip_etag}
        prepared[path] = Prepared(
            rep=rep,
            route="feed" if rep.key is not None else "document",
            etags=frozenset({rep.etag, rep.gzip_etag}),
            identity=None if rep.compressed_only else rep.body,
            ok=_headers({**identity, "Content-Type": rep.content_type}),
            ok_gzip=_headers(
                {**gzipped, "Content-Type": rep.content_type, "Content-Encoding": "gzip"}
            ),
            not_modified=_headers(identity),
            not_modified_gzip=_headers(gzipped),
        )
    return Current(snapshot, MappingProxyType(prepared))
