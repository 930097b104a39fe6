"""The embed script partners load from us (docs/embedding.md), as snapshot documents.

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
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from importlib import resources

from syndicate import urls

MEDIA_TYPE = "text/javascript"
STYLE_MEDIA_TYPE = "text/css"
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


def assets(version: int = 1) -> tuple[Asset, ...]:
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
