"""Settings -> snapshot: what `serve` renders on every content change and `build` writes out.

One place applies the service settings to the content (the public URL overriding the site's
`feeds_url`, the cache lifetime that RSS's ttl must agree with), so the files `syndicate
build` writes are byte for byte what `syndicate serve` sends.
"""

from __future__ import annotations

from dataclasses import replace

from syndicate.loader import load_catalog
from syndicate.settings import Settings
from syndicate.snapshot import Snapshot, build_snapshot


def snapshot_for(settings: Settings) -> Snapshot:
    """Load the content of `settings.config` and render every representation (blocking).

    ContentError (every problem, located) if the content is invalid.
    """
    catalog = load_catalog(settings.config)
    if settings.public_url:
        catalog = replace(catalog, site=replace(catalog.site, feeds_url=settings.public_url))
    return build_snapshot(catalog, settings.max_age)
