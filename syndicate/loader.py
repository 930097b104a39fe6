"""Content definitions (a folder of YAML) -> a validated, immutable `Catalog`.

`load_catalog` is the one entry point every command uses. It reports *all* problems at once
by raising `ContentError`, each problem located as file, line and key path. It never
returns a partly valid catalog.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any, TypeVar

from syndicate.fields import FieldReader, suggest
from syndicate.indentation import adopt_strays
from syndicate.items import Definition, ItemBuilder, line_of
from syndicate.model import (
    Catalog,
    ContentType,
    Item,
    Site,
    SourceRef,
    Topic,
)
from syndicate.problems import ContentError, Problem
from syndicate.progress import Report, quiet
from syndicate.published import FILE_NAME, Record
from syndicate.schema import (
    CONTENT_TYPE,
    DEFAULT_FEED_SIZE,
    FILE_KEYS,
    MAX_FEED_SIZE,
    SITE,
    TOPIC,
)
from syndicate.sources import (
    MapNode,
    Node,
    ScalarNode,
    SeqNode,
    SourceFile,
    Unparsed,
    parse_data,
    read_config,
)
from syndicate.urls import EVENTS_HANDLE, RESERVED_NAMES, SITE_HANDLE


@dataclass(frozen=True)
class CachedFile:
    """The items one file of only items gave, with its bytes and its ids as written."""

    data: bytes
    items: tuple[Item, ...]
    ids: tuple[RawId, ...]


class LoadCache:
    """What the last successful load built from each file of only items. A reload then
    parses and builds only the files whose bytes changed: all of them when the site, a
    type or a topic changed (items are validated against them), or the clock went back
    (changes dated after `now` are refused)."""

    def __init__(self) -> None:
        self.files: dict[str, CachedFile] = {}
        self.context: object = None
        self.now: datetime | None = None

    def knows(self, shown: str, data: bytes) -> bool:
        cached = self.files.get(shown)
        return cached is not None and cached.data == data

    def valid_for(self, context: object, now: datetime | None) -> bool:
        if context != self.context:
            return False
        return now is None if self.now is None else now is not None and now >= self.now


def load_catalog(
    root: Path,
    now: datetime | None = None,
    cache: LoadCache | None = None,
    report: Report = quiet,
    record: Record | None = None,
) -> Catalog:
    """Read, validate and index the content under `root`; ContentError lists every problem.
    `record`, what was published (published.py), makes some messages more helpful: a
    published slug that is unknown now, which of two items with one id must change.

    With `now`, changes and withdrawals dated after it are problems too (an item whose
    `published` is after it is fine: it is scheduled, see `schedule.py`). With `cache`,
    files unchanged since the last load are not parsed again (see `LoadCache`).
    `report(stage, done, total)` is told how far it is.
    """
    files, problems = read_config(root, cache.knows if cache is not None else None, report)
    sections: dict[str, list[Definition]] = {"site": [], "type": [], "topic": [], "item": []}
    unparsed = [source for source in files if isinstance(source, Unparsed)]
    parsed = [source for source in files if isinstance(source, SourceFile)]
    for source in parsed:
        _collect_file(source, problems, sections)
    if not files and not problems:
        problems.append(Problem(str(root), 0, "", "no .yaml files found; " + _TOP_LEVEL_HELP))

    site = _site(sections["site"], problems, root)
    types = _in_order(_content_type(d) for d in sections["type"])
    topics = _in_order(_topic(d) for d in sections["topic"])
    _check_unique(_raw_ids(sections["type"], "slug"), "slug", "type", problems)
    _check_unique(_raw_ids(sections["topic"], "slug"), "slug", "topic", problems)
    type_index = {t.slug: t for t, _ in types}
    topic_index = {t.slug: t for t, _ in topics}
    context = (site, tuple(type_index.values()), tuple(topic_index.values()))
    # Items may name a type or topic by a former slug (an alias): it stands for today's.
    type_names = {**_aliases(types, "type", problems), **type_index}
    published = (
        (frozenset(record.topics), frozenset(record.types))
        if record
        else (frozenset(), frozenset())
    )
    topic_names = {**_aliases(topics, "topic", problems), **topic_index}
    if unparsed and cache is not None and not cache.valid_for(context, now):
        for left in unparsed:  # built for another site, types, topics or clock: again
            again = parse_data(left.data, left.path)
            if isinstance(again, Problem):
                problems.append(again)
            elif again is not None:
                _collect_file(again, problems, sections)
                parsed.append(again)
        unparsed = []
    kept = [cache.files[source.path] for source in unparsed] if cache is not None else []
    ids = [raw for cached in kept for raw in cached.ids] + _raw_ids(sections["item"], "id")
    _check_unique_ids(ids, sections["item"], record, problems)
    built: dict[str, list[Item]] = {}
    if site is not None:
        for done, definition in enumerate(sections["item"], 1):
            report("checking items", done, len(sections["item"]))
            try:
                item = ItemBuilder(
                    definition, site, type_names, topic_names, now, published
                ).build()
            except Exception as error:  # a defect of ours: still a located problem, never a crash
                definition.reader.problem(definition.node.line, definition.path, _internal(error))
                continue
            if item is not None:
                built.setdefault(definition.reader.file, []).append(item)
    if problems or site is None:
        raise ContentError(problems)
    items = [item for cached in kept for item in cached.items]
    items += [item for found in built.values() for item in found]
    if cache is not None:
        _remember(cache, context, now, parsed, kept, unparsed, built, sections["item"])
    return Catalog.build(site, [t for t, _ in types], [t for t, _ in topics], items)


def _collect_file(
    source: SourceFile, problems: list[Problem], sections: dict[str, list[Definition]]
) -> None:
    reader = FieldReader(source.path, problems)
    if not isinstance(source.root, MapNode):
        reader.problem(source.root.line, "", _TOP_LEVEL_HELP)
        return
    entries, strays = adopt_strays(source.path, source.root.entries)
    problems.extend(strays)
    for key, key_line, node in entries:
        _collect(reader, key, key_line, node, sections)


def _remember(
    cache: LoadCache,
    context: object,
    now: datetime | None,
    parsed: list[SourceFile],
    kept: list[CachedFile],
    unparsed: list[Unparsed],
    built: dict[str, list[Item]],
    definitions: list[Definition],
) -> None:
    """After a successful load: what each file of only items gave, for the next load."""
    files = {source.path: cached for source, cached in zip(unparsed, kept, strict=True)}
    ids: dict[str, list[RawId]] = {}
    for raw in _raw_ids(definitions, "id"):
        ids.setdefault(raw[1].file, []).append(raw)
    for source in parsed:
        only_items = isinstance(source.root, MapNode) and all(
            FILE_KEYS.get(key) == "item" for key, _, _ in source.root.entries
        )
        if only_items and source.data:
            files[source.path] = CachedFile(
                source.data, tuple(built.get(source.path, ())), tuple(ids.get(source.path, ()))
            )
    cache.files, cache.context, cache.now = files, context, now


def _internal(error: Exception) -> str:
    return (
        f"syndicate could not read this ({type(error).__name__}: {error}); this is a bug in "
        "syndicate, please report it with this definition"
    )


_TOP_LEVEL_HELP = (
    "a content file is a mapping with any of the keys site, type(s), topic(s), item(s); "
    "see docs/content.md"
)


def _collect(
    reader: FieldReader, key: str, key_line: int, node: Node, sections: dict[str, list[Definition]]
) -> None:
    section = FILE_KEYS.get(key)
    if section is None:
        hint = suggest(key, FILE_KEYS)
        reader.problem(key_line, key, f"unknown top-level key '{key}'{hint}; " + _TOP_LEVEL_HELP)
        return
    plural = key != section
    if plural and key != "site":
        if not isinstance(node, SeqNode):
            reader.problem(node.line, key, f"expected a list of {section}s (or use '{section}:')")
            return
        for index, child in enumerate(node.items):
            sections[section].append(Definition(reader, child, f"{key}[{index}]"))
    else:
        sections[section].append(Definition(reader, node, key))


def _in_order(defined: Any) -> list[Any]:
    """(definition, ref, order) triples -> (definition, ref) pairs sorted by their `order`;
    equal orders keep the order of definition (files in sorted path order), since sorting is
    stable."""
    found = [triple for triple in defined if triple is not None]
    return [(value, ref) for value, ref, _ in sorted(found, key=lambda triple: triple[2])]


Renamed = TypeVar("Renamed", ContentType, Topic)


def _aliases(
    defined: list[tuple[Renamed, SourceRef]], what: str, problems: list[Problem]
) -> dict[str, Renamed]:
    """Each former slug of a type or topic -> it; a former slug that is any type's or
    topic's slug, another's former slug, or reserved, is a problem (its URLs would be two
    things at once)."""
    slugs = {value.slug: ref for value, ref in defined}
    names: dict[str, tuple[Renamed, SourceRef]] = {}
    for value, ref in defined:
        for alias in value.aliases:
            if alias in slugs:
                taken = (
                    "its own slug"
                    if alias == value.slug
                    else f"the slug of the {what} at {slugs[alias]}"
                )
                reason = f"'{alias}' is {taken}: a former slug must be free"
            elif alias in names:
                reason = f"'{alias}' is also a former slug of the {what} at {names[alias][1]}"
            elif what == "type" and alias in RESERVED_NAMES:
                reason = f"'{alias}' is reserved ({RESERVED_NAMES[alias]})"
            else:
                names[alias] = (value, ref)
                continue
            problems.append(Problem(ref.file, ref.line, f"{what}.aliases", reason))
    return {alias: value for alias, (value, _) in names.items()}


RawId = tuple[str, SourceRef, str]  # an id as written, where, and its key path


def _raw_ids(definitions: list[Definition], key: str) -> list[RawId]:
    """Ids as written (with place and key path), so duplicates are found even in
    definitions with other mistakes."""
    found = []
    for definition in definitions:
        node = definition.node.get(key) if isinstance(definition.node, MapNode) else None
        if isinstance(node, ScalarNode) and isinstance(node.value, str):
            ref = SourceRef(definition.reader.file, node.line)
            found.append((node.value.strip(), ref, f"{definition.path}.{key}"))
    return found


def _check_unique(ids: list[RawId], key: str, what: str, problems: list[Problem]) -> None:
    """Report every definition whose id was already used, naming the first place."""
    first: dict[str, SourceRef] = {}
    for value, ref, path in ids:
        if value in first:
            problems.append(
                Problem(
                    ref.file,
                    ref.line,
                    path,
                    f"duplicate {what} {key} '{value}', first defined at {first[value]}; "
                    f"every {what} needs its own {key}",
                )
            )
        else:
            first[value] = ref


def _check_unique_ids(
    ids: list[RawId], definitions: list[Definition], record: Record | None, problems: list[Problem]
) -> None:
    """Report each item id used twice, naming both places, on the one that must change: the
    one subscribers do not know by it. With the record, that is the one whose link is not the
    recorded one; without, the one published later (a copy is newer than its original)."""
    places: dict[str, list[tuple[SourceRef, str]]] = {}
    for value, ref, path in ids:
        places.setdefault(value, []).append((ref, path))
    nodes = {
        SourceRef(d.reader.file, d.node.get("id").line): d.node  # type: ignore[union-attr]
        for d in definitions
        if isinstance(d.node, MapNode) and isinstance(d.node.get("id"), ScalarNode)
    }
    for value, found in places.items():
        if len(found) < 2:
            continue
        entry = record.items.get(value) if record else None
        keeper, why = _keeper(found, nodes, entry.url if entry else None)
        for ref, path in found:
            if ref != keeper:
                message = (
                    f"duplicate item id '{value}': {keeper} holds it too{why}; give this item "
                    "an id of its own (readers know an item by its id: never change the one "
                    "they have)"
                )
                problems.append(Problem(ref.file, ref.line, path, message))


def _keeper(
    found: list[tuple[SourceRef, str]],
    nodes: Mapping[SourceRef, Node],
    recorded_url: str | None,
) -> tuple[SourceRef, str]:
    """Which of the places of a duplicate id keeps it, and why (for the message)."""

    def scalar(ref: SourceRef, key: str) -> str:
        node = nodes.get(ref)
        child = node.get(key) if isinstance(node, MapNode) else None
        return str(child.value).strip() if isinstance(child, ScalarNode) else ""

    if recorded_url is not None:
        for ref, _ in found:
            if scalar(ref, "url") == recorded_url:
                return ref, f", and was published with it (the record, {FILE_NAME}, says so)"
    dated = sorted(
        ((scalar(ref, "published"), ref) for ref, _ in found if scalar(ref, "published")),
        key=lambda pair: pair[0],
    )
    if len(dated) == len(found) and dated[0][0] != dated[1][0]:
        # Dates compare as text when written alike (YYYY-MM-DDTHH:MM), as editors write them.
        return dated[0][1], ", published earlier"
    return found[0][0], ""


def _site(definitions: list[Definition], problems: list[Problem], root: Path) -> Site | None:
    if not definitions:
        problems.append(
            Problem(str(root), 0, "site", "no site definition; add a file with 'site:'")
        )
        return None
    for extra in definitions[1:]:
        extra.reader.problem(
            extra.node.line, "site", f"site is defined twice, first at {definitions[0].ref}"
        )
    definition = definitions[0]
    values = definition.reader.read(definition.node, "site", SITE)
    if values is None or any(f.required and f.name not in values for f in SITE):
        return None
    feed_size = values.get("feed_size", DEFAULT_FEED_SIZE)
    if not 1 <= feed_size <= MAX_FEED_SIZE:
        line = line_of(definition.node, "feed_size")
        definition.reader.problem(line, "site.feed_size", f"must be from 1 to {MAX_FEED_SIZE}")
        return None
    return Site(
        title=values["title"],
        description=values.get("description"),
        url=values["url"],
        feeds_url=values["feeds_url"].rstrip("/") if "feeds_url" in values else None,
        language=values["language"],
        timezone=values["timezone"],
        rights=values.get("rights"),
        publisher=values["publisher"],
        logo=values.get("logo"),
        icon=values.get("icon"),
        tag_authority=values["tag_authority"],
        tag_date=values["tag_date"],
        feed_size=feed_size,
        hubs=values.get("hubs", ()),
        digest_day=values.get("digest_day", 0),
        digest_time=values.get("digest_time", time(9, 0)),
    )


def _content_type(definition: Definition) -> tuple[ContentType, SourceRef, int] | None:
    values = definition.reader.read(definition.node, definition.path, CONTENT_TYPE)
    if values is None or any(f.required and f.name not in values for f in CONTENT_TYPE):
        return None
    if values["slug"] in RESERVED_NAMES:
        definition.reader.problem(
            line_of(definition.node, "slug"),
            f"{definition.path}.slug",
            f"'{values['slug']}' is reserved: its feeds would collide with "
            f"{RESERVED_NAMES[values['slug']]}; choose another slug",
        )
        return None
    content_type = ContentType(
        values["slug"],
        values["kind"],
        values["title"],
        values["singular"],
        values.get("description"),
        tuple(dict.fromkeys(values.get("aliases", ()))),
    )
    return content_type, definition.ref, values.get("order", 0)


def _topic(definition: Definition) -> tuple[Topic, SourceRef, int] | None:
    values = definition.reader.read(definition.node, definition.path, TOPIC)
    if values is None or any(f.required and f.name not in values for f in TOPIC):
        return None
    if values["slug"] in (SITE_HANDLE, EVENTS_HANDLE):
        definition.reader.problem(
            line_of(definition.node, "slug"),
            f"{definition.path}.slug",
            f"'{values['slug']}' is reserved: it is one of the site's own handles on the "
            f"fediverse (@{SITE_HANDLE}@your-host, @{EVENTS_HANDLE}@your-host); choose "
            "another slug",
        )
        return None
    topic = Topic(
        values["slug"],
        values["title"],
        values.get("description"),
        values.get("url"),
        values.get("area"),
        values.get("programs", ()),
        tuple(dict.fromkeys(values.get("aliases", ()))),
    )
    return topic, definition.ref, values.get("order", 0)
