"""Renderers: pure functions from a `FeedView` to bytes, registered by format name.

Importing this package registers every built-in format (see `registry.FORMATS`).
"""

from syndicate.render import jsonfeed, xmlfeeds
from syndicate.render.registry import FORMATS, Format, by_extension

__all__ = ["FORMATS", "Format", "by_extension", "jsonfeed", "xmlfeeds"]
