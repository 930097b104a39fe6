"""Checking one YAML mapping against a schema table, value by value.

`FieldReader.read` returns the converted values of a mapping's known keys and records a
located `Problem` for every unknown key, missing required key and ill-typed value. Dates
and HTML come back as `Raw` (text plus line): how to read them depends on other fields (the
event's time zone, the item's URL), which the loader knows and this module does not.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from syndicate.dates import DateError, zone
from syndicate.model import EventStatus, Image, Kind, Person, Program
from syndicate.problems import Problem
from syndicate.sanitize import clean_line, clean_text
from syndicate.schema import CHANGE, IMAGE, PERSON, PROGRAM, WITHDRAWAL, Field
from syndicate.sources import MapNode, Node, ScalarNode, SeqNode

Choice = TypeVar("Choice", bound=StrEnum)

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
DOMAIN = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_SPACE = re.compile(r"\s")
TAG_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
MAX_URL_LENGTH = 2000
# One-line fields hold titles and names: the longest real ones are a few hundred characters,
# and a feed carries each title several times (entry, category labels, event text).
MAX_LINE_LENGTH = 300
# Summaries and full texts: room for a long article, not for a pasted book.
MAX_TEXT_LENGTH = 100_000
# Characters RFC 3986 allows literally in a path (pchar and "/") and in a query or fragment
# (also "?"), besides letters and digits; "%" keeps existing escapes.
# The characters of a URI as feed validators check them (RFC 2396, as the W3C validator's
# `rfc2396_full` pattern): an authority of these alone, and a path, query and fragment with
# everything else %-encoded.
_NETLOC = re.compile(r"^[0-9A-Za-z;:@&=+$.\-_!~*'()%,]+$")
_PATH_SAFE = "/:@!$&'()*+,;=%~-._"
_QUERY_SAFE = _PATH_SAFE + "?"
IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class Raw:
    """A value whose reading depends on context (dates, HTML): the text and its line."""

    text: str
    line: int


class _Invalid(Exception):
    """A value is wrong; the message says how (raised inside one conversion only)."""


def suggest(name: str, choices: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" when `name` looks like a typo of one of `choices`."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (YAML reads yes/no/on/off as true/false)"
    if isinstance(value, int | float):
        return f"the number {value}"
    if value is None:
        return "nothing"
    return "a list" if isinstance(value, tuple) else "a mapping"


_Index = tuple[dict[str, Field], frozenset[str], tuple[object, ...]]
_INDEXES: dict[tuple[int, int], _Index] = {}


def _index(
    spec: tuple[Field, ...], also: tuple[Field, ...]
) -> tuple[dict[str, Field], frozenset[str]]:
    """Declared fields by name, and every allowed key, computed once per combination of
    tables. Keyed by identity: the tables are module constants, and hashing them for every
    mapping read would cost more than the lookup saves."""
    key = (id(spec), id(also))
    found = _INDEXES.get(key)
    if found is None:
        declared = {f.name: f for f in spec}
        allowed = frozenset(declared) | {f.name for f in also}
        found = _INDEXES[key] = (declared, allowed, (spec, also))  # keeps the ids alive
    return found[0], found[1]


class FieldReader:
    """Reads mappings of one file, collecting problems into a shared list."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems

    def problem(self, line: int, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, line, key, message))

    def read(
        self,
        node: Node,
        path: str,
        spec: tuple[Field, ...],
        also_allowed: tuple[Field, ...] = (),
        foreign: Callable[[str], str | None] | None = None,
        report_unknown: bool = True,
    ) -> dict[str, Any] | None:
        """Convert the keys of `node` declared in `spec`.

        Keys in `also_allowed` are accepted but not converted (another `read` handles
        them; `report_unknown=False` when that other `read` reports unknown keys).
        `foreign(key)` may explain why a known-elsewhere key is not allowed here.
        Returns None when `node` is not a mapping at all.
        """
        if not isinstance(node, MapNode):
            self.problem(node.line, path, f"expected a mapping of keys, got {self._kind(node)}")
            return None
        declared, allowed = _index(spec, also_allowed)
        values: dict[str, Any] = {}
        for key, key_line, value_node in node.entries:
            if key not in allowed:
                if not report_unknown:
                    continue
                reason = foreign(key) if foreign else None
                self.problem(key_line, f"{path}.{key}", reason or self._unknown(key, allowed))
                continue
            field = declared.get(key)
            if field is None:
                continue
            if type(value_node) is ScalarNode and value_node.value in (None, ""):
                if field.required:
                    self.problem(value_node.line, f"{path}.{key}", "must not be empty")
                continue
            try:
                values[key] = self.convert(field.type, value_node, path, key)
            except _Skip:
                pass
            except _Invalid as error:
                self.problem(value_node.line, f"{path}.{key}", str(error))
        for field in spec:
            if field.required and field.name not in values and node.get(field.name) is None:
                self.problem(
                    node.line, f"{path}.{field.name}", f"required, but missing. {field.help}"
                )
        return values

    @staticmethod
    def _unknown(key: str, allowed: frozenset[str]) -> str:
        hint = suggest(key, allowed)
        return f"unknown key '{key}'" + (hint or f"; allowed keys: {', '.join(sorted(allowed))}")

    @staticmethod
    def _kind(node: Node) -> str:
        if isinstance(node, MapNode):
            return "a mapping"
        if isinstance(node, SeqNode):
            return "a list"
        assert isinstance(node, ScalarNode)
        return _describe(node.value) if not isinstance(node.value, str) else "a text"

    def convert(self, type_: str, node: Node, path: str, key: str = "") -> Any:
        """Convert one value of schema type `type_` found at `path` (+ `.key`); raises
        _Invalid with the reason. The path is only built when there is something to say."""
        scalar = _SCALARS.get(type_)
        if scalar is not None and type(node) is ScalarNode:
            return scalar(node)  # the common case first
        path = f"{path}.{key}" if key else path
        if type_.startswith("list of "):
            element = type_.removeprefix("list of ")
            nodes = node.items if isinstance(node, SeqNode) else (node,)
            converted = []
            for index, child in enumerate(nodes):
                try:
                    converted.append(self.convert(element, child, f"{path}[{index}]"))
                except _Skip:
                    pass
                except _Invalid as error:
                    self.problem(child.line, f"{path}[{index}]", str(error))
            return tuple(converted)
        if type_ in _MAPPINGS:
            return _MAPPINGS[type_](self, node, path)
        raise _Invalid(f"expected {_EXPECTED.get(type_, type_)}, got {self._kind(node)}")

    # Nested mappings -------------------------------------------------------------

    def person(self, node: Node, path: str) -> Person:
        if isinstance(node, ScalarNode) and isinstance(node.value, str):
            return Person(name=_line(node))  # shorthand: just a name
        values = self.read(node, path, PERSON)
        if not values or "name" not in values:
            raise _Skip
        return Person(values["name"], values.get("url"), values.get("email"))

    def image(self, node: Node, path: str) -> Image:
        values = self.read(node, path, IMAGE)
        if not values or "url" not in values or "alt" not in values:
            raise _Skip
        media_type = values.get("type")
        if media_type is None:
            suffix = "." + urlsplit(values["url"]).path.rsplit(".", 1)[-1].lower()
            media_type = IMAGE_TYPES.get(suffix)
            if media_type is None:
                self.problem(
                    node.line,
                    f"{path}.type",
                    "cannot tell the image's media type from its URL; add 'type: image/jpeg' "
                    "(or image/png, image/webp...)",
                )
                raise _Skip
        return Image(values["url"], values["alt"], media_type)

    def program(self, node: Node, path: str) -> Program:
        if isinstance(node, ScalarNode) and isinstance(node.value, str):
            return Program(title=_line(node))
        values = self.read(node, path, PROGRAM)
        if not values or "title" not in values:
            raise _Skip
        return Program(values["title"], values.get("url"))

    def withdrawal(self, node: Node, path: str) -> dict[str, Any]:
        values = self.read(node, path, WITHDRAWAL)
        if not values or "date" not in values or "reason" not in values:
            raise _Skip
        return values

    def change(self, node: Node, path: str) -> dict[str, Any]:
        values = self.read(node, path, CHANGE)
        if not values or "date" not in values or "note" not in values:
            raise _Skip
        return values


