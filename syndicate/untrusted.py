"""Parsing what strangers send: request bodies, other servers' documents, their dates.

Python's own parsers raise more than ValueError on hostile input: `json.loads` raises
RecursionError for deeply nested arrays (`[[[[...` a few thousand deep), and a Unix time
far out of range raises OverflowError or OSError in `datetime.fromtimestamp`. Each of those
reached a handler as a 500 with a traceback. Here every one is a ValueError, which callers
turn into a 4xx with a reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any

# Nesting a document of ours never needs more than a dozen levels of (ActivityPub objects,
# webhook events, sign-up fields); past this, a body is refused before it is parsed.
MAX_DEPTH = 64


def loads(data: bytes | str) -> Any:
    """JSON, or ValueError (not JSON, not UTF-8, or nested deeper than MAX_DEPTH)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data  # UnicodeDecodeError
    if _depth_over(text, MAX_DEPTH):
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps it out of reach
        raise ValueError("nested too deeply") from None


def _depth_over(text: str, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than `limit` (a quick scan, no parse)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def timestamp(value: object, zone: tzinfo | None = UTC) -> datetime:
    """A Unix time (an int, or its decimal text) as an aware datetime; ValueError when it
    is not one or lies outside the years datetime holds."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("not a Unix time")
    try:
        return datetime.fromtimestamp(int(value), zone)
    except (OverflowError, OSError) as error:
        raise ValueError("a Unix time out of range") from error


def http_date(value: str) -> datetime:
    """An HTTP or email date as an aware datetime; ValueError when it is not one. A zone of
    `-0000` (RFC 5322 3.3: UTC, the sender's own offset unknown) is UTC, not a naive time."""
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError) as error:
        raise ValueError("not a date") from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
