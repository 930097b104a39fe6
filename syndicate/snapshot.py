"""Every representation the service serves, rendered once per content change.

`build_snapshot` turns a `Catalog` into an immutable `Snapshot`: for each URL path, the
body, its gzip encoding, strong ETags and a Last-Modified date, plus the `Link` header
naming the same feed in the other formats. The HTTP layer only looks paths up here: no
rendering, no file I/O, no YAML on the request path. Everything in a snapshot depends on the
catalog (and the refresh interval) alone, so two replicas with the same content agree on
every byte and every ETag. A rebuild takes what did not change from the snapshot it
replaces (reuse.py) and equals a build from scratch.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from syndicate import archives, assets, discovery, editor_schema, pages, templating, urls
from syndicate.fediverse import documents as fediverse
from syndicate.feeds import (
    DEFAULT_REFRESH_SECONDS,
    FeedView,
    all_feed_keys,
    feed_view,
    newest_change,
    next_view_change,
    selected_items,
)
from syndicate.model import Catalog, Item
from syndicate.progress import Report, quiet
from syndicate.published import Gone, Removed
from syndicate.render import FORMATS, ical
from syndicate.render.registry import CALENDAR, FEED, Format, advertises_hubs
from syndicate.reuse import EPOCH, LABELS, NOTHING, Reuse, epoch_of
from syndicate.urls import FeedKey

Renderer = Callable[[Catalog, tuple[discovery.Listed, ...]], bytes]
EVENT_CALENDAR = "ics-event"  # the format name of one event's calendar file
CONTENT = "content"  # the cache policy of what follows the content (max-age from settings)
ARCHIVED = "archived"  # archive pages: they change only when an old item is edited


Document = tuple[str, str, Renderer, tuple[tuple[str, str], ...]]
PAGE_HEADERS = (("Content-Security-Policy", templating.PAGE_CSP),)


# Documents made of the site's labels alone (reuse.py re-renders them when those change).
SITE_ONLY = frozenset({urls.DEVELOPERS_PATH, urls.ROBOTS_PATH, urls.SCHEMA_PATH})


def _content_schema(catalog: Catalog, listed: tuple[discovery.Listed, ...]) -> bytes:
    return editor_schema.content_schema_json()  # the code's, whatever the content


def discovery_documents(catalog: Catalog) -> dict[str, Document]:
    """Documents besides the feeds: path -> (name, content type, renderer, headers)."""
    html, json = "text/html; charset=utf-8", "application/json; charset=utf-8"
    documents: dict[str, Document] = {
        urls.INDEX_PATH: ("html", html, pages.front_page, PAGE_HEADERS),
        urls.FEEDS_JSON_PATH: ("feeds-json", json, discovery.feeds_json, ()),
        urls.DEVELOPERS_PATH: ("developers-page", html, pages.developers_page, PAGE_HEADERS),
        urls.ROBOTS_PATH: ("robots", "text/plain; charset=utf-8", pages.robots, ()),
        urls.SCHEMA_PATH: ("schema", editor_schema.MEDIA_TYPE, _content_schema, ()),
    }
    for slug in catalog.topics:
        documents[urls.topic_page_path(slug)] = (
            "topic-page",
            html,
            functools.partial(pages.topic_page, slug=slug),
            PAGE_HEADERS,
        )
    if catalog.site.email_signup:  # the sign-up form, for partners' servers to include
        for topic in (None, *catalog.topics):
            documents[urls.email_form_path(topic)] = (
                "signup-fragment",
                html,
                functools.partial(pages.signup_fragment, slug=topic),
                (),
            )
    if catalog.site.actors_key is not None:
        documents.update(fediverse_documents(catalog))
    for fmt in FORMATS.values():
        if not fmt.is_feed:
            continue
        documents[urls.opml_path(fmt.name)] = (
            "opml" if fmt.name == urls.OPML_FORMAT else f"opml-{fmt.name}",
            "text/x-opml; charset=utf-8",
            functools.partial(discovery.opml, format_name=fmt.name),
            (),
        )
    return documents


def _pure(render: Callable[..., bytes], *args: object) -> Renderer:
    """A renderer of `render(catalog, *args)` (the feed listing unused)."""
    return lambda catalog, listed: render(catalog, *args)


def fediverse_documents(catalog: Catalog) -> dict[str, Document]:
    """Actors, WebFinger answers, NodeInfo, outboxes and Notes (fediverse/documents.py)."""
    json = "application/json; charset=utf-8"
    activity = fediverse.ACTIVITY_JSON + "; charset=utf-8"
    jrd = fediverse.JRD_JSON + "; charset=utf-8"
    negotiated = (("Vary", "Accept, Accept-Encoding"),)
    documents: dict[str, Document] = {
        urls.NODEINFO_PATH: ("nodeinfo", json, _pure(fediverse.nodeinfo_links), ()),
        urls.NODEINFO_DOCUMENT_PATH: (
            "nodeinfo", fediverse.NODEINFO_JSON + "; charset=utf-8", _pure(fediverse.nodeinfo), ()
        ),
    }  # fmt: skip
    for handle in fediverse.handles(catalog):
        actor = urls.actor_path(handle)
        documents[actor] = (
            "ap-actor",
            activity,
            _pure(fediverse.actor_document, handle),
            negotiated,
        )
        documents[urls.webfinger_document_path(handle)] = (
            "webfinger", jrd, _pure(fediverse.webfinger, handle), ()
        )  # fmt: skip
        carried = fediverse.carried(catalog, handle)  # once: every page is a slice of it
        documents[f"{actor}/outbox"] = (
            "ap-outbox", activity, _pure(fediverse.outbox, handle, carried), ()
        )  # fmt: skip
        for page in range(1, fediverse.pages_of(carried) + 1):
            documents[urls.outbox_page_path(handle, page)] = (
                "ap-outbox", activity, _pure(fediverse.outbox_page, handle, carried, page), ()
            )  # fmt: skip
    for item in catalog.items:
        if item.withdrawn is None:
            documents[urls.note_path(item.id)] = (
                "ap-note", activity, _pure(fediverse.note_document, item), negotiated
            )  # fmt: skip
            if item.event is not None:
                documents[urls.event_object_path(item.id)] = (
                    "ap-event", activity, _pure(fediverse.event_document, item), negotiated
                )  # fmt: skip
    return documents


@dataclass(frozen=True)
class Representation:
    """One response body, ready to send."""

    path: str
    format: str
    content_type: str
    stored: bytes  # the body as it is; b"" when it is kept compressed only (see `body`)
    gzip_body: bytes
    etag: str
    gzip_etag: str
    last_modified: datetime
    link_header: str = ""
    key: FeedKey | None = None
    cache: str = CONTENT  # how long it may be cached: CONTENT, or an embed asset's policy
    headers: tuple[tuple[str, str], ...] = ()  # response headers of its own (a page's CSP)

    @property
    def compressed_only(self) -> bool:
        """Kept as its gzip encoding only: the cold archive pages."""
        return self.cache == ARCHIVED

    @property
    def body(self) -> bytes:
        """The identity body. Archive pages, most of a large catalog's bytes and rarely asked
        for without gzip, are kept compressed only (an eighth of the memory) and decompressed
        for each identity request (well under a millisecond a page)."""
        return gzip.decompress(self.gzip_body) if self.compressed_only else self.stored


@dataclass(frozen=True)
class Snapshot:
    """All representations of one version of the content."""

    catalog: Catalog  # what is published (scheduled items left out)
    version: str
    representations: Mapping[str, Representation]
    scheduled: tuple[Item, ...] = ()  # items not yet published, soonest first
    # The next moment what is served changes with time alone (an event ends, leaves a
    # calendar's window): the service rebuilds then. None: never, or built without a time.
    next_change: datetime | None = None
    # What each representation was rendered from (reuse.py), for the next build to take
    # those whose sources did not change; the time epoch it was rendered in, and for when.
    sources: Mapping[str, tuple[object, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    epoch: object = field(default=None, compare=False, repr=False)
    built_for: datetime | None = field(default=None, compare=False, repr=False)
    rendered: int = field(default=0, compare=False)  # how many were rendered, not reused
    labels: tuple[object, ...] = field(default=(), compare=False, repr=False)  # reuse.py
    # Renamed topics and types: their former URLs redirect (urls.moved_path).
    moves: urls.Moves = field(default_factory=lambda: urls.Moves({}, {}))
    # What the record of published things (published.py) misses in the content: items
    # removed without a withdrawal (served as withdrawn), topic and type slugs gone.
    removed: tuple[Removed, ...] = ()
    gone: tuple[Gone, ...] = ()


def whole_seconds(moment: datetime) -> datetime:
    """A Last-Modified as HTTP can say it: UTC, whole seconds."""
    return moment.astimezone(UTC).replace(microsecond=0)


def strong_etag(body: bytes, suffix: str = "") -> str:
    """A strong ETag from the bytes alone (RFC 9110 8.8.3): same bytes, same tag."""
    digest = hashlib.sha256(body).digest()[:18]
    return '"' + base64.urlsafe_b64encode(digest).decode("ascii") + suffix + '"'


def representation(
    path: str,
    fmt: str,
    content_type: str,
    body: bytes,
    modified: datetime,
    key: FeedKey | None = None,
    link_header: str = "",
    previous: Representation | None = None,
    cache: str = CONTENT,
    headers: tuple[tuple[str, str], ...] = (),
) -> Representation:
    """Wrap `body` with its deterministic gzip encoding and validators.

    The gzip encoding is a different representation, so it has its own strong ETag. When
    `previous` (the same path in the snapshot being replaced) has the same bytes, its body,
    gzip encoding and ETags are reused: nothing is compressed again, and the two snapshots
    share the bytes instead of holding two copies.
    """
    if previous is not None and previous.body == body:
        body, gzip_body = previous.body, previous.gzip_body
        etag, gzip_etag = previous.etag, previous.gzip_etag
    else:
        gzip_body = gzip.compress(body, compresslevel=6, mtime=0)
        etag = strong_etag(body)
        gzip_etag = etag[:-1] + '-gzip"'
    return Representation(
        path=path,
        format=fmt,
        content_type=content_type,
        stored=b"" if cache == ARCHIVED else body,
        gzip_body=gzip_body,
        etag=etag,
        gzip_etag=gzip_etag,
        last_modified=whole_seconds(modified),
        link_header=link_header,
        key=key,
        cache=cache,
        headers=headers,
    )


def _link_header(catalog: Catalog, key: FeedKey, own: str) -> str:
    """`Link`: this feed as rel=self, its other feed and calendar formats as rel=alternate
    (RFC 8288), and for WebSub topics (`advertises_hubs`) the site's hubs as rel=hub. HTML
    fragments and iframe pages are left out: a client following a text/html alternate
    expects the feed's web page, not a piece of one."""
    parts = []
    for fmt in FORMATS.values():
        kinds = (FEED,) if key.page is not None else (FEED, CALENDAR)
        if fmt.applies_to(key, catalog) and fmt.kind in kinds:
            url = urls.absolute(catalog.site, fmt.path(key))
            rel = "self" if fmt.name == own else "alternate"
            parts.append(f'<{url}>; rel="{rel}"; type="{fmt.media_type}"')
    if advertises_hubs(FORMATS[own], key):
        parts.extend(f'<{hub}>; rel="hub"' for hub in catalog.site.hubs)
    return ", ".join(parts)