class _Skip(_Invalid):
    """The nested mapping already reported its own problems."""


# Scalar conversions -----------------------------------------------------------------


def _string(node: ScalarNode, expected: str) -> str:
    if not isinstance(node.value, str):
        raise _Invalid(f"expected {expected}, got {_describe(node.value)}; put it in quotes")
    return node.value


def _within(value: str, limit: int, what: str) -> str:
    if not value:
        raise _Invalid("must not be empty")
    if len(value) > limit:
        raise _Invalid(
            f"is {len(value):,} characters long, over the limit of {limit:,} for {what}; shorten it"
        )
    return value


def _line(node: ScalarNode) -> str:
    return _within(clean_line(_string(node, "one line of text")), MAX_LINE_LENGTH, "one line")


def _text(node: ScalarNode) -> str:
    return _within(clean_text(_string(node, "text")).strip(), MAX_TEXT_LENGTH, "a text")


def _raw(node: ScalarNode) -> Raw:
    if isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return Raw(str(node.value), node.line)  # a year, or a Unix-like number dateutil reads
    text = clean_text(_string(node, "text")).strip()
    if len(text) > MAX_TEXT_LENGTH:
        _within(text, MAX_TEXT_LENGTH, "a text")
    return Raw(text, node.line)


def _slug(node: ScalarNode) -> str:
    value = _string(node, "a slug").strip()
    if not SLUG.match(value):
        raise _Invalid(
            f"{value!r} is not a slug: use lower-case letters, digits and hyphens "
            "(at most 100), starting with a letter or digit"
        )
    return value


