"""Last-Modified that clients relying on dates can trust.

A representation's Last-Modified comes from its content (the feed's newest `updated`),
so replicas with the same content agree on it. Two rules hold over that, per process:

* it is never later than the moment the snapshot is served from, so never later than a
  response's `Date` (RFC 9110 8.8.2.1), whatever date an editor writes;
* whenever a representation's bytes change, its Last-Modified moves past every value it
  had before, even when the content's date does not (a typo fixed without a new `updated`,
  a withdrawal taken back, a date corrected back from the future): a client that sends only
  `If-Modified-Since` then gets the new bytes, never a 304 for them.

The second rule needs what was served before (`History`); when the content's date is not
newer, the change is dated by the second it is served from, which may be the next second
(`Settled.serve_from`): the swap then waits for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import MappingProxyType

from syndicate.snapshot import Snapshot

SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Served:
    """What one path was last served with."""

    etag: str
    last_modified: datetime


History = Mapping[str, Served]


@dataclass(frozen=True)
class Settled:
    snapshot: Snapshot
    history: History
    serve_from: datetime  # the snapshot may be served from this moment on


def settle(snapshot: Snapshot, history: History, now: datetime) -> Settled:
    """`snapshot` with every Last-Modified following the rules above, given what was served
    before (`history`, by path; it keeps paths that went away, should they come back)."""
    second = now.replace(microsecond=0)
    representations = {}
    served = dict(history)
    serve_from = second
    for path, rep in snapshot.representations.items():
        before = history.get(path)
        modified = min(rep.last_modified, second)
        if before is not None:
            if before.etag == rep.etag:
                modified = before.last_modified
            elif modified <= before.last_modified:
                modified = max(before.last_modified + SECOND, second)
        serve_from = max(serve_from, modified)
        if modified != rep.last_modified:
            rep = replace(rep, last_modified=modified)
        representations[path] = rep
        served[path] = Served(rep.etag, modified)
    settled = replace(snapshot, representations=MappingProxyType(representations))
    return Settled(settled, MappingProxyType(served), serve_from)
