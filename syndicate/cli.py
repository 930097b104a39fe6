"""The command line. The only module that prints and exits.

    syndicate check [DIR]                 validate the content and print a summary
    syndicate serve [--config DIR] ...    serve every feed over HTTP (--export DIR: and keep
                                          a static export of it for nginx)
    syndicate preview [--config DIR] ...  serve the content as it will be, drafts and scheduled
                                          items included and marked, on port 8081
    syndicate new TYPE --topic T --title "..."  a new item's file, a draft to fill in
    syndicate schema [OUT]                the content's JSON Schema, for editors' editors
    syndicate build [--config DIR] OUT    write every representation to files
    syndicate nginx-config [--upstream H:P]  nginx as a caching proxy in front of the workers

Exit codes: 0 success, 1 invalid content, 2 usage error (argparse's convention).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from syndicate import __version__, editor_schema
from syndicate.atomic import replace_file
from syndicate.build import NoPublicURL, snapshot_for
from syndicate.dates import DateError, parse_date
from syndicate.editorial import _count, record_problems, summary
from syndicate.export import HEADERS_FILE, NGINX_FILE, write_export
from syndicate.fields import suggest
from syndicate.loader import load_catalog
from syndicate.newitem import NewItemError, Request, new_item
from syndicate.nginx import CacheTier, cache_tier
from syndicate.problems import ContentError, Problem
from syndicate.progress import TerminalProgress
from syndicate.published import FILE_NAME as RECORD_FILE
from syndicate.published import forgotten, read_record, record_json, updated_record
from syndicate.schema import PLACEHOLDER
from syndicate.settings import SETTINGS, SettingError, Settings, parse_url_setting
from syndicate.sources import is_readable_dir
from syndicate.urls import topic_page_path

DEFAULT_CONFIG = "feeds_config"
PREVIEW_PORT = 8081  # beside `serve`'s 8080, so both can run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syndicate", description="Feeds for topic pages, from YAML content definitions."
    )
    parser.add_argument("--version", action="version", version=f"syndicate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check", help="validate the content definitions and print a summary"
    )
    check.add_argument(
        "config",
        nargs="?",
        default=DEFAULT_CONFIG,
        metavar="DIR",
        help=f"the content folder (default: {DEFAULT_CONFIG})",
    )
    check.add_argument(
        "--record",
        action="store_true",
        help=f"keep DIR/{RECORD_FILE}, the record of what was published, up to date (create "
        "it if need be): removed items and renamed topics are then caught (make check does)",
    )
    forget = commands.add_parser(
        "forget",
        help=f"take removed items (or gone topics, types) out of {RECORD_FILE}",
        description="For an item removed from the content on purpose: the service stops "
        "serving it as withdrawn, and subscribers who have it keep it, untold. To tell them, "
        "put it back with 'withdrawn:' instead.",
    )
    forget.add_argument("ids", nargs="*", metavar="ID", help="removed items' ids")
    forget.add_argument("--topic", action="append", default=[], help="a gone topic's slug")
    forget.add_argument("--type", action="append", default=[], help="a gone type's slug")
    forget.add_argument("--config", default=DEFAULT_CONFIG, metavar="DIR",
                        help=f"the content folder (default: {DEFAULT_CONFIG})")  # fmt: skip
    serve = commands.add_parser(
        "serve",
        help="serve every feed over HTTP",
        description="Settings may also come from the environment: "
        + ", ".join(f"{s.env}" for s in SETTINGS),
    )
    serve.add_argument("--config", metavar="DIR", help="the content folder (SYNDICATE_CONFIG)")
    serve.add_argument("--host", help="address to listen on (SYNDICATE_HOST, default 127.0.0.1)")
    serve.add_argument(
        "--port",
        type=int,
        help="port to listen on, 0: any free port (SYNDICATE_PORT, default 8080)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes serving the port, 1 to 64 (SYNDICATE_WORKERS, default 1)",
    )
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="public base URL for links (SYNDICATE_PUBLIC_URL; default: the address served)",
    )
    serve.add_argument(
        "--export",
        metavar="DIR",
        help="keep a static export in DIR in step with what is served, for nginx to serve "
        "(SYNDICATE_EXPORT_DIR; its _nginx.conf listens on SYNDICATE_EXPORT_LISTEN)",
    )
    new = commands.add_parser(
        "new",
        help="write a new item's file, a draft ready to fill in",
        description="Writes items/TOPIC/ID.yaml in the content folder: an id made from the "
        "title (unique), published now in the site's zone (or --at), the fields to fill in "
        f"marked {PLACEHOLDER} and the optional ones commented out, and draft: true. "
        "Prints where it is and where to preview it.",
    )
    new.add_argument("type", metavar="TYPE", help="the content type's slug, e.g. events")
    new.add_argument(
        "--topic", action="append", required=True, metavar="TOPIC",
        help="a topic's slug (repeat for several; the file goes in the first one's folder)",
    )  # fmt: skip
    new.add_argument("--title", required=True, help="the item's title")
    new.add_argument("--config", default=DEFAULT_CONFIG, metavar="DIR",
                     help=f"the content folder (default: {DEFAULT_CONFIG})")  # fmt: skip
    new.add_argument(
        "--at", metavar="WHEN", help="when it is published, e.g. 2026-12-03T09:00 (the site's "
        "zone unless given; later than now: scheduled); default: now",
    )  # fmt: skip
    new.add_argument("--summary", help="its summary (default: a placeholder)")
    new.add_argument("--url", help="its own page on the website (default: a placeholder)")
    new.add_argument("--start", metavar="WHEN", help="an event's start (default: a placeholder)")
    new.add_argument(
        "--publish", action="store_true",
        help="no draft: true (then --summary, --url and, for events, --start are needed)",
    )  # fmt: skip
    schema = commands.add_parser(
        "schema",
        help="print the content files' JSON Schema (for editors' editors and CI)",
        description="The JSON Schema (draft 2020-12) of one content file, made from the "
        "tables `check` uses. Save it beside the content as "
        f"{editor_schema.FILE_NAME} and name it on each file's first line: "
        + editor_schema.MODELINE.format(editor_schema.FILE_NAME),
    )
    schema.add_argument("out", nargs="?", metavar="OUT", help="write it to OUT (default: print)")
    preview = commands.add_parser(
        "preview",
        help="serve the content as it will be, drafts and scheduled items shown and marked",
        description="A preview for editors: every page, feed, calendar and embed as "
        "subscribers will get them, drafts and scheduled items included (their titles "
        "marked), reloaded on every save. It tells no hub, sends nothing and is marked "
        "noindex; keep it on your own machine.",
    )
    preview.add_argument("--config", metavar="DIR", help="the content folder (SYNDICATE_CONFIG)")
    preview.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    preview.add_argument(
        "--port", type=int, default=PREVIEW_PORT,
        help=f"port to listen on, 0: any free port (default {PREVIEW_PORT})",
    )  # fmt: skip
    build = commands.add_parser(
        "build", help="write every representation (and its .gz) under OUT, for static hosting"
    )
    build.add_argument("--config", metavar="DIR", help="the content folder (SYNDICATE_CONFIG)")
    build.add_argument(
        "--public-url",
        metavar="URL",
        help="public base URL the files will be served from (SYNDICATE_PUBLIC_URL; required "
        "unless the site sets feeds_url)",
    )
    build.add_argument(
        "--nginx-listen",
        default="80",
        metavar="LISTEN",
        help="the listen value of OUT/_nginx.conf's server (default 80)",
    )
    build.add_argument("out", metavar="OUT", help="the folder to write into")
    nginx = commands.add_parser(
        "nginx-config",
        help="print an nginx configuration for a caching proxy in front of the workers",
        description="Prints configuration for nginx's http block: a cache keyed by path and "
        "encoding that keeps the workers' headers and freshness rules (docs/deployment.md).",
    )
    nginx.add_argument(
        "--upstream",
        action="append",
        metavar="HOST:PORT",
        help="a worker address (repeat for several machines; default 127.0.0.1:8080)",
    )
    nginx.add_argument("--listen", default="80", help="nginx's listen value (default 80)")
    nginx.add_argument(
        "--server-name",
        help="server_name: the host clients ask for (default: the host of "
        "SYNDICATE_PUBLIC_URL, else _, which another default_server, such as Debian's "
        "default site, takes precedence over)",
    )
    nginx.add_argument(
        "--cache-dir", default="/var/cache/nginx/syndicate", help="where nginx keeps the cache"
    )
    nginx.add_argument("--cache-size", default="1g", help="the cache's max_size (default 1g)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "nginx-config":
        print(_nginx_config(args, parser), end="")
        return 0
    if args.command == "schema":
        return _schema(args.out)
    if args.command == "new":
        config = Path(args.config)
        if not is_readable_dir(config):
            parser.error(f"{config} is not a readable folder")
        return _new(args, config, parser)
    if args.command == "check":
        config = Path(args.config)
        if not is_readable_dir(config):
            parser.error(f"{config} is not a readable folder")
        return _check(config, args.record)
    if args.command == "forget":
        return _forget(args, Path(args.config), parser)
    try:
        settings = Settings.from_env(
            config=Path(args.config) if args.config else None,
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
            workers=_workers(getattr(args, "workers", None)),
            public_url=_public_url(getattr(args, "public_url", None)),
            export_dir=Path(args.export) if getattr(args, "export", None) else None,
        )
    except SettingError as error:
        parser.error(str(error))
    if not is_readable_dir(settings.config):
        parser.error(f"{settings.config} is not a readable folder")
    if args.command == "preview":
        settings = _preview_settings(settings)
    try:
        if args.command == "build":
            return _build(settings, Path(args.out), args.nginx_listen)
        if settings.workers > 1:
            from syndicate.web.pool import run_pool

            load_catalog(settings.config)  # invalid content: reported once, before any worker
            return run_pool(settings)
        from syndicate.web import run  # aiohttp only when serving

        run(settings)
    except ContentError as error:
        _report(error, settings.config)
        return 1
    except NoPublicURL as error:
        parser.error(str(error))
    except OSError as error:  # e.g. the port is taken
        print(f"syndicate: {error.strerror or error}", file=sys.stderr)
        return 1
    return 0


def _new(args: argparse.Namespace, config: Path, parser: argparse.ArgumentParser) -> int:
    """Write a new item's file (newitem.py), then check the whole folder with it: a file
    that would make the content invalid is taken back."""
    now = datetime.now(UTC)
    try:
        catalog = load_catalog(config, now)
    except ContentError as error:
        _report(error, config)
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
        _report(error, config)
        print(f"Nothing written: {target} would not be valid.", file=sys.stderr)
        return 1
    preview = f"http://127.0.0.1:{PREVIEW_PORT}{topic_page_path(request.topics[0])}"
    state = "a draft" if request.draft else "published" if at is None or at <= now else "scheduled"
    print(f"wrote {target}: {item.id} ({state})")
    print(f"See it: `make preview` (or `.venv/bin/syndicate preview`), then open {preview}")
    if request.draft:
        print(f"Publish it: replace every {PLACEHOLDER}, then delete the line 'draft: true'.")
    return 0


def _schema(out: str | None) -> int:
    data = editor_schema.content_schema_json()
    if out is None:
        sys.stdout.buffer.write(data)
        return 0
    replace_file(Path(out), data)
    print(f"wrote {out}")
    return 0


def _preview_settings(settings: Settings) -> Settings:
    """A preview: one process, links to itself, no state, no export, reloaded on every save."""
    return replace(
        settings, preview=True, workers=1, public_url=None, state_dir=None, export_dir=None,
        watch=True,
    )  # fmt: skip


def _nginx_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    upstreams = args.upstream or ["127.0.0.1:8080"]
    server_name = args.server_name or _public_host() or "_"
    for value in [*upstreams, args.listen, server_name, args.cache_dir, args.cache_size]:
        if not value or any(c in value for c in ";{}#\"'\n\r") or value != value.strip():
            parser.error(f"{value!r} cannot go into an nginx configuration")
    tier = CacheTier(upstreams, args.listen, server_name, args.cache_dir, args.cache_size)
    return cache_tier(tier)


def _public_host() -> str | None:
    """The host name of SYNDICATE_PUBLIC_URL, if it is set and valid."""
    from urllib.parse import urlsplit

    try:
        public = Settings.from_env().public_url
    except SettingError:
        return None
    return urlsplit(public).hostname if public else None


def _workers(count: int | None) -> int | None:
    if count is not None and not 1 <= count <= 64:
        raise SettingError(f"--workers {count}: expected a number of processes from 1 to 64")
    return count


def _public_url(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return parse_url_setting(text)
    except ValueError as error:
        raise SettingError(f"--public-url {text!r}: {error}") from error


def _report(error: ContentError, config: Path) -> None:
    for problem in error.problems:
        print(problem, file=sys.stderr)
    count = len(error.problems)
    print(f"{count} problem{'s' if count != 1 else ''} found in {config}", file=sys.stderr)


def _build(settings: Settings, out: Path, listen: str) -> int:
    """Write each representation to OUT/<path> (and OUT/<path>.gz), with the header fields
    they need for static hosts (`_headers`) and nginx (`_nginx.conf`): export.py."""
    with TerminalProgress() as report:
        snapshot = snapshot_for(settings, report=report)
        count = write_export(snapshot, settings, out, listen, report)
    print(
        f"wrote {count} representations to {out} (version {snapshot.version}), "
        f"with their headers in {out / HEADERS_FILE} and {out / NGINX_FILE}"
    )
    return 0


def _check(config: Path, keep_record: bool) -> int:
    now = datetime.now(UTC)
    record = read_record(config)
    if isinstance(record, Problem):
        _report(ContentError([record]), config)
        return 1
    try:
        with TerminalProgress() as report:
            catalog = load_catalog(config, now, report=report, record=record)
    except ContentError as error:
        _report(error, config)
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
            print(f"Recorded in {path}" + (f": {_count(added, 'newly published item')}" if added
                  else "") + ". Commit it with the content.")  # fmt: skip
    problems = record_problems(path, data, kept, catalog, record)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(
            f"{_count(len(problems), 'published thing')} missing from {config}: "
            "subscribers are not told (see docs/content.md, 'Removing and renaming')",
            file=sys.stderr,
        )
        return 1
    return 0


def _forget(args: argparse.Namespace, config: Path, parser: argparse.ArgumentParser) -> int:
    """Take removed items, gone topics and types out of the record."""
    if not (args.ids or args.topic or args.type):
        parser.error("name the items to forget (or --topic, --type)")
    record = read_record(config)
    if record is None or isinstance(record, Problem):
        parser.error(f"{config / RECORD_FILE}: " + (record.message if record else "no record"))
    try:
        catalog = load_catalog(config)
    except ContentError as error:
        _report(error, config)
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