def render_feeds(
    views: tuple[FeedView, ...], reuse: Reuse, report: Report = quiet
) -> dict[str, Representation]:
    """Every feed in every format that applies to it, by URL path; those whose sources did
    not change taken from the previous snapshot."""
    rendered: dict[str, Representation] = {}
    for done, view in enumerate(views, 1):
        report("rendering feeds", done, len(views))
        catalog, key = view.catalog, view.key
        formats = [fmt for fmt in FORMATS.values() if fmt.applies_to(key, catalog)]
        # An empty feed is dated by the newest change anywhere: `updated` is a source too.
        source = (key, selected_items(catalog, key), view.updated)
        rendered.update(_feed_group(view, formats, source, reuse, EPOCH, CONTENT))
    return rendered


def _feed_group(
    view: FeedView,
    formats: list[Format],
    source: tuple[object, ...],
    reuse: Reuse,
    depends: str,
    cache: str,
) -> dict[str, Representation]:
    """`view` in `formats`: taken from the previous snapshot if rendered from `source`
    there, else rendered."""
    catalog, key = view.catalog, view.key
    paths = [fmt.path(key) for fmt in formats]
    taken = reuse.group(paths, source, whole_seconds(view.updated), depends)
    if taken:
        return taken
    rendered = {}
    for fmt, path in zip(formats, paths, strict=True):
        rendered[path] = representation(
            path, fmt.name, fmt.content_type, fmt.render(view), view.updated, key,
            _link_header(catalog, key, fmt.name), reuse.before.get(path), cache, fmt.headers,
        )  # fmt: skip
    return rendered


