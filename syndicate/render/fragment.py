"""An HTML fragment of each feed, for partner sites that render on the server (SSI, ESI, a
CMS include): `/topics/harm-reduction/feed.html`. See docs/embedding.md.

A plain, accessible list (a section with a heading, a `ul` of items, each a heading with
its link, a `<time datetime>` and, for events, the place; the summary as text): no script,
no style, no id (a page may include two), only classes under `syndicate-feed` to style.
Rendered from templates/fragment.html with autoescaping, like every page.
"""

from __future__ import annotations

from dataclasses import dataclass

from syndicate import eventtext, templating
from syndicate.feeds import FeedView
from syndicate.model import Item
from syndicate.render.registry import FRAGMENT, Format

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


def render_fragment(view: FeedView) -> bytes:
    """The HTML fragment of `view`."""
    return templating.render(
        "fragment.html",
        view=view,
        language=view.site.language,
        entries=[entry(view, item) for item in view.entries],
    )


FORMAT = Format(
    "fragment", "html", MEDIA_TYPE, render_fragment, label="HTML fragment", kind=FRAGMENT
)