def _url(node: ScalarNode) -> str:
    value = _string(node, "a URL").strip()
    if len(value) > MAX_URL_LENGTH:
        raise _Invalid(f"URL is {len(value)} characters, over the limit of {MAX_URL_LENGTH}")
    if _SPACE.search(value):
        raise _Invalid(f"{value!r} contains spaces; encode them as %20")
    try:
        parts = urlsplit(value)
        host, _ = parts.hostname or "", parts.port  # both raise on a malformed host or port
    except ValueError as error:
        raise _Invalid(f"{value!r} is not a valid URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _Invalid(f"{value!r} is not an absolute http(s) URL; write it as https://...")
    netloc = parts.netloc
    if not host.isascii():
        try:
            netloc = netloc.replace(host, host.encode("idna").decode("ascii"), 1)
        except UnicodeError:
            raise _Invalid(f"{value!r} has a host name that cannot be encoded") from None
    if "[" in netloc:
        raise _Invalid(
            f"{value!r} names its host by an IP address in brackets, which feed validators "
            "and many readers refuse (RFC 2396 has no brackets); use a host name"
        )
    if not _NETLOC.match(netloc):
        raise _Invalid(f"{value!r} has characters a host name cannot have")
    # RFC 3986 allows brackets only around an IPv6 host; everything a path, query or fragment
    # may not hold literally (non-ASCII, <, >, ", {, }, [, ]...) is %-encoded, so every feed
    # format gets a valid URI. Existing %-escapes are kept.
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe=_PATH_SAFE),
            quote(parts.query, safe=_QUERY_SAFE),
            quote(parts.fragment, safe=_QUERY_SAFE),
        )
    )


def _email(node: ScalarNode) -> str:
    value = _string(node, "an e-mail address").strip()
    if not EMAIL.match(value) or not value.isprintable() or len(value) > MAX_LINE_LENGTH:
        raise _Invalid(f"{value!r} is not an e-mail address")
    return value


def _timezone(node: ScalarNode) -> str:
    value = _string(node, "a time zone name").strip()
    try:
        zone(value)
    except DateError as error:
        raise _Invalid(str(error)) from error
    return value


def _language(node: ScalarNode) -> str:
    value = _string(node, "a language tag").strip()
    if not LANGUAGE.match(value):
        raise _Invalid(f"{value!r} is not a language tag; write e.g. 'en', 'en-US' or 'ar'")
    return value


