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
(`Settled.serve_from`): the swap then waits for it. The history lives in the process and,
with a state folder configured, in a file (`dump_history`/`load_history`), written before
each snapshot is served, so the rules hold across restarts too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
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


FORMAT_VERSION = 1


def dump_history(history: History) -> bytes:
    """`history` as JSON, for the state file that carries it across restarts."""
    paths = {
        path: [served.etag, served.last_modified.astimezone(UTC).isoformat()]
        for path, served in sorted(history.items())
    }
    return json.dumps({"version": FORMAT_VERSION, "paths": paths}, indent=0).encode("utf-8")


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # no HTTP date is older (RFC 9110 5.6.7)


def load_history(data: bytes, now: datetime) -> History:
    """The inverse of `dump_history`, as of `now`. The file is input like any other:
    ValueError (saying what is wrong) for anything that is not such a document, of any
    shape, and for dates before 1970 or after `now` (a file written while the clock was
    ahead would otherwise hold every change back until the clock caught up)."""
    try:
        document = json.loads(data)
        if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
            raise ValueError(f"not a version {FORMAT_VERSION} Last-Modified history")
        paths = document.get("paths")
        if not isinstance(paths, dict):
            raise ValueError("'paths' is not an object")
        history = {}
        for path, entry in paths.items():
            history[path] = _served(path, entry, now)
    except (TypeError, AttributeError, KeyError, OverflowError, RecursionError) as error:
        raise ValueError(f"not a Last-Modified history ({type(error).__name__}: {error})") from None
    return MappingProxyType(history)


def _served(path: str, entry: object, now: datetime) -> Served:
    if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(v, str) for v in entry)):
        raise ValueError(f"entry for {path} is not [etag, date]")
    etag, stamp = entry
    modified = datetime.fromisoformat(stamp)
    if modified.tzinfo is None:
        raise ValueError(f"date for {path} has no offset")
    modified = modified.astimezone(UTC)
    if not EARLIEST <= modified <= now:
        raise ValueError(f"date for {path}, {stamp}, is not between 1970 and now")
    return Served(etag, modified)
