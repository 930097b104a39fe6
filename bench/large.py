"""Large catalogs for `make bench`: build time, one-item edit time and peak memory.

    python bench/large.py FOLDER      (content written by bench/generate.py)

Runs in a fresh process as `syndicate serve` starts: loads and renders everything (the
collector paused, as `syndicate.build` does), then edits one item's title (the newest
item's: it is in the most feeds) and rebuilds as a reload does, with the served snapshot
alive and the load cache kept. Prints one JSON object: load and render seconds of the
first build, seconds of the edit (load and render), representations rendered by the edit,
items, representations, the peak resident memory (MB) with two snapshots alive, and the
resident memory before loading (the interpreter and libraries), so that memory per item
can be told apart from the process's fixed cost.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from syndicate.build import gc_paused
from syndicate.loader import LoadCache, load_catalog
from syndicate.snapshot import build_snapshot

REFRESH = 300


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def edit_newest(folder: Path, newest: str) -> None:
    for path in sorted((folder / "items").iterdir()):
        text = path.read_text()
        if f"id: {newest}\n" in text:
            at = text.index("  title: ", text.index(f"id: {newest}\n")) + len("  title: ")
            path.write_text(text[:at] + "Edited " + text[at:])
            return
    raise SystemExit(f"{newest} not found")


def main() -> None:
    folder = Path(sys.argv[1])
    baseline = peak_mb()
    now = datetime.now(UTC)  # as serve builds: views and calendar windows as of now
    cache = LoadCache()  # as the service keeps it between reloads
    with gc_paused():
        started = time.perf_counter()
        catalog = load_catalog(folder, now, cache)
        loaded = time.perf_counter()
        served = build_snapshot(catalog, REFRESH, now)
        rendered = time.perf_counter()
    edit_newest(folder, max(catalog.items, key=lambda item: item.published).id)
    with gc_paused():
        edit_started = time.perf_counter()
        rebuilt = build_snapshot(load_catalog(folder, now, cache), REFRESH, now, served)
        edited = time.perf_counter()
    print(json.dumps({
        "load": loaded - started,
        "render": rendered - loaded,
        "build": rendered - started,
        "edit": edited - edit_started,
        "rendered": rebuilt.rendered,
        "items": len(catalog.items),
        "topics": len(catalog.topics),
        "representations": len(served.representations),
        "rss_mb": peak_mb(),
        "baseline_mb": baseline,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
