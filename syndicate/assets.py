"""The static files the service serves beside the content, as snapshot documents: the embed
partners load (docs/embedding.md) and the stylesheet and script of our own pages.

* `/embed/v1.js`, the URL partners paste: a one-line module importing the script by its
  content hash. Cached for an hour (then revalidated with its ETag), so a fix inside
  version 1 reaches every partner page within the hour without the page changing.
* `/embed/v1.{hash}.js`, the script itself (`static/embed.js`): its URL changes with its
  bytes, so it is cached for a year as immutable.
* `/embed/v1.css` (`static/embed.css`), the stylesheet partners link in their page's head:
  it reserves the component's space before the script has run, so the page does not move
  when it loads. Cached like the stable script.

A change that would break a partner's page (an attribute renamed, a part removed) is a new
major version, `v2`, served beside `v1`.

* `/assets/pages.{hash}.css` and `/assets/pages.{hash}.js`: the feeds page's, topic pages'
  and iframe pages' style and behaviour (copy buttons, the embed builder), immutable. Files,
  not inline, so the pages can forbid inline script and style in their CSP. And
  `/assets/icon.{hash}.svg`, the pages' icon (a feed symbol), so browsers find one.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass
from importlib import resources

from syndicate import urls

MEDIA_TYPE = "text/javascript"
STYLE_MEDIA_TYPE = "text/css"
ICON_MEDIA_TYPE = "image/svg+xml"
STABLE = "stable"  # cache policy names, turned into Cache-Control by web/responses.py
IMMUTABLE = "immutable"


@dataclass(frozen=True)
class Asset:
    path: str
    name: str  # the representation's format name, for metrics and logs
    media_type: str
    body: bytes
    cache: str


def _static(name: str) -> bytes:
    return resources.files("syndicate").joinpath("static", name).read_bytes()


def content_hash(body: bytes) -> str:
    """Ten URL-safe characters of the body's SHA-256: a new URL for new bytes."""
    return base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode("ascii")[:10]


@functools.cache
def page_assets() -> dict[str, Asset]:
    """The pages' stylesheet and script, by kind ("css", "js")."""
    found = {}
    for kind, media_type in (("css", STYLE_MEDIA_TYPE), ("js", MEDIA_TYPE)):
        body = _static(f"pages.{kind}")
        path = urls.page_asset_path(kind, content_hash(body))
        found[kind] = Asset(path, f"page-{kind}", media_type, body, IMMUTABLE)
    icon = _static("icon.svg")
    found["icon"] = Asset(urls.icon_path(content_hash(icon)), "page-icon", ICON_MEDIA_TYPE,
                          icon, IMMUTABLE)  # fmt: skip
    return found


def assets(version: int = 1) -> tuple[Asset, ...]:
    """Every static document: the embed's for major `version`, and the pages'."""
    return _embed(version) + tuple(page_assets().values())


def _embed(version: int) -> tuple[Asset, ...]:
    """The embed script's documents for major `version`."""
    script = _static("embed.js")
    hashed = urls.embed_script_path(version, content_hash(script))
    loader = f'import "./{hashed.rsplit("/", 1)[1]}";\n'.encode("ascii")
    return (
        Asset(urls.embed_script_path(version), "embed-loader", MEDIA_TYPE, loader, STABLE),
        Asset(hashed, "embed", MEDIA_TYPE, script, IMMUTABLE),
        Asset(
            urls.embed_style_path(version), "embed-style", STYLE_MEDIA_TYPE,
            _static("embed.css"), STABLE,
        ),
    )  # fmt: skip
