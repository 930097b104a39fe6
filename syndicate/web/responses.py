"""Response headers for every representation, prepared once per snapshot.

A request then costs a dictionary lookup and a choice between four prepared header sets
(identity or gzip, 200 or 304): the representation's fields (`syndicate.headers`, where
the caching policy lives) plus a strong ETag per encoding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from multidict import CIMultiDict, CIMultiDictProxy

from syndicate.fediverse import documents as fediverse
from syndicate.headers import cache_policies, representation_fields
from syndicate.reach.kinds import reach_kind
from syndicate.settings import Settings
from syndicate.snapshot import Representation, Snapshot

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
    browse: str | None = None  # where a browser is sent instead (a fediverse actor or Note)
    reach: str | None = None  # what reach counts it as (web/reach.reach_kind); None: not counted


@dataclass(frozen=True)
class Current:
    """What requests are served from: a snapshot and its prepared responses, swapped as one.

    A representation's header sets are prepared when it is first asked for, then kept in
    `prepared` (a plain dict: the hot path is one lookup in it). Most of a large catalog's
    representations (archive pages) are rarely asked for, and four header sets each for
    all of them would cost more memory than their bytes (100,000 items: about 1 GB).
    """

    snapshot: Snapshot
    policies: Mapping[str, str]
    prepared: dict[str, Prepared] = field(default_factory=dict)

    def prepare(self, path: str) -> Prepared | None:
        """The prepared responses of `path`, made now if they were not yet; None if the
        snapshot has no such representation."""
        found = self.prepared.get(path)
        if found is None:
            rep = self.snapshot.representations.get(path)
            if rep is None:
                return None
            found = _prepared(rep, self.policies, self.snapshot.catalog.site.preview)
            kind = reach_kind(rep)
            if kind is not None:
                found = replace(found, reach=kind)
            if rep.format in fediverse.NEGOTIATED:
                found = replace(found, browse=fediverse.browser_url(self.snapshot.catalog, path))
            self.prepared[path] = found
        return found

    def __contains__(self, path: str) -> bool:
        return path in self.snapshot.representations

    def __len__(self) -> int:
        return len(self.snapshot.representations)


def without_type(fields: dict[str, str]) -> dict[str, str]:
    """A 304's fields: those of the 200 but the Content-Type (RFC 9110 15.4.5 lists what a
    304 carries; the type describes a body it does not have)."""
    return {k: v for k, v in fields.items() if k != "Content-Type"}


def prepare(snapshot: Snapshot, settings: Settings) -> Current:
    return Current(snapshot, MappingProxyType(cache_policies(settings)))


def _prepared(rep: Representation, policies: Mapping[str, str], preview: bool) -> Prepared:
    common = representation_fields(rep, policies, preview)
    identity = {**common, "ETag": rep.etag}
    gzipped = {**common, "ETag": rep.gzip_etag}
    return Prepared(
        rep=rep,
        route="feed" if rep.key is not None else "document",
        etags=frozenset({rep.etag, rep.gzip_etag}),
        identity=None if rep.compressed_only else rep.body,
        ok=_headers(identity),
        ok_gzip=_headers({**gzipped, "Content-Encoding": "gzip"}),
        not_modified=_headers(without_type(identity)),
        not_modified_gzip=_headers(without_type(gzipped)),
    )
