"""`syndicate build OUT` serves, from real nginx with the `_nginx.conf` it writes (used as it
is), every representation with the bytes and header fields `syndicate serve` sends (the
ETag's form aside), and answers conditional requests with 304. `_headers` (for static
hosts) lists the same fields. Bounded: one request per representation and encoding.
"""

from __future__ import annotations

import http.client
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CONTENT
from tests.live import ROOT, LiveServer, free_port, live_server, owned_by, python_for, unprivileged
from tests.nginx import SERVICE_USER, reachable_folder, running_nginx

# Fields each server writes for itself; the ETag is compared by what it does, not its form.
OWN = {"date", "server", "connection", "keep-alive", "etag", "accept-ranges"}


@dataclass
class Export:
    out: Path
    nginx: str
    service: LiveServer


def get(
    url: str, path: str, method: str = "GET", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path, headers={"Accept-Encoding": "identity", **headers})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def export() -> Iterator[Export]:
    # nginx's workers run as www-data, as on Debian: the export lies where they can reach it
    # (pytest's own folders are 0700), written by `build` under the usual umask.
    with reachable_folder("syndicate-export-") as folder:
        yield from _export(folder)


def _export(folder: Path) -> Iterator[Export]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    out = owned_by(folder / "out", SERVICE_USER)  # built by the service's user, read by nginx's
    subprocess.run(
        [python_for(SERVICE_USER), "-m", "syndicate", "build", "--config", str(CONTENT), "--public-url", url,
         "--nginx-listen", f"127.0.0.1:{port}", str(out)],
        check=True, capture_output=True, cwd=ROOT, **unprivileged(SERVICE_USER),
    )  # fmt: skip
    with (
        live_server(CONTENT, folder / "service.log", as_user=SERVICE_USER,
                    SYNDICATE_PUBLIC_URL=url) as service,
        running_nginx(out / "_nginx.conf", folder / "nginx", port) as nginx,
    ):  # fmt: skip
        yield Export(out, nginx, service)


CONFIGURATION = ("_headers", "_nginx.conf", "_redirects", ".syndicate-export.json")


def exported_paths(out: Path) -> list[str]:
    """Every representation's path, from the files written (index.html: its folder)."""
    paths = []
    for file in sorted(out.rglob("*")):
        name = file.relative_to(out).as_posix()
        if file.is_dir() or name.endswith(".gz") or name in CONFIGURATION:
            continue
        paths.append("/" + name.removesuffix("index.html"))
    return paths


def assert_served_alike(service: str, nginx: str, paths: list[str]) -> None:
    """Each of `paths`, in both encodings, has the service's status, bytes and header fields
    (those each server writes for itself aside) when nginx serves it."""
    for path in paths:
        for encoding in ("identity", "gzip"):
            s_status, s_fields, s_body = get(service, path, **{"Accept-Encoding": encoding})
            n_status, n_fields, n_body = get(nginx, path, **{"Accept-Encoding": encoding})
            assert s_status == n_status == 200, path
            assert n_body == s_body, (path, encoding)
            shared = {k: v for k, v in s_fields.items() if k not in OWN}
            assert {k: v for k, v in n_fields.items() if k not in OWN} == shared, (path, encoding)


def test_every_representation_has_the_service_bytes_and_fields(export: Export):
    paths = exported_paths(export.out)
    assert len(paths) > 100
    assert_served_alike(export.service.url, export.nginx, paths)


def test_conditional_requests_get_304_from_nginx(export: Export):
    for path in ("/feed.atom", "/topics/harm-reduction/feed.ics", "/"):
        fields = get(export.nginx, path)[1]
        assert get(export.nginx, path, **{"If-None-Match": fields["etag"]})[0] == 304
        assert get(export.nginx, path, **{"If-Modified-Since": fields["last-modified"]})[0] == 304
        changed = get(export.nginx, path, **{"If-None-Match": '"something-else"'})
        assert changed[0] == 200


def test_a_cors_preflight_gets_the_service_answer(export: Export):
    asked = {"Origin": "https://partner.example", "Access-Control-Request-Method": "GET",
             "Access-Control-Request-Headers": "if-none-match"}  # fmt: skip
    s_status, s_fields, _ = get(export.service.url, "/feed.json", "OPTIONS", **asked)
    n_status, n_fields, _ = get(export.nginx, "/feed.json", "OPTIONS", **asked)
    assert s_status == n_status == 204
    cors = {k: v for k, v in s_fields.items() if k.startswith("access-control-")}
    assert {k: v for k, v in n_fields.items() if k.startswith("access-control-")} == cors


def test_the_export_headers_file_lists_the_service_fields_of_every_file(export: Export):
    blocks: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in (export.out / "_headers").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("  "):
            name, _, value = line.strip().partition(": ")
            current[name.lower()] = value
        else:
            current = blocks[line] = {}
    assert set(blocks) == set(exported_paths(export.out))
    for path in ("/", "/feed.atom", "/feeds.json", "/embed/v1.js", "/topics/harm-reduction/"):
        _, fields, _ = get(export.service.url, path)
        expected = {k: v for k, v in fields.items()
                    if k not in OWN | {"last-modified", "vary", "content-length"}}  # fmt: skip
        assert blocks[path] == expected, path


def test_the_configuration_files_are_not_served(export: Export):
    for name in CONFIGURATION:
        assert get(export.nginx, "/" + name)[0] == 404, name


