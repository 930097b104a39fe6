"""The static export (`syndicate build OUT`): every representation as a file, and the header
fields each needs, for static hosts and for nginx.

* `OUT/<path>` and `OUT/<path>.gz`: the bytes `serve` sends, identity and gzip; each
  file's modification time is its Last-Modified, so a file server's Last-Modified agrees
  with the service's (`/` is `index.html`, `/topics/x/` is `topics/x/index.html`).
* `OUT/_headers`: one block per file with every field the service sends but its ETag
  (Content-Type, Cache-Control, Link, CORS, nosniff, a page's CSP), in the format of
  Netlify, Cloudflare Pages and others (exact paths only, no wildcards: hosts merge the
  values of several matching rules).
* `OUT/_nginx.conf`: for nginx's http block, a server for OUT that sends the same fields
  (maps from path to value; gzip_static for the .gz files; CORS preflight as the service
  answers it). nginx makes its own ETags (mtime and size): they differ in form from the
  service's, and answer If-None-Match all the same.
* `OUT/_redirects`: the former URLs of renamed topics and types (their `aliases`), each
  with where it is now and 301, in the same hosts' format; `_nginx.conf` answers them too.
* `OUT/.syndicate-export.json`: what was written (ETag and Last-Modified of each path), so
  the next export into the same folder, `syndicate build` again or `serve --export` at
  every reload, writes only what changed and deletes what is gone (`sync_export`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from syndicate import urls
from syndicate.atomic import replace_file
from syndicate.fediverse import documents as fediverse
from syndicate.headers import CORS, PREFLIGHT, cache_policies, representation_fields
from syndicate.progress import Report, quiet
from syndicate.settings import Settings
from syndicate.snapshot import Representation, Snapshot

HEADERS_FILE = "_headers"
REDIRECTS_FILE = "_redirects"
NGINX_FILE = "_nginx.conf"
MANIFEST_FILE = ".syndicate-export.json"  # what the last sync wrote: path -> ETag, date
# Fields whose value differs from file to file: each gets a map from path to value.
MAPPED = ("Cache-Control", "Link", "Content-Security-Policy")


@dataclass(frozen=True)
class Synced:
    """What a sync changed in the export."""

    written: int  # representations written (each as its file and its .gz)
    removed: int  # representations gone from the snapshot, whose files were deleted
    config_changed: bool  # `_headers` or `_nginx.conf` rewritten (nginx then needs a reload)


def write_export(
    snapshot: Snapshot, settings: Settings, out: Path, listen: str = "80", report: Report = quiet
) -> int:
    """Write the files, `_headers` and `_nginx.conf` under `out`; the number of files."""
    sync_export(snapshot, settings, out, listen, report)
    return sum(1 for rep in snapshot.representations.values()
               if rep.format not in fediverse.FORMATS)  # fmt: skip


def sync_export(
    snapshot: Snapshot, settings: Settings, out: Path, listen: str = "80", report: Report = quiet
) -> Synced:
    """Bring the export in `out` in line with `snapshot`, writing only what changed since
    the export its manifest (`MANIFEST_FILE`) records: a file whose ETag and Last-Modified
    are those recorded, and which is there, is left alone; files of representations that
    are gone are deleted; `_headers` and `_nginx.conf` are replaced only when their text
    changes. Every file is renamed into place, the manifest last: a sync interrupted at any
    point is completed by the next one. OSError if `out` cannot be written."""
    policies = cache_policies(settings)
    recorded = _read_manifest(out)
    manifest: dict[str, str] = {}
    fields: dict[str, dict[str, str]] = {}
    written = 0
    # The fediverse's documents are left out: a follow needs the service's inbox, and a
    # static host can neither negotiate an actor nor answer WebFinger's query.
    exported = {
        path: rep for path, rep in snapshot.representations.items()
        if rep.format not in fediverse.FORMATS
    }  # fmt: skip
    total = len(exported)
    for done, (path, rep) in enumerate(exported.items(), 1):
        report("writing files", done, total)
        target = out / urls.file_path(path)
        stamp = manifest[path] = f"{rep.etag} {rep.last_modified.timestamp():.0f}"
        if recorded.get(path) != stamp or not target.exists():
            _write(target, rep)
            written += 1
        fields[path] = representation_fields(rep, policies)
    gone = recorded.keys() - manifest.keys()
    for path in gone:
        target = out / urls.file_path(path)
        target.unlink(missing_ok=True)
        target.with_name(target.name + ".gz").unlink(missing_ok=True)
    moved = redirects(snapshot)
    changed = _replace_text(out / HEADERS_FILE, headers_file(fields))
    changed |= _replace_text(out / REDIRECTS_FILE, redirects_file(moved))
    changed |= _replace_text(out / NGINX_FILE, nginx_static(fields, out.resolve(), listen, moved))
    _replace_text(out / MANIFEST_FILE, json.dumps(manifest, sort_keys=True, indent=0))
    return Synced(written, len(gone), changed)


def _read_manifest(out: Path) -> dict[str, str]:
    """What the last sync wrote (path -> "ETag Last-Modified"); empty if none can be read
    (then every file is written again)."""
    try:
        recorded = json.loads((out / MANIFEST_FILE).read_bytes())
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(recorded, dict):
        return {}
    return {k: v for k, v in recorded.items() if isinstance(k, str) and isinstance(v, str)}


def _replace_text(target: Path, text: str) -> bool:
    """Write `text` to `target` (renamed into place) unless it holds it already; whether
    it was written."""
    data = text.encode("utf-8")
    try:
        if target.read_bytes() == data:
            return False
    except OSError:
        pass
    replace_file(target, data)
    return True


def _write(target: Path, rep: Representation) -> None:
    """Write the file and its .gz beside it under temporary names, then rename them into
    place: a server reading the folder meanwhile (nginx's open_file_cache keeps files
    open) sees the old file or the new one, never a file being rewritten."""
    moment = rep.last_modified.timestamp()
    for file, data in ((target, rep.body), (target.with_name(target.name + ".gz"), rep.gzip_body)):
        replace_file(file, data, mtime=moment)


def _static_fields(fields: dict[str, str]) -> dict[str, str]:
    """What a static host must be told: everything but what it derives from the file."""
    return {k: v for k, v in fields.items() if k not in ("Last-Modified", "Vary")}


def headers_file(by_path: dict[str, dict[str, str]]) -> str:
    lines = ["# Response headers for static hosts (Netlify, Cloudflare Pages...): syndicate build"]
    for path in sorted(by_path):
        lines.append(path)
        lines += [f"  {name}: {value}" for name, value in _static_fields(by_path[path]).items()]
    return "\n".join(lines) + "\n"


def redirects(snapshot: Snapshot) -> list[tuple[str, str]]:
    """(former path, absolute URL now) for every path of a renamed topic or type."""
    site, moves = snapshot.catalog.site, snapshot.moves
    if not moves:
        return []
    found = {
        former: urls.absolute(site, path)
        for path in snapshot.representations
        for former in urls.former_paths(path, moves)
        if former not in snapshot.representations
    }
    return sorted(found.items())


def redirects_file(moved: list[tuple[str, str]]) -> str:
    lines = ["# Former URLs of renamed topics and types, moved for good: syndicate build"]
    lines += [f"{former} {target} 301" for former, target in moved]
    return "\n".join(lines) + "\n"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _types(by_path: dict[str, dict[str, str]]) -> tuple[dict[str, str], dict[str, str]]:
    """The media type of each extension (its most common one), and the paths whose type
    differs from their extension's (feeds.json beside the JSON Feeds)."""
    counts: dict[str, Counter[str]] = {}
    for path, fields in by_path.items():
        counts.setdefault(_extension(path), Counter())[fields["Content-Type"]] += 1
    by_extension = {ext: counter.most_common(1)[0][0] for ext, counter in counts.items()}
    exceptions = {
        path: fields["Content-Type"]
        for path, fields in by_path.items()
        if fields["Content-Type"] != by_extension[_extension(path)]
    }
    return by_extension, exceptions


