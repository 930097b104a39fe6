"""Which served representations reach counts, and as what."""

from __future__ import annotations

from syndicate.render.registry import CALENDAR, FEED, FORMATS, FRAGMENT, FRAME
from syndicate.snapshot import Representation

EVENT = "event"  # one event's calendar file, /items/{id}.ics
KINDS = (FEED, CALENDAR, FRAGMENT, FRAME)


def reach_kind(rep: Representation) -> str | None:
    """What reach counts `rep` as: a feed, calendar, fragment or frame (the format's kind),
    an event's file; None for what it does not count (pages, assets, documents)."""
    fmt = FORMATS.get(rep.format)
    if rep.key is not None and fmt is not None and fmt.kind in KINDS:
        return fmt.kind
    if rep.path.startswith("/items/") and rep.path.endswith(".ics"):
        return EVENT
    return None
