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
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from syndicate import urls
from syndicate.headers import CORS, PREFLIGHT, cache_policies, representation_fields
from syndicate.progress import Report, quiet
from syndicate.settings import Settings
from syndicate.snapshot import Representation, Snapshot

HEADERS_FILE = "_headers"
NGINX_FILE = "_nginx.conf"
# Fields whose value differs from file to file: each gets a map from path to value.
MAPPED = ("Cache-Control", "Link", "Content-Security-Policy")


def write_export(
    snapshot: Snapshot, settings: Settings, out: Path, listen: str = "80", report: Report = quiet
) -> int:
    """Write the files, `_headers` and `_nginx.conf` under `out`; the number of files."""
    policies = cache_policies(settings)
    fields: dict[str, dict[str, str]] = {}
    total = len(snapshot.representations)
    for done, (path, rep) in enumerate(snapshot.representations.items(), 1):
        report("writing files", done, total)
        _write(out / urls.file_path(path), rep)
        fields[path] = representation_fields(rep, policies)
    (out / HEADERS_FILE).write_text(headers_file(fields), encoding="utf-8")
    (out / NGINX_FILE).write_text(nginx_static(fields, out.resolve(), listen), encoding="utf-8")
    return len(snapshot.representations)


def _write(target: Path, rep: Representation) -> None:
    """Write the file and its .gz beside it under temporary names, then rename them into
    place: a server reading the folder meanwhile (nginx's open_file_cache keeps files
    open) sees the old file or the new one, never a file being rewritten."""
    target.parent.mkdir(parents=True, exist_ok=True)
    moment = rep.last_modified.timestamp()
    for file, data in ((target, rep.body), (target.with_name(target.name + ".gz"), rep.gzip_body)):
        aside = file.with_name(f".{file.name}.tmp")
        aside.write_bytes(data)
        os.utime(aside, (moment, moment))
        aside.replace(file)


def _static_fields(fields: dict[str, str]) -> dict[str, str]:
    """What a static host must be told: everything but what it derives from the file."""
    return {k: v for k, v in fields.items() if k not in ("Last-Modified", "Vary")}


def headers_file(by_path: dict[str, dict[str, str]]) -> str:
    lines = ["# Response headers for static hosts (Netlify, Cloudflare Pages...): syndicate build"]
    for path in sorted(by_path):
        lines.append(path)
        lines += [f"  {name}: {value}" for name, value in _static_fields(by_path[path]).items()]
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


def _map(variable: str, values: Iterable[tuple[str, str]]) -> str:
    entries = "".join(f"    {_quoted(path)} {_quoted(value)};\n" for path, value in values)
    return f'map $uri ${variable} {{\n    default "";\n{entries}}}\n'


def nginx_static(by_path: dict[str, dict[str, str]], root: Path, listen: str) -> str:
    by_extension, exceptions = _types(by_path)
    maps = "\n".join(
        _map(
            "syndicate_" + name.lower().replace("-", "_"),
            sorted(
                (_uri(path), fields[name]) for path, fields in by_path.items() if name in fields
            ),
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
    # Files stay open between requests; `syndicate build` renames new files into place,
    # so an open file is never one being rewritten.
    open_file_cache max=10000 inactive=60s;
    open_file_cache_valid 30s;
    charset off;
    gzip_static on;
    types {{
{types}    }}
    default_type "application/octet-stream";

    location = /{HEADERS_FILE} {{ return 404; }}
    location = /{NGINX_FILE} {{ return 404; }}
{special}
    location / {{
        if ($request_method = OPTIONS) {{
{preflight}            return 204;
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
