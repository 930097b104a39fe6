"""/stats/: reach, for the people who run the service, behind the operators' password.

* Sign-in compares the password (SYNDICATE_ADMIN_PASSWORD) in constant time and is limited
  per client address and, slowed, for everyone together, with counts every worker shares in
  the database (`people/signins.py`): a password cannot be guessed at speed, even from many
  addresses, and the operator is never locked out.
* A session is a random token in a `Secure`, `HttpOnly`, `SameSite=Strict` cookie scoped to
  /stats/; the database keeps only its hash, for `SESSION_HOURS`. Signing out deletes it.
* Every stats URL but the sign-in answers a person without a session with a redirect to it
  (a page) or 401 (an export). Every answer is `no-store, private` with `Vary: Cookie`: no
  cache, the nginx tier's included, ever keeps one.
* POSTs must come from our own pages (`Origin`, or `Sec-Fetch-Site`), and signing out also
  carries a token derived from the session (CSRF).
* Pages are rendered per request from templates (they are private, so not in the snapshot),
  with the pages' Content-Security-Policy; charts are SVG drawn on the server.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from syndicate import assets, templating, urls
from syndicate.people import reach as stored
from syndicate.people import signins
from syndicate.people.database import Database
from syndicate.reach import report
from syndicate.reach.charts import bar_chart
from syndicate.web.clock import Clock
from syndicate.web.content import ContentStore
from syndicate.web.limits import Proxies, capped_body, client_address
from syndicate.web.reach import UNKNOWN, day_bounds, origin_of

STATS_PREFIX = "/stats/"
SIGN_IN, SIGN_OUT = "/stats/sign-in", "/stats/sign-out"
COOKIE = "syndicate_stats"
SESSION_HOURS = 12
LOOPBACK = frozenset({"127.0.0.1", "::1"})  # this machine: an SSH tunnel to the service
DAYS = 90
MAX_BODY = 2048
HEADERS = {
    "Cache-Control": "no-store, private",
    "Vary": "Cookie",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": templating.PAGE_CSP,
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Stats:
    def __init__(
        self,
        store: ContentStore,
        db: Database,
        clock: Clock,
        password: str,
        keep_days: int,
        trusted: Proxies,
    ) -> None:
        self.store, self.db, self.clock, self.keep_days, self.trusted = (
            store, db, clock, keep_days, trusted
        )  # fmt: skip
        self._password = hashlib.sha256(password.encode("utf-8")).digest()

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        path, method = request.path, request.method
        if path == SIGN_IN:
            if method == "POST":
                return await self._sign_in(request)
            if method in ("GET", "HEAD"):
                return self._sign_in_page(200)
            return _not_allowed("GET, POST")
        token = request.cookies.get(COOKIE, "")
        signed_in = bool(token) and await self.db.run(
            stored.session_open, _hash(token), self.clock.now()
        )
        if not signed_in:
            if path.startswith("/stats/export"):
                return _text(401, "Sign in at /stats/sign-in first: the stats are private.")
            return web.Response(status=303, headers={**HEADERS, "Location": SIGN_IN})
        if path == SIGN_OUT:
            if method != "POST":
                return _not_allowed("POST")
            return await self._sign_out(request, token)
        if method not in ("GET", "HEAD"):
            return _not_allowed("GET, HEAD")
        if path == STATS_PREFIX:
            return await self._overview(token)
        if path in ("/stats/export.csv", "/stats/export.json"):
            return await self._export(path.rsplit(".", 1)[1])
        slug = path.removeprefix("/stats/topics/").removesuffix("/")
        if path.startswith("/stats/topics/") and path.endswith("/"):
            return await self._scope(token, slug)
        return _text(404, f"No stats page at {path}: see /stats/.")

    # Signing in and out --------------------------------------------------------------

    def _from_our_pages(self, request: web.BaseRequest) -> bool:
        """A POST a browser sent from one of our pages (what a CSRF is not). Browsers say
        where a request comes from in Sec-Fetch-Site; older ones in Origin (which our pages,
        sent with no referrer, make "null"). A client that sends neither is no browser, and
        so nobody's session ridden by another site."""
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None:
            return site in ("same-origin", "none")
        origin = request.headers.get("Origin")
        if origin is None or origin == "null":
            return True
        feeds_url = self.store.snapshot.catalog.site.feeds_url or ""
        return origin_of(origin) != UNKNOWN and origin_of(origin) == origin_of(feeds_url)

    async def _sign_in(self, request: web.BaseRequest) -> web.Response:
        if not self._from_our_pages(request):
            return _text(403, "A sign-in must come from the sign-in page of this service.")
        now = self.clock.now()
        address = client_address(request, self.trusted)
        # The limits every worker shares (people/signins.py), by a keyed hash of the address.
        client = hmac.new(self._password, address.encode(), hashlib.sha256).hexdigest()
        found = await self.db.run(signins.standing, client, now)
        wait = signins.wait(found, now, local=address in LOOPBACK)
        if wait > 0:
            response = self._sign_in_page(
                429, f"Too many sign-in attempts: try again in {int(wait) + 1} seconds."
            )
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        body = await capped_body(request, MAX_BODY)
        if body is None:
            return _text(413, f"A sign-in is a password, under {MAX_BODY} bytes.")
        given = parse_qs(body.decode("utf-8", "replace")).get("password", [""])[0]
        digest = hashlib.sha256(given.encode("utf-8")).digest()
        right = hmac.compare_digest(digest, self._password)
        await self.db.run(signins.record, client, not right, now)
        if not right:
            return self._sign_in_page(401, "That is not the operators' password.")
        token = secrets.token_urlsafe(32)
        now_at = self.clock.now()
        await self.db.run(
            stored.open_session, _hash(token), now_at + timedelta(hours=SESSION_HOURS), now_at
        )
        response = web.Response(status=303, headers={**HEADERS, "Location": STATS_PREFIX})
        response.set_cookie(
            COOKIE, token, path=STATS_PREFIX, max_age=SESSION_HOURS * 3600, secure=True,
            httponly=True, samesite="Strict",
        )  # fmt: skip
        return response

    async def _sign_out(self, request: web.BaseRequest, token: str) -> web.Response:
        body = await capped_body(request, MAX_BODY)
        given = parse_qs((body or b"").decode("utf-8", "replace")).get("csrf", [""])[0]
        if not self._from_our_pages(request) or not hmac.compare_digest(given, _csrf(token)):
            return _text(403, "Sign out from a stats page of this service.")
        await self.db.run(stored.close_session, _hash(token))
        response = web.Response(status=303, headers={**HEADERS, "Location": SIGN_IN})
        response.del_cookie(COOKIE, path=STATS_PREFIX)
        return response

    # Pages --------------------------------------------------------------------------

    def _common(self, title: str, token: str | None) -> dict[str, Any]:
        site = self.store.snapshot.catalog.site
        return {
            "site": site,
            "title": title,
            "stylesheet": urls.absolute(site, assets.page_assets()["css"].path),
            "front_url": urls.absolute(site, urls.INDEX_PATH),
            "sign_out": _csrf(token) if token else None,
        }

    def _sign_in_page(self, status: int, problem: str | None = None) -> web.Response:
        body = templating.render(
            "stats/sign_in.html", **self._common("Reach: sign in", None), problem=problem
        )
        return _html(status, body)

    async def _report(self) -> tuple[list[report.Scope], Any]:
        catalog = self.store.snapshot.catalog
        last, _ = day_bounds(self.clock.now(), catalog.site.timezone)
        rows = await self.db.run(stored.rows, last - timedelta(days=DAYS - 1))
        return report.build(rows, catalog, last, DAYS), last

    async def _overview(self, token: str) -> web.Response:
        scopes, last = await self._report()
        body = templating.render(
            "stats/overview.html", **self._common("Reach", token), scopes=scopes, last=last,
            days=DAYS, scope_url=_scope_url,
        )  # fmt: skip
        return _html(200, body)

    async def _scope(self, token: str, slug: str) -> web.Response:
        scopes, last = await self._report()
        found = next((s for s in scopes if _scope_url(s) == f"/stats/topics/{slug}/"), None)
        if found is None:
            return _text(404, f"No topic {slug!r}: see /stats/ for every topic.")
        feeds = sorted(found.feeds.values(), key=lambda f: f.path)

        def feed_chart(feed: report.Feed) -> Any:
            return bar_chart(f"Reach of {feed.path}, daily", feed.reach, last, DAYS)

        body = templating.render(
            "stats/scope.html", **self._common(f"Reach: {found.title}", token), scope=found,
            feeds=feeds, last=last, days=DAYS, feed_chart=feed_chart,
        )  # fmt: skip
        return _html(200, body)

    async def _export(self, kind: str) -> web.Response:
        catalog = self.store.snapshot.catalog
        last, _ = day_bounds(self.clock.now(), catalog.site.timezone)
        rows = await self.db.run(stored.rows, last - timedelta(days=self.keep_days))
        rows.sort(key=lambda r: (r.day, r.path, r.measure, r.detail))
        fields = ("day", "path", "measure", "detail", "value")
        if kind == "json":
            body = json.dumps(
                {"rows": [{**row.__dict__, "day": row.day.isoformat()} for row in rows]},
                ensure_ascii=False, indent=1,
            ).encode("utf-8")  # fmt: skip
            content_type = "application/json"
        else:
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(fields)
            for row in rows:
                writer.writerow(
                    [row.day.isoformat(), *(_cell(getattr(row, f)) for f in fields[1:])]
                )
            body, content_type = out.getvalue().encode("utf-8"), "text/csv"
        name = f"reach-{last.isoformat()}.{kind}"
        return web.Response(
            body=body, content_type=content_type, charset="utf-8",
            headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
        )  # fmt: skip


def _cell(value: object) -> object:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csrf(token: str) -> str:
    return hmac.new(token.encode("utf-8"), b"syndicate stats: sign out", "sha256").hexdigest()


def _scope_url(scope: report.Scope) -> str:
    return f"/stats/topics/{scope.slug or '-'}/"


def _html(status: int, body: bytes) -> web.Response:
    return web.Response(
        status=status, body=body, content_type="text/html", charset="utf-8", headers=HEADERS
    )


def _text(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n", headers=HEADERS)


def _not_allowed(allowed: str) -> web.Response:
    response = _text(405, f"This stats URL takes {allowed}.")
    response.headers["Allow"] = allowed
    return response