def _render_archives(
    catalog: Catalog, views: tuple[FeedView, ...], reuse: Reuse, report: Report
) -> dict[str, Representation]:
    """Every archive page of the feeds `views`, in the feed formats, by URL path. They are
    most of a large catalog's representations and rarely change: a page is rendered from
    its own items (and the labels), not its feed's, so an edit to a newer item leaves it."""
    rendered: dict[str, Representation] = {}
    feed_formats = [fmt for fmt in FORMATS.values() if fmt.kind == FEED]
    for done, view in enumerate(views, 1):
        report("rendering archive pages", done, len(views))
        if view.key.view is not None or not view.archives:
            continue
        for key, items in archives.pages(catalog, view.key):
            page = archives.archive_view(view, key, items)
            rendered.update(_feed_group(page, feed_formats, (key, items), reuse, LABELS, ARCHIVED))
    return rendered


def _render_event_calendars(
    catalog: Catalog, view: FeedView, reuse: Reuse
) -> dict[str, Representation]:
    """One calendar file per event ("Add to calendar"), from the event and the labels."""
    rendered: dict[str, Representation] = {}
    for item in catalog.items:
        if item.event is None:
            continue
        path = urls.event_calendar_path(item.id)
        taken = reuse.group([path], (item,), whole_seconds(item.updated))
        rendered[path] = taken.get(path) or representation(
            path, EVENT_CALENDAR, ical.FORMAT.content_type, ical.render_event_calendar(view, item),
            item.updated, previous=reuse.before.get(path),
        )  # fmt: skip
    return rendered


