"""What each representation is rendered from, so a rebuild renders only what changed.

A representation's bytes are a pure function of its *sources*: the site, the labels of
topics and types, the refresh interval, its feed's key and every item the feed selects
(withdrawn ones included), and, for what depends on time, the time *epoch*. A rebuild that
finds a path's sources equal to those the previous snapshot recorded for it takes the
previous representation as it is (bytes, gzip, ETags): an edit to one item re-renders the
feeds, archive pages and calendar that hold it, and nothing else.

The epoch: what is rendered as of `now` (upcoming/past views, calendar windows) changes
only at the moments the previous snapshot named as its `next_change` (an event ends, leaves
a window). Between them, a rebuild keeps the previous epoch, so time-dependent
representations are reused too; past one, the epoch is new and they are all rendered again.
Without a time (`syndicate build` in tests), such views are decided by the content's newest
change, which is then the epoch.

`tests/test_incremental.py` proves the rule: every rebuild equals a build from scratch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING

from syndicate.feeds import newest_change
from syndicate.model import Catalog

if TYPE_CHECKING:
    from syndicate.snapshot import Representation, Snapshot

Source = tuple[object, ...]
# What a representation depends on besides its own sources (see `Reuse.group`).
NOTHING, LABELS, EPOCH = "nothing", "labels", "epoch"


def epoch_of(catalog: Catalog, now: datetime | None, previous: Snapshot | None) -> object:
    """The time epoch a build for `now` renders in (see the module's docstring)."""
    if now is None:
        return ("content", newest_change(catalog))
    if (
        previous is not None
        and previous.built_for is not None
        and previous.built_for <= now
        and (previous.next_change is None or now < previous.next_change)
    ):
        return previous.epoch
    return ("time", now)


class Reuse:
    """The previous snapshot's representations and sources, and the sources of this build.

    What every representation depends on (the labels: site, refresh interval, topics and
    types) and what the time-dependent ones do (the epoch) are compared once per build;
    a path's own sources (its feed's key and items, its item) once per group of paths.
    """

    def __init__(
        self, catalog: Catalog, refresh_seconds: int, epoch: object, previous: Snapshot | None
    ) -> None:
        self.before: Mapping[str, Representation] = (
            previous.representations if previous is not None else MappingProxyType({})
        )
        self.known: Mapping[str, Source] = previous.sources if previous is not None else {}
        self.labels: Source = (
            catalog.site,
            refresh_seconds,
            tuple(catalog.topics.values()),
            tuple(catalog.types.values()),
        )
        self.epoch = epoch
        self.same_labels = previous is not None and previous.labels == self.labels
        self.same_epoch = self.same_labels and previous is not None and previous.epoch == epoch
        self.sources: dict[str, Source] = {}
        self.reused = 0

    def group(
        self, paths: list[str], source: Source, modified: datetime, depends: str = LABELS
    ) -> dict[str, Representation]:
        """The previous representations of `paths`, all rendered from `source` (and, as
        `depends` says, the labels, or the labels and the epoch), if they were rendered from
        the same (compared once for the group); else none. Their Last-Modified is
        `modified` (UTC, whole seconds), as a build from scratch gives it: the previous
        snapshot's may have been moved forward when it was served (lastmodified.py)."""
        for path in paths:
            self.sources[path] = source
        if (depends == EPOCH and not self.same_epoch) or (
            depends == LABELS and not self.same_labels
        ):
            return {}
        known = [self.known.get(path) for path in paths]
        first = known[0]
        if first is None or any(k is not first for k in known) or first != source:
            return {}
        taken = {path: self.before[path] for path in paths if path in self.before}
        if len(taken) != len(paths):
            return {}
        for path, rep in taken.items():
            if rep.last_modified != modified:
                taken[path] = replace(rep, last_modified=modified)
        for path in paths:
            self.sources[path] = first  # the same object again: the next build compares once
        self.reused += len(paths)
        return taken