# Exporting again into the same folder (`syndicate build` again, `serve --export` at every
# reload): only what changed is written.


def sync(content: Path, out: Path):  # type: ignore[no-untyped-def]
    from syndicate.build import snapshot_for
    from syndicate.export import sync_export
    from syndicate.settings import Settings

    settings = Settings(config=content, public_url="https://feeds.example.org")
    snapshot = snapshot_for(settings, None)
    return snapshot, sync_export(snapshot, settings, out)


def files(out: Path) -> dict[str, tuple[int, bytes]]:
    return {
        p.relative_to(out).as_posix(): (p.stat().st_ino, p.read_bytes())
        for p in out.rglob("*") if p.is_file()
    }  # fmt: skip


def test_exporting_again_writes_only_what_changed_and_deletes_what_is_gone(tmp_path: Path):
    import shutil

    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    out = tmp_path / "out"
    first, synced = sync(content, out)
    assert synced.written == len(first.representations) and synced.config_changed
    before = files(out)
    _, again = sync(content, out)
    assert (again.written, again.removed, again.config_changed) == (0, 0, False)
    assert files(out) == before  # not one file replaced (same inodes)
    events = content / "items" / "harm-reduction" / "events.yaml"
    text = events.read_text()
    start = text.index("  - id: drugs-in-documentary-films")
    end = text.index("  - id:", start + 10) if "  - id:" in text[start + 10 :] else len(text)
    events.write_text(text[:start] + text[end:])  # an event deleted outright
    edited, synced = sync(content, out)
    after = files(out)
    changed = {name for name in after if name in before and after[name] != before[name]}
    written = {
        p
        for p, rep in edited.representations.items()
        if rep.etag != first.representations.get(p, rep).etag
    }
    assert synced.written < len(edited.representations)
    assert not (out / "items" / "drugs-in-documentary-films.ics").exists()  # gone
    gone = first.representations.keys() - edited.representations.keys()
    assert "/items/drugs-in-documentary-films.ics" in gone and synced.removed == len(gone)
    from syndicate import urls as paths

    assert not any((out / paths.file_path(p)).exists() for p in gone)
    from syndicate import urls

    assert {urls.file_path(p) for p in written} <= changed


def test_an_export_whose_manifest_is_lost_is_written_again_whole(tmp_path: Path):
    out = tmp_path / "out"
    first, _ = sync(CONTENT, out)
    (out / ".syndicate-export.json").write_text("{not json")
    _, synced = sync(CONTENT, out)
    assert synced.written == len(first.representations)


def test_a_sync_interrupted_part_way_is_completed_by_the_next(tmp_path: Path, monkeypatch):
    import shutil

    from syndicate import export

    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    out = tmp_path / "out"
    sync(content, out)
    site = content / "site.yaml"
    site.write_text(site.read_text().replace("title: ", "title: Renamed ", 1))  # every file
    real, calls = export.replace_file, []

    def dies_part_way(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) > 40:
            raise OSError(28, "No space left on device")  # as a SIGKILL would stop it
        return real(*args, **kwargs)

    monkeypatch.setattr(export, "replace_file", dies_part_way)
    with pytest.raises(OSError):
        sync(content, out)
    monkeypatch.setattr(export, "replace_file", real)
    sync(content, out)
    fresh = tmp_path / "fresh"
    sync(content, fresh)
    ours = {k: v[1] for k, v in files(out).items() if k != ".syndicate-export.json"}
    theirs = {k: v[1] for k, v in files(fresh).items() if k != ".syndicate-export.json"}
    assert ours.keys() == theirs.keys()
    assert [k for k in ours if ours[k] != theirs[k] and k != "_nginx.conf"] == []


def test_a_path_the_nginx_maps_do_not_name_yet_gets_the_feeds_cache_control(export: Export):
    import re

    conf = (export.out / "_nginx.conf").read_text()
    block = re.search(r"map \$uri \$syndicate_cache_control \{\n    default (\"[^\"]*\");", conf)
    assert block, "no Cache-Control map"
    _, fields, _ = get(export.service.url, "/feed.atom")
    assert block.group(1) == f'"{fields["cache-control"]}"'  # a live export's new archive page


def test_an_export_leaves_the_fediverse_out(tmp_path: Path):
    """A follow needs the service's inbox, and a static host can neither negotiate an actor
    nor answer WebFinger's query: the export holds none of it (docs/fediverse.md)."""
    from syndicate.build import snapshot_for
    from syndicate.export import sync_export
    from syndicate.settings import Settings
    from tests.fediverse import ALICE_PUBLIC

    settings = Settings(config=CONTENT, public_url="https://feeds.example.org", fediverse=True,
                        actors_key=ALICE_PUBLIC)  # fmt: skip
    snapshot = snapshot_for(settings, None)
    fediverse = [p for p in snapshot.representations if p.startswith(("/ap/", "/.well-known/"))]
    assert fediverse  # served by the service...
    out = tmp_path / "out"
    synced = sync_export(snapshot, settings, out)
    assert synced.written == len(snapshot.representations) - len(fediverse) - 1  # and NodeInfo
    names = set(files(out))
    assert not [n for n in names if n.startswith(("ap/", ".well-known/", "nodeinfo/"))]
    assert "_nginx.conf" in names and "feed.atom" in names
