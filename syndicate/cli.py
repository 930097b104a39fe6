"""The command line. With editor_commands.py (check, new, forget), the only module that prints
and exits.

    syndicate check [DIR]                 validate the content and print a summary
    syndicate serve [--config DIR] ...    serve every feed over HTTP (--export DIR: and keep
                                          a static export of it for nginx)
    syndicate preview [--config DIR] ...  serve the content as it will be, drafts and scheduled
                                          items included and marked, on port 8081
    syndicate new TYPE --topic T --title "..."  a new item's file, a draft to fill in
    syndicate schema [OUT]                the content's JSON Schema, for editors' editors
    syndicate build [--config DIR] OUT    write every representation to files
    syndicate nginx-config [--upstream H:P]  nginx as a caching proxy in front of the workers
    syndicate email status|release        the email outbox: counts; send again what was set aside

Exit codes: 0 success, 1 invalid content, 2 usage error (argparse's convention).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from syndicate import __version__, editor_commands, editor_schema
from syndicate.atomic import replace_file
from syndicate.build import NoPublicURL, snapshot_for
from syndicate.editor_commands import PREVIEW_PORT
from syndicate.export import HEADERS_FILE, NGINX_FILE, write_export
from syndicate.loader import load_catalog
from syndicate.nginx import CacheTier, Tls, cache_tier, certbot_paths
from syndicate.people.errors import DatabaseUnavailable
from syndicate.problems import ContentError
from syndicate.progress import TerminalProgress
from syndicate.published import FILE_NAME as RECORD_FILE
from syndicate.schema import PLACEHOLDER
from syndicate.settings import SETTINGS, SettingError, Settings, parse_url_setting
from syndicate.sources import is_readable_dir

DEFAULT_CONFIG = "feeds_config"


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
    email = commands.add_parser(
        "email",
        help="email updates' outbox: status, or release what was set aside",
        description="Reads the database serve uses (SYNDICATE_DATABASE_URL, or SQLite in "
        "SYNDICATE_STATE_DIR). Prints counts and the relay's words, never an address.",
    )
    email.add_argument(
        "action", choices=("status", "release"),
        help="status: counts and reasons; release: messages set aside go back in the queue",
    )  # fmt: skip
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
    nginx.add_argument(
        "--tls", action="store_true",
        help="serve https (http redirects there, but for certbot's challenges)",
    )  # fmt: skip
    nginx.add_argument("--tls-listen", default="443", help="the https listen value (default 443)")
    nginx.add_argument(
        "--certificate",
        help="with --tls: the certificate chain (default certbot's "
        "/etc/letsencrypt/live/SERVER_NAME/fullchain.pem)",
    )
    nginx.add_argument(
        "--certificate-key", help="with --tls: its key (default certbot's privkey.pem beside it)"
    )
    nginx.add_argument(
        "--acme-root",
        help="serve certbot's challenges over http from this folder (certbot certonly "
        "--webroot -w FOLDER); with --tls, default /var/www/letsencrypt",
    )
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
        return editor_commands.new(args, config, parser)
    if args.command == "check":
        config = Path(args.config)
        if not is_readable_dir(config):
            parser.error(f"{config} is not a readable folder")
        return editor_commands.check(config, args.record)
    if args.command == "forget":
        return editor_commands.forget(args, Path(args.config), parser)
    if args.command == "email":
        from syndicate import mail_commands  # SQLAlchemy only for this command

        try:
            return mail_commands.run(args.action, Settings.from_env())
        except SettingError as error:
            parser.error(str(error))
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
        if args.command != "build":
            settings.check_startup()
        if args.command == "build":
            return _build(settings, Path(args.out), args.nginx_listen)
        if settings.workers > 1:
            from syndicate.web.pool import run_pool

            load_catalog(settings.config)  # invalid content: reported once, before any worker
            if settings.needs_database:
                from syndicate.people.database import open_database

                # Migrated once, and a database that cannot be used reported once.
                open_database(settings.database_url, settings.state_dir).dispose()
            return run_pool(settings)
        from syndicate.web import run  # aiohttp only when serving

        run(settings)
    except ContentError as error:
        editor_commands.report_problems(error, settings.config)
        return 1
    except NoPublicURL as error:
        parser.error(str(error))
    except (SettingError, DatabaseUnavailable, OSError) as error:  # OSError: a port taken
        return refused(error)
    return 0


def refused(error: SettingError | DatabaseUnavailable | OSError) -> int:
    """Say why `serve` cannot start, in one line on stderr; its exit status (2: a setting
    to change). For `serve` and for each worker of a pool alike."""
    if isinstance(error, SettingError | DatabaseUnavailable):
        line = str(error)
    else:
        reason = error.strerror or str(error)
        line = f"{reason}: {error.filename}" if error.filename else reason
    print(f"syndicate: {line}", file=sys.stderr)
    return 2 if isinstance(error, SettingError) else 1


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
    tls = None
    if args.tls:
        if server_name == "_" and not (args.certificate and args.certificate_key):
            parser.error("--tls needs --server-name (certbot's files are named by it)")
        certificate, key = certbot_paths(server_name)
        tls = Tls(args.tls_listen, args.certificate or certificate, args.certificate_key or key)
    acme_root = args.acme_root or ("/var/www/letsencrypt" if tls else None)
    values = [*upstreams, args.listen, server_name, args.cache_dir, args.cache_size]
    if tls is not None:
        values += [tls.listen, tls.certificate, tls.key]
    if acme_root is not None:
        values.append(acme_root)
    for value in values:
        if not value or any(c in value for c in ";{}#\"'\n\r$") or value != value.strip():
            parser.error(f"{value!r} cannot go into an nginx configuration")
    tier = CacheTier(
        upstreams, args.listen, server_name, args.cache_dir, args.cache_size, tls, acme_root
    )
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
