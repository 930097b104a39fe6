"""Renderers: pure functions from a `FeedView` to bytes, registered by format name.

Importing this package registers the built-in formats, in the order pages list them.
"""

from syndicate.render import fragment, ical, jsonfeed, xmlfeeds
from syndicate.render.registry import FORMATS, Format, by_extension, register

for _format in (
    xmlfeeds.ATOM_FORMAT, xmlfeeds.RSS_FORMAT, jsonfeed.FORMAT, ical.FORMAT, fragment.FORMAT,
    fragment.FRAME_FORMAT,
):  # fmt: skip
    register(_format)

__all__ = ["FORMATS", "Format", "by_extension", "register"]
