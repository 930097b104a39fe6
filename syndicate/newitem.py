"""What `syndicate new` writes: a new item's file, ready to fill in, a draft by default.

`new_item` is pure: from the catalog (for the types, topics, ids in use and the site's zone),
the editor's choices and the moment, it returns where the file goes and its text. The id
comes from the title (ASCII letters and digits, hyphens), made unique against every id in
the content, drafts and withdrawn items included. `published` is the moment in the site's
zone, to the minute. What only the editor can write (the summary, the item's own page, an
event's start) is a placeholder, `REPLACE ME`, which `check` accepts in a draft and refuses
in a published item; optional keys are listed commented out. The first line names the
content's JSON Schema for the editor's editor (editor_schema.py).

Values are written as JSON strings, which YAML reads as double-quoted scalars: any title,
quotes, colons, `#`, emoji or right-to-left text included, is written exactly.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from syndicate.editor_schema import FILE_NAME, MODELINE
from syndicate.fields import suggest
from syndicate.model import Catalog, Kind
from syndicate.schema import PLACEHOLDER, PLACEHOLDER_IN_URL

MAX_ID_LENGTH = 80  # of the part made from the title; a suffix may follow
# Latin letters that Unicode does not decompose into a base letter and accents.
_LETTERS = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l",
                          "þ": "th", "ð": "d", "ı": "i"})  # fmt: skip


class NewItemError(ValueError):
    """The editor asked for something the content does not have; the message says what."""


@dataclass(frozen=True)
class Request:
    type: str
    topics: tuple[str, ...]
    title: str
    at: datetime | None = None  # published; None: the moment given to `new_item`
    summary: str | None = None
    url: str | None = None
    start: str | None = None  # an event's start, as the editor wrote it
    draft: bool = True


@dataclass(frozen=True)
class NewItem:
    id: str
    path: Path  # relative to the content folder
    text: str


def slug_from(title: str) -> str:
    """ "Drug Checking, Explained!" -> "drug-checking-explained": ASCII letters and digits
    (accents dropped), hyphens between words, at most MAX_ID_LENGTH, cut at a hyphen."""
    latin = title.lower().translate(_LETTERS)
    ascii_text = unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > MAX_ID_LENGTH:
        slug = (
            slug[:MAX_ID_LENGTH].rsplit("-", 1)[0]
            if "-" in slug[:MAX_ID_LENGTH]
            else slug[:MAX_ID_LENGTH]
        )
    return slug


def unique_id(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3`... the first not in `taken`."""
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _check_request(catalog: Catalog, request: Request) -> None:
    if request.type not in catalog.types:
        hint = suggest(request.type, catalog.types)
        raise NewItemError(
            f"unknown type {request.type!r}{hint}; types: {', '.join(catalog.types)}"
        )
    if not request.topics:
        raise NewItemError(f"name a topic with --topic; topics: {', '.join(catalog.topics)}")
    for slug in request.topics:
        if slug not in catalog.topics:
            hint = suggest(slug, catalog.topics)
            raise NewItemError(f"unknown topic {slug!r}{hint}; topics: {', '.join(catalog.topics)}")
    if not request.title.strip():
        raise NewItemError("the title is empty")


def _local_minute(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _json(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def new_item(
    catalog: Catalog, request: Request, now: datetime, taken: Sequence[str] = ()
) -> NewItem:
    """The file for `request` (NewItemError when the type or a topic is unknown); `taken`:
    ids in use besides the catalog's (e.g. files not valid yet)."""
    _check_request(catalog, request)
    site, content_type = catalog.site, catalog.types[request.type]
    zone = ZoneInfo(site.timezone)
    base = slug_from(request.title) or f"{content_type.slug}-{now.astimezone(zone):%Y-%m-%d}"
    item_id = unique_id(base, {item.id for item in catalog.items} | set(taken))
    path = Path("items") / request.topics[0] / f"{item_id}.yaml"
    published = request.at or now
    schema = os.path.relpath(FILE_NAME, path.parent)  # from the item's folder to the root's
    lines = [
        MODELINE.format(schema.replace(os.sep, "/")),
        f"# A new {content_type.singular.lower()}, written by `syndicate new`.",
    ]
    if request.draft:
        lines += [
            "# A draft: in no feed, calendar or page until you delete the line 'draft: true'.",
            f"# Replace every {PLACEHOLDER} first (check refuses to publish them); see it",
            "# with `make preview`, on the topic's page of the preview.",
        ]
    url = request.url or site.url.rstrip("/") + "/" + PLACEHOLDER_IN_URL
    summary = request.summary or f"{PLACEHOLDER}: one or two sentences, shown in every feed."
    lines += [
        "item:",
        f"  id: {item_id}  # permanent: never change it once published",
        f"  type: {content_type.slug}",
        f"  title: {_json(request.title.strip())}",
        f"  summary: {_json(summary)}",
        f"  url: {_json(url)}  # the item's own page on the website",
        f"  published: {_local_minute(published, zone)}  # {site.timezone}; later: scheduled",
        f"  topics: [{', '.join(request.topics)}]",
    ]
    if content_type.kind is Kind.EVENT:
        week_later = (published + timedelta(days=7)).astimezone(zone)
        start = request.start or _local_minute(week_later.replace(hour=18, minute=0), zone)
        note = "" if request.start else f"  # {PLACEHOLDER}: when it starts"
        lines += [
            f"  start: {_json(start) if request.start else start}{note}",
            f"  # end: {week_later:%Y-%m-%d}T20:00  # when it ends (a date alone: the last day)",
            f"  # timezone: {site.timezone}  # where the event's clock is (default: the site's)",
            "  # venue: The place's name",
            "  # address: Street and number",
            "  # city: City",
            "  # country: Country",
            "  # online_url: https://... # where to join online",
            "  # registration_url: https://...",
        ]
    lines += [
        "  # content: The full text, plain; or content_html in the HTML subset",
        "  # authors: [A Name]          # default: the site's publisher",
        "  # tags: [a keyword]",
        "  # image: {url: https://..., alt: What the picture shows}",
    ]
    if request.draft:
        lines.append("  draft: true")
    return NewItem(item_id, path, "\n".join(lines) + "\n")
