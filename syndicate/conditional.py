"""HTTP caching and negotiation helpers, as pure functions of header values.

* RFC 9110 13.1.2 If-None-Match (lists, `*`, weak comparison) takes precedence over
  13.1.3 If-Modified-Since, which is only consulted when If-None-Match is absent.
* Accept-Encoding with q-values (RFC 9110 12.5.3): gzip unless refused with q=0.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote_to_bytes

_ENTITY_TAG = re.compile(r'\s*(?:W/)?("[^"]*")\s*(?:,|$)')


def etag_matches(if_none_match: str, etags: Iterable[str]) -> bool:
    """True when the If-None-Match value names one of `etags` (weak comparison) or is `*`."""
    known = etags if isinstance(etags, (set, frozenset)) else set(etags)
    if if_none_match in known:  # the common case: one tag, as we sent it
        return True
    value = if_none_match.strip()
    if value == "*":
        return True
    return any(tag in known for tag in _ENTITY_TAG.findall(value))


def parse_http_date(value: str) -> datetime | None:
    """An HTTP-date (RFC 9110 5.6.7) as an aware UTC datetime; None if it does not parse."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def is_not_modified(
    if_none_match: str | None,
    if_modified_since: str | None,
    etags: Iterable[str],
    last_modified: datetime,
) -> bool:
    """Whether a GET or HEAD may be answered 304 Not Modified."""
    if if_none_match is not None:
        return etag_matches(if_none_match, etags)
    if if_modified_since:
        since = parse_http_date(if_modified_since)
        return since is not None and last_modified <= since
    return False


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when Accept-Encoding allows gzip (explicitly, or by `*`, with q > 0)."""
    if not accept_encoding:
        return False
    return _accepts_gzip(accept_encoding)


@functools.lru_cache(maxsize=512)  # clients send a handful of distinct values, per request
def _accepts_gzip(accept_encoding: str) -> bool:
    star = False
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, number = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        coding = coding.strip()
        if coding in ("gzip", "x-gzip"):
            return quality > 0
        if coding == "*":
            star = quality > 0
    return star


_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def query_problem(raw_query: str) -> str | None:
    """Why a raw query string is malformed, or None if it is well-formed."""
    if not raw_query:
        return None
    if _PERCENT.search(raw_query):
        return "it has a '%' that does not start a two-digit hexadecimal escape"
    try:
        decoded = unquote_to_bytes(raw_query.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        return "its %-escapes do not decode as UTF-8"
    if any(ord(c) < 32 or ord(c) == 127 for c in decoded):
        return "it contains control characters"
    return None