def _extension(path: str) -> str:
    name = urls.file_path(path).rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1] if "." in name else ""


def _map(variable: str, values: Iterable[tuple[str, str]], default: str = "") -> str:
    entries = "".join(f"    {_quoted(path)} {_quoted(value)};\n" for path, value in values)
    return f"map $uri ${variable} {{\n    default {_quoted(default)};\n{entries}}}\n"


def _map_default(name: str, by_path: dict[str, dict[str, str]]) -> str:
    """What a path the map does not name gets: for Cache-Control the most common policy
    (a feed's), so a file a live export adds before nginx reloads its configuration is
    still sent with one; nothing for the other fields."""
    if name != "Cache-Control":
        return ""
    found = Counter(fields[name] for fields in by_path.values() if name in fields)
    return found.most_common(1)[0][0] if found else ""


def nginx_static(
    by_path: dict[str, dict[str, str]],
    root: Path,
    listen: str,
    moved: list[tuple[str, str]],
) -> str:
    by_extension, exceptions = _types(by_path)
    maps = "\n".join(
        _map(
            "syndicate_" + name.lower().replace("-", "_"),
            sorted(
                (_uri(path), fields[name]) for path, fields in by_path.items() if name in fields
            ),
            _map_default(name, by_path),
        )
        for name in MAPPED
    )
    types = "".join(
        f"        {_quoted(t)} {ext};\n" for ext, t in sorted(by_extension.items()) if ext
    )
    cors = "".join(
        f"        add_header {name} {_quoted(value)} always;\n" for name, value in CORS.items()
    )
    preflight = "".join(
        f"            add_header {name} {_quoted(value)} always;\n"
        for name, value in PREFLIGHT.items()
    )
    maps += "\n" + _map("syndicate_moved", moved)
    special = "".join(
        f"    location = {_uri(path)} {{\n        types {{ }}\n        default_type {_quoted(t)};\n"
        f"{_field_headers('        ')}{cors}        gzip_static on;\n    }}\n"
        for path, t in sorted(exceptions.items())
    )
    return f"""# syndicate: nginx serving a static export (`syndicate build`) with the service's
# headers. Include it in nginx's http block. `root` is where the export was written:
# change it if the files move.

map_hash_max_size 262144;
map_hash_bucket_size 256;

{maps}
server {{
    listen {listen};
    root {_quoted(str(root))};
    index index.html;
    etag on;
    if_modified_since before;
    # Files stay open between requests; new files are renamed into place, so an open file
    # is never one being rewritten, and each is looked at again every second, so a live
    # export's change (`serve --export`) is served within a second of being written.
    open_file_cache max=10000 inactive=60s;
    open_file_cache_valid 1s;
    charset off;
    gzip_static on;
    types {{
{types}    }}
    default_type "application/octet-stream";

    location = /{HEADERS_FILE} {{ return 404; }}
    location = /{NGINX_FILE} {{ return 404; }}
    location = /{REDIRECTS_FILE} {{ return 404; }}
    location = /{MANIFEST_FILE} {{ return 404; }}
{special}
    location / {{
        if ($request_method = OPTIONS) {{
{preflight}            return 204;
        }}
        if ($syndicate_moved) {{  # a former URL of a renamed topic or type
            return 301 $syndicate_moved;
        }}
{_field_headers("        ")}{cors}    }}
}}
"""


def _field_headers(indent: str) -> str:
    lines = [
        f'{indent}add_header Vary "Accept-Encoding";\n',
        f'{indent}add_header X-Content-Type-Options "nosniff";\n',
    ]
    lines += [
        f"{indent}add_header {name} $syndicate_{name.lower().replace('-', '_')};\n"
        for name in MAPPED
    ]
    return "".join(lines)


def _uri(path: str) -> str:
    """The URI nginx sees for a file: `/topics/x/` is served as `/topics/x/index.html`."""
    return path + "index.html" if path.endswith("/") else path