def _render_documents(
    catalog: Catalog, views: tuple[FeedView, ...], reuse: Reuse, modified: datetime
) -> dict[str, Representation]:
    """The pages and discovery documents. A topic's page shows its own feeds, so it is
    rendered from them; the others list every feed, so they are rendered from every item."""
    listed: tuple[discovery.Listed, ...] | None = None
    topic_feeds: dict[str | None, list[object]] = {}
    for view in views:
        topic_feeds.setdefault(view.key.topic, []).append(
            (view.key, selected_items(catalog, view.key), view.updated)
        )
    rendered: dict[str, Representation] = {}
    for path, (name, content_type, render, headers) in discovery_documents(catalog).items():
        slug = urls.topic_of_page(path)
        if path in SITE_ONLY or path.startswith(urls.EMAIL_FORM_PREFIX):
            feeds: Sequence[object] = ()  # the site's labels alone: never an item's edit
        else:
            feeds = topic_feeds.get(slug, ()) if slug is not None else catalog.items
        source = (path, tuple(feeds))
        taken = reuse.group([path], source, whole_seconds(modified), depends=EPOCH)
        if taken:
            rendered.update(taken)
            continue
        listed = listed or pages.Listing(discovery.listing(views))
        rendered[path] = representation(
            path, name, content_type, render(catalog, listed), modified,
            previous=reuse.before.get(path), headers=headers,
        )  # fmt: skip
    return rendered


def build_snapshot(
    catalog: Catalog,
    refresh_seconds: int = DEFAULT_REFRESH_SECONDS,
    now: datetime | None = None,
    previous: Snapshot | None = None,
    report: Report = quiet,
) -> Snapshot:
    """Render everything for `catalog` into an immutable snapshot, as of `now` for what
    depends on time (None: nothing is left out by time). `previous`, the snapshot this one
    replaces, lends every representation whose sources did not change (reuse.py), and the
    encodings of those whose bytes did not. `report(stage, done, total)`: how far it is."""
    epoch = epoch_of(catalog, now, previous)
    reuse = Reuse(catalog, refresh_seconds, epoch, previous)
    before = reuse.before
    views = tuple(feed_view(catalog, key, refresh_seconds, now) for key in all_feed_keys(catalog))
    representations = render_feeds(views, reuse, report)
    representations.update(_render_archives(catalog, views, reuse, report))
    modified = newest_change(catalog)
    # The site-wide feed: a view for rendering single events.
    representations.update(_render_event_calendars(catalog, views[0], reuse))
    representations.update(_render_documents(catalog, views, reuse, modified))
    for asset in assets.assets():
        taken = reuse.group([asset.path], (asset.body,), whole_seconds(modified), NOTHING)
        representations[asset.path] = taken.get(asset.path) or representation(
            asset.path, asset.name, f"{asset.media_type}; charset=utf-8", asset.body, modified,
            previous=before.get(asset.path), cache=asset.cache,
        )  # fmt: skip
    version = hashlib.sha256(
        "".join(f"{path} {rep.etag}\n" for path, rep in sorted(representations.items())).encode()
    ).hexdigest()[:16]
    next_change = None
    if now is not None:
        moments = [next_view_change(catalog, now), ical.next_window_change(catalog, now)]
        next_change = min((m for m in moments if m is not None), default=None)
    rendered = len(representations) - reuse.reused
    return Snapshot(
        catalog, version, MappingProxyType(representations), (), next_change,
        MappingProxyType(reuse.sources), epoch, now, rendered, reuse.labels, urls.moves_of(catalog),
    )  # fmt: skip
