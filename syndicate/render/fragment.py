"""HTML of each feed for partner sites (docs/embedding.md): a fragment for those that render
on the server (SSI, ESI, a CMS include), `/topics/harm-reduction/feed.html`, and an iframe
page for those that can paste only an iframe, `/embed/topics/harm-reduction/feed.html`.

A plain, accessible list (a section with a heading, a `ul` of items, each a heading with
its link, a `<time datetime>` and, for events, the place; the summary as text): no script,
no style, no id (a page may include two), only classes under `syndicate-feed` to style.
Rendered from templates/fragment.html with autoescaping, like every page.
"""

from __future__ import annotations

from dataclasses import dataclass

from syndicate import assets, eventtext, templating, urls
from syndicate.feeds import FeedView
from syndicate.model import Item
from syndicate.render.registry import FRAGMENT, FRAME, Format

MEDIA_TYPE = "text/html"


@dataclass(frozen=True)
class Entry:
    """What the template shows of one item."""

    title: str
    url: str
    datetime: str  # the machine-readable moment: the event's start, else the publication
    when: str
    where: str
    summary: str
    classes: str


def entry(view: FeedView, item: Item) -> Entry:
    event = item.event
    classes = ["syndicate-feed__item"]
    if event is None:
        moment = item.published
        when, where = eventtext.date(moment, view.site.timezone), ""
    else:
        classes.append("syndicate-feed__item--event")
        label = eventtext.status_label(event)
        if label:
            classes.append(f"syndicate-feed__item--{event.status.value}")
        moment = event.start
        when, where = eventtext.when(event), eventtext.where(event)
    return Entry(
        title=eventtext.titled(item.title, event),
        url=item.url,
        datetime=moment.isoformat()
        if event is None or not event.all_day
        else moment.date().isoformat(),
        when=when,
        where=where,
        summary=item.summary.plain,
        classes=" ".join(classes),
    )


def _render(template: str, view: FeedView, target: str, level: int, **more: object) -> bytes:
    """`template` with `view`'s items; links opening in `target`, headings from `level`."""
    return templating.render(
        template,
        view=view,
        language=view.site.language,
        entries=[entry(view, item) for item in view.entries],
        target=target,
        level=level,
        **more,
    )


def render_fragment(view: FeedView) -> bytes:
    """The HTML fragment of `view`."""
    return _render("fragment.html", view, target="", level=2)


def render_frame(view: FeedView) -> bytes:
    """The iframe page of `view`: the fragment in a page of its own, styled, light or dark
    (`#light`, `#dark` or the reader's system), its links opening in the partner's tab, its
    heading the page's own (h1)."""
    stylesheet = urls.absolute(view.site, assets.page_assets()["css"].path)
    return _render("frame.html", view, target="_top", level=1, stylesheet=stylesheet)


FORMAT = Format(
    "fragment", "html", MEDIA_TYPE, render_fragment, label="HTML fragment", kind=FRAGMENT
)
FRAME_FORMAT = Format(
    "frame", "html", MEDIA_TYPE, render_frame, label="iframe page", kind=FRAME,
    prefix=urls.FRAME_PREFIX, headers=(("Content-Security-Policy", templating.FRAME_CSP),),
)  # fmt: skip
