"""The response header fields of every representation, the same wherever it is served from.

`syndicate serve` sends them (`web/responses.py` adds the ETag and encoding per request
kind); `syndicate build` writes them for static hosts and nginx (`export.py`). Caching
policy lives here:

* `Cache-Control: public, max-age=N, stale-while-revalidate=S, stale-if-error=E` (RFC 9111,
  RFC 5861), N agreeing with the feeds' RSS ttl;
* `Vary: Accept-Encoding`; `Last-Modified` from the feed's own `updated`;
* CORS for partner sites (`Access-Control-Allow-Origin: *`, validators exposed);
* `X-Content-Type-Options: nosniff`; `Link` naming the feed's self and alternate formats;
  a representation's own fields (a page's Content-Security-Policy).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime

from syndicate import assets
from syndicate.settings import Settings
from syndicate.snapshot import ARCHIVED, CONTENT, Representation

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
PREVIEW_CACHE = "no-cache"
# What a preview (preview.py) tells search engines: never index it, never follow its links.
PREVIEW_ROBOTS = {"X-Robots-Tag": "noindex, nofollow"}


def http_date(moment: datetime) -> str:
    """`Tue, 24 Nov 2026 14:00:00 GMT`."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


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
    pages, which change only when an old item is edited, for a day (then revalidated).
    A preview (preview.py) changes with every edit: revalidated on every use."""
    if settings.preview:
        return {CONTENT: PREVIEW_CACHE, assets.STABLE: PREVIEW_CACHE,
                assets.IMMUTABLE: "public, max-age=31536000, immutable",
                ARCHIVED: PREVIEW_CACHE}  # fmt: skip
    return {
        CONTENT: cache_control(settings),
        assets.STABLE: f"public, max-age=3600, stale-while-revalidate=86400, "
        f"stale-if-error={settings.stale_if_error}",
        assets.IMMUTABLE: "public, max-age=31536000, immutable",
        ARCHIVED: f"public, max-age=86400, stale-while-revalidate=604800, "
        f"stale-if-error={settings.stale_if_error}",
    }


def representation_fields(
    rep: Representation, policies: Mapping[str, str], preview: bool = False
) -> dict[str, str]:
    """Every field a response with `rep` carries, but its ETag and Content-Encoding (which
    depend on the encoding sent); `policies` from `cache_policies`; `preview`: served by
    `syndicate preview`."""
    fields = {
        "Content-Type": rep.content_type,
        "Cache-Control": policies[rep.cache],
        "Last-Modified": http_date(rep.last_modified),
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        **CORS,
    }
    if rep.link_header:
        fields["Link"] = rep.link_header
    fields.update(rep.headers)
    if preview:
        fields.update(PREVIEW_ROBOTS)
    return fields
