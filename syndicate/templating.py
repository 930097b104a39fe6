"""The Jinja2 environment every HTML page and fragment is rendered with (templates/).

Autoescaping is on for everything: every value from the content is text, never markup, so
a template cannot forget to escape it. Undefined names are errors, not empty strings.
Rendering happens once per snapshot, never per request.
"""

from __future__ import annotations

from typing import Any

import jinja2

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("syndicate", "templates"),
    # Every template is HTML, escaped, but plain-text emails (.txt), which are not HTML.
    autoescape=jinja2.select_autoescape(disabled_extensions=("txt",), default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)


# Content-Security-Policy of our pages: nothing inline, nothing from elsewhere but images
# (the embed builder's preview shows the items' images). Iframe pages run no script at all
# and may be framed by anyone; the other pages by no one.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' https:; frame-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
FRAME_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors *"
)


def render(name: str, **context: Any) -> bytes:
    """Template `name` rendered with `context`, as UTF-8."""
    return render_text(name, **context).encode("utf-8")


def render_text(name: str, **context: Any) -> str:
    """Template `name` rendered with `context`."""
    return TEMPLATES.get_template(name).render(**context)
