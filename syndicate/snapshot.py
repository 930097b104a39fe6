"""Every representation the service serves, rendered once per content change.

`build_snapshot` turns a `Catalog` into an immutable `Snapshot`: for each URL path, the
body, its gzip encoding, a strong ETag and a Last-Modified date. The HTTP layer only looks
paths up here: no rendering, no file I/O, no YAML on the request path. Everything in a
snapshot depends on the catalog alone, so two replicas with the same content agree on every
byte and every ETag.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

from syndicate import urls
from syndicate.feeds import all_feed_keys, feed_view
from syndicate.model import Catalog
from syndicate.render import FORMATS
from syndicate.urls import FeedKey


@dataclass(frozen=True)
class Representation:
    """One response body, ready to send."""

    path: str
    format: str
    content_type: str
    body: bytes
    gzip_body: bytes
    etag: str
    last_modified: datetime
    key: FeedKey | None = None


@dataclass(frozen=True)
class Snapshot:
    """All representations of one version of the content."""

    catalog: Catalog
    version: str
    representations: Mapping[str, Representation]

    def get(self, path: str) -> Representation | None:
        return self.representations.get(path)


def strong_etag(body: bytes) -> str:
    """A strong ETag from the bytes alone (RFC 9110 8.8.3): same bytes, same tag."""
    digest = hashlib.sha256(body).digest()[:18]
    return '"' + base64.urlsafe_b64encode(digest).decode("ascii") + '"'


def representation(
    path: str,
    fmt: str,
    content_type: str,
    body: bytes,
    modified: datetime,
    key: FeedKey | None = None,
) -> Representation:
    """Wrap `body` with its deterministic gzip encoding and validators."""
    return Representation(
        path=path,
        format=fmt,
        content_type=content_type,
        body=body,
        gzip_body=gzip.compress(body, compresslevel=9, mtime=0),
        etag=strong_etag(body),
        last_modified=modified.astimezone(UTC).replace(microsecond=0),
        key=key,
    )


def render_feeds(catalog: Catalog) -> dict[str, Representation]:
    """Every feed of the catalog in every format that applies to it, by URL path."""
    rendered: dict[str, Representation] = {}
    for key in all_feed_keys(catalog):
        view = feed_view(catalog, key)
        for fmt in FORMATS.values():
            if fmt.applies_to(key, catalog):
                path = urls.feed_path(key, fmt.extension)
                body = fmt.render(view)
                rendered[path] = representation(
                    path, fmt.name, fmt.content_type, body, view.updated, key
                )
    return rendered


def build_snapshot(catalog: Catalog) -> Snapshot:
    """Render everything for `catalog` into an immutable snapshot."""
    representations = render_feeds(catalog)
    version = hashlib.sha256(
        "".join(f"{path} {rep.etag}\n" for path, rep in sorted(representations.items())).encode()
    ).hexdigest()[:16]
    return Snapshot(catalog, version, MappingProxyType(representations))
