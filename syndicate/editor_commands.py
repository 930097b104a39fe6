"""The editors' commands, `check`, `new` and `forget`: what they print and their exit codes
(0 done, 1 the content needs an editor, 2 a usage error). The work itself is pure and
lives elsewhere: editorial.py (what check tells), newitem.py (a new item's file),
published.py (the record of what was published).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from syndicate import editor_schema
from syndicate.atomic import replace_file
from syndicate.dates import DateError, parse_date
from syndicate.editorial import plural, record_problems, summary
from syndicate.fields import suggest
from syndicate.loader import load_catalog
from syndicate.newitem import NewItemError, Request, new_item
from syndicate.problems import ContentError, Problem
from syndicate.progress import TerminalProgress
from syndicate.published import FILE_NAME as RECORD_FILE
from syndicate.published import forgotten, read_record, record_json, updated_record
from syndicate.schema import PLACEHOLDER
from syndicate.urls import topic_page_path

PREVIEW_PORT = 8081  # beside `serve`'s 8080, so both can run


def report_problems(error: ContentError, config: Path) -> None:
    for problem in error.problems:
        print(problem, file=sys.stderr)
    count = len(error.problems)
    print(f"{count} problem{'s' if count != 1 else ''} found in {config}", file=sys.stderr)


def new(args: argparse.Namespace, config: Path, parser: argparse.ArgumentParser) -> int:
    """Write a new item's file (newitem.py), then check the whole folder with it: a file
    that would make the content invalid is taken back."""
    now = datetime.now(UTC)
    try:
        catalog = load_catalog(config, now)
    except ContentError as error:
        report_problems(error, config)
        print("Fix these first: `new` adds to valid content only.", file=sys.stderr)
        return 1
    at = None
    if args.at:
        try:
            at = parse_date(args.at, ZoneInfo(catalog.site.timezone)).value
        except DateError as error:
            parser.error(f"--at: {error}")
    request = Request(
        args.type, tuple(dict.fromkeys(args.topic)), args.title, at, args.summary, args.url,
        args.start, draft=not args.publish,
    )  # fmt: skip
    taken: list[str] = []
    try:
        item = new_item(catalog, request, now, taken)
        while (config / item.path).exists():  # a file of that name holds other ids
            taken.append(item.id)
            item = new_item(catalog, request, now, taken)
    except NewItemError as error:
        parser.error(str(error))
    target = config / item.path
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("x", encoding="utf-8") as file:
        file.write(item.text)
    try:
        load_catalog(config, now)
    except ContentError as error:
        target.unlink()
        report_problems(error, config)
        print(f"Nothing written: {target} would not be valid.", file=sys.stderr)
        return 1
    preview = f"http://127.0.0.1:{PREVIEW_PORT}{topic_page_path(request.topics[0])}"
    state = "a draft" if request.draft else "published" if at is None or at <= now else "scheduled"
    print(f"wrote {target}: {item.id} ({state})")
    print(f"See it: `make preview` (or `.venv/bin/syndicate preview`), then open {preview}")
    if request.draft:
        print(f"Publish it: replace every {PLACEHOLDER}, then delete the line 'draft: true'.")
    return 0


def check(config: Path, keep_record: bool) -> int:
    now = datetime.now(UTC)
    record = read_record(config)
    if isinstance(record, Problem):
        report_problems(ContentError([record]), config)
        return 1
    try:
        with TerminalProgress() as report:
            catalog = load_catalog(config, now, report=report, record=record)
    except ContentError as error:
        report_problems(error, config)
        return 1
    print(summary(catalog, config, now))
    schema = config / editor_schema.FILE_NAME
    if schema.is_file() and schema.read_bytes() != editor_schema.content_schema_json():
        print(
            f"Note: {schema} is not this version's schema: editors' hints may be wrong. "
            f"Update it with `syndicate schema {schema}` (or `make schema`)."
        )
    if record is None and not keep_record:
        print(
            f"Tip: `syndicate check --record {config}` (make check) keeps a record of what is "
            "published, so that a removed item or a renamed topic is caught."
        )
        return 0
    path = config / RECORD_FILE
    kept = updated_record(record, catalog, now)
    data = record_json(kept)
    if keep_record and (record is None or data != record_json(record)):
        try:
            replace_file(path, data)
        except OSError as error:
            print(f"Note: cannot update {path} ({error.strerror or error})", file=sys.stderr)
        else:
            added = len(kept.items) - (len(record.items) if record else 0)
            print(f"Recorded in {path}" + (f": {plural(added, 'newly published item')}" if added
                  else "") + ". Commit it with the content.")  # fmt: skip
    problems = record_problems(path, data, kept, catalog, record)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(
            f"{plural(len(problems), 'published thing')} missing from {config}: "
            "subscribers are not told (see docs/content.md, 'Removing and renaming')",
            file=sys.stderr,
        )
        return 1
    return 0


def forget(args: argparse.Namespace, config: Path, parser: argparse.ArgumentParser) -> int:
    """Take removed items, gone topics and types out of the record."""
    if not (args.ids or args.topic or args.type):
        parser.error("name the items to forget (or --topic, --type)")
    record = read_record(config)
    if record is None or isinstance(record, Problem):
        parser.error(f"{config / RECORD_FILE}: " + (record.message if record else "no record"))
    try:
        catalog = load_catalog(config)
    except ContentError as error:
        report_problems(error, config)
        return 1
    live = {item.id for item in catalog.items if not item.draft}
    for item_id in args.ids:
        if item_id not in record.items:
            parser.error(f"{item_id!r} is not in the record{suggest(item_id, record.items)}")
        if item_id in live:
            parser.error(
                f"{item_id!r} is published: withdraw it ('withdrawn:') rather than forget it"
            )
    slugs = {"topic": set(args.topic), "type": set(args.type)}
    defined: dict[str, set[str]] = {
        kind: {name for d in values for name in (d.slug, *d.aliases)}
        for kind, values in (("topic", catalog.topics.values()), ("type", catalog.types.values()))
    }
    for kind, names in slugs.items():
        for slug in names:
            if slug in defined[kind]:
                parser.error(f"{kind} {slug!r} is still defined: nothing to forget")
    kept = forgotten(record, args.ids)
    kept = replace(
        kept,
        topics=tuple(t for t in kept.topics if t not in slugs["topic"]),
        types=tuple(t for t in kept.types if t not in slugs["type"]),
    )
    replace_file(config / RECORD_FILE, record_json(kept))
    for name in [*args.ids, *args.topic, *args.type]:
        print(f"forgot {name}: no longer served or reported; commit {config / RECORD_FILE}")
    return 0