def _boolean(node: ScalarNode) -> bool:
    if not isinstance(node.value, bool):
        raise _Invalid(f"expected true or false, got {node.value!r}")
    return node.value


def _integer(node: ScalarNode) -> int:
    if isinstance(node.value, bool) or not isinstance(node.value, int):
        raise _Invalid(f"expected a whole number, got {node.value!r}")
    return node.value


def _choice(node: ScalarNode, choices: type[Choice], what: str, plural: str) -> Choice:
    """One of the values of the enum `choices` (a kind, a status), case-insensitively."""
    value = _string(node, f"a {what}").strip().lower()
    try:
        return choices(value)
    except ValueError:
        known = ", ".join(choice.value for choice in choices)
        raise _Invalid(
            f"unknown {what} {value!r}{suggest(value, list(choices))}; {plural}: {known}"
        ) from None


def _kind(node: ScalarNode) -> Kind:
    return _choice(node, Kind, "kind", "kinds")


def _event_status(node: ScalarNode) -> EventStatus:
    return _choice(node, EventStatus, "status", "statuses")


def _tag_authority(node: ScalarNode) -> str:
    value = _string(node, "a domain name").strip().lower()
    if not (DOMAIN.match(value) or EMAIL.match(value)):
        raise _Invalid(f"{value!r} is not a domain name or e-mail address (RFC 4151 tag authority)")
    return value


def _tag_date(node: ScalarNode) -> str:
    value = str(node.value).strip() if isinstance(node.value, int) else _string(node, "a date")
    if not TAG_DATE.match(value):
        raise _Invalid(f"{value!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    padded = (value + "-01-01")[:10] if len(value) < 10 else value
    try:
        date.fromisoformat(padded)
    except ValueError as error:
        raise _Invalid(f"{value!r} is not a real date") from error
    return value


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _weekday(node: ScalarNode) -> int:
    """Monday 0 ... Sunday 6."""
    value = _string(node, "a day of the week").strip().lower()
    if value not in WEEKDAYS:
        raise _Invalid(f"{value!r} is not a day of the week{suggest(value, WEEKDAYS)}; write "
                       "monday, tuesday ... sunday")  # fmt: skip
    return WEEKDAYS.index(value)


def _time_of_day(node: ScalarNode) -> time:
    value = node.value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads 09:00 unquoted as a number of minutes (sexagesimal): 540.
        raise _Invalid(f"write it in quotes, as '{value // 60:02d}:{value % 60:02d}'")
    text = _string(node, "a time of day").strip()
    match = TIME_OF_DAY.match(text)
    if not match:
        raise _Invalid(f"{text!r} is not a time of day; write HH:MM on a 24-hour clock, e.g. 09:00")
    return time(int(match[1]), int(match[2]))


_SCALARS: dict[str, Callable[[ScalarNode], Any]] = {
    "line": _line,
    "text": _text,
    "html": _raw,
    "date": _raw,
    "slug": _slug,
    "url": _url,
    "email": _email,
    "timezone": _timezone,
    "language": _language,
    "boolean": _boolean,
    "integer": _integer,
    "kind": _kind,
    "event-status": _event_status,
    "tag-authority": _tag_authority,
    "tag-date": _tag_date,
    "weekday": _weekday,
    "time-of-day": _time_of_day,
}

_MAPPINGS: dict[str, Callable[[FieldReader, Node, str], Any]] = {
    "person": FieldReader.person,
    "image": FieldReader.image,
    "program": FieldReader.program,
    "withdrawal": FieldReader.withdrawal,
    "change": FieldReader.change,
}

_EXPECTED = {
    "line": "one line of text",
    "text": "text",
    "html": "HTML text",
    "date": "a date",
    "slug": "a slug",
    "url": "a URL",
    "email": "an e-mail address",
    "timezone": "a time zone name",
    "language": "a language tag",
    "boolean": "true or false",
    "integer": "a whole number",
    "kind": "a kind",
    "event-status": "an event status",
}
