"""What each email looks like: multipart text and HTML from templates, with the headers mail
providers hold senders to.

* a stable `Message-ID` (the outbox message's key): a message sent again after a crash is the
  same message, which clients show once;
* `List-Unsubscribe` with the signed unsubscribe link and `List-Unsubscribe-Post:
  List-Unsubscribe=One-Click` (RFC 8058), on updates and digests;
* `List-Id` naming the site, `Auto-Submitted: auto-generated` (RFC 3834).

Items come from the snapshot being served when the message is sent: an item withdrawn (or
gone) since it was due is left out, and a message left with nothing is not sent at all.
Events say when and where in their own zone, their status, and link their calendar file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, formataddr
from html import escape as html_escape
from urllib.parse import urlsplit

from syndicate import eventtext, templating, urls
from syndicate.mail.addresses import envelope
from syndicate.mail.links import CONFIRM, CONFIRM_LIFETIME, MANAGE, UNSUBSCRIBE, Link, sign
from syndicate.mail.mime import Template, assemble, header_value, template
from syndicate.model import Catalog, Item
from syndicate.people.outbox import Due
from syndicate.people.subscriptions import EVERY, INSTANT

CONFIRM_PATH = "/email/confirm"
UNSUBSCRIBE_PATH = "/email/unsubscribe"
MANAGE_PATH = "/email/manage"
FREQUENCY_TEXT = {INSTANT: "as it happens", "weekly": "a weekly digest"}
# What a confirmed subscriber will get, as a sentence ("You will get ...").
FREQUENCY_PROMISE = {INSTANT: "an email as new items go live", "weekly": "a weekly digest"}
MAX_ITEMS = 25  # items shown in one email; the rest are one link away


# Stand-ins for a subscriber's own links in bodies rendered once for many (letters and
# digits only: the same after HTML escaping).
_MANAGE, _UNSUBSCRIBE = "SYNDICATEMANAGEURL9F2C", "SYNDICATEUNSUBSCRIBEURL9F2C"


@dataclass(frozen=True)
class Outgoing:
    """A message ready for the relay."""

    data: bytes
    recipient: str  # as it goes on the wire (addresses.envelope)


@dataclass(frozen=True)
class Entry:
    title: str
    url: str
    summary: str
    when: str = ""
    where: str = ""
    status: str = ""
    calendar_url: str = ""
    registration_url: str = ""
    online_url: str = ""


def feed_title(catalog: Catalog, topic: str, kind: str) -> str:
    """ "Harm Reduction: Events", "Everything": what a subscription follows, in words."""
    parts = []
    if topic != EVERY and topic in catalog.topics:
        parts.append(catalog.topics[topic].title)
    if kind != EVERY and kind in catalog.types:
        parts.append(catalog.types[kind].title)
    return ": ".join(parts) or f"Everything from {catalog.site.title}"


def _entry(catalog: Catalog, item: Item) -> Entry:
    event = item.event
    if event is None:
        return Entry(
            item.title,
            item.url,
            item.summary.plain,
            when=eventtext.date(item.published, catalog.site.timezone),
        )
    return Entry(
        item.title,
        item.url,
        item.summary.plain,
        when=eventtext.when(event),
        where=eventtext.where(event),
        status=eventtext.status_label(event) or "",
        calendar_url=urls.absolute(catalog.site, urls.event_calendar_path(item.id)),
        registration_url=event.registration_url or "",
        online_url=event.online_url or "",
    )


def subject_of(site: str, kind: str, titles: list[str]) -> str:
    """ "OSF: Naloxone saves lives", "OSF: Naloxone saves lives and 2 more", "OSF this week:
    ...": the first item by name (an inbox shows what it is about), shortened past 100."""
    first = titles[0] if len(titles[0]) <= 100 else titles[0][:99].rstrip() + "…"
    more = f" and {len(titles) - 1} more" if len(titles) > 1 else ""
    return f"{site}{' this week' if kind == 'digest' else ''}: {first}{more}"


def about(catalog: Catalog, items: list[Item]) -> str:
    """What these items are about, for the footer: "Harm Reduction", "Harm Reduction and
    Drug Policy" (their first topics), or the site's updates."""
    names = sorted({catalog.topics[i.topics[0]].title for i in items
                    if i.topics and i.topics[0] in catalog.topics})  # fmt: skip
    if not names or len(names) > 3:
        return "updates"
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"updates about {joined}"


class Composer:
    """Makes the emails of one site: its public URL, its sender, the link key."""

    def __init__(self, catalog: Catalog, sender: str, secret: bytes) -> None:
        self.catalog = catalog
        self.site = catalog.site
        self.public_url = catalog.site.feeds_url or catalog.site.url
        self.host = urlsplit(self.public_url).hostname or "localhost"
        self.sender = sender
        self.secret = secret
        self.rendered: dict[tuple[str, tuple[str, ...]], Template] = {}
        self.live = {item.id: item for item in catalog.items if item.withdrawn is None}

    def link(self, path: str, link: Link) -> str:
        return f"{self.public_url}{path}?token={sign(link, self.secret)}"

    def _shared(
        self, kind: str, subject: str, text: str, html: str, slots: tuple[str, ...]
    ) -> Template:
        # Feedback-ID (Gmail's feedback loop: complaint rates per kind of message, the
        # sender last); List-Id names the list for every provider's filters and loops.
        return template(
            {"From": formataddr((header_value(self.site.title), self.sender)),
             "Subject": header_value(subject),
             "List-Id": f"{header_value(self.site.title)} <updates.{self.host}>",
             "Feedback-ID": f"{kind}:updates:syndicate:{self.host}",
             "Auto-Submitted": "auto-generated"},
            text, html, slots,
        )  # fmt: skip

    def _own(self, due: Due, now: datetime, unsubscribe: str | None = None) -> dict[str, str]:
        """The headers that differ from message to message."""
        headers = {"To": envelope(due.address), "Date": format_datetime(now),
                   "Message-ID": f"<{due.key}@{self.host}>"}  # fmt: skip
        if unsubscribe is not None:  # RFC 8058 one-click
            headers["List-Unsubscribe"] = f"<{unsubscribe}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return headers

    def confirmation(self, due: Due, now: datetime) -> Outgoing:
        frequency = str(due.detail.get("frequency", INSTANT))
        link = Link(
            CONFIRM,
            due.subscriber_id,
            str(due.detail["nonce"]),
            int(str(due.detail["subscription"])),
            frequency,
            int((now + CONFIRM_LIFETIME).timestamp()),
        )
        context = {
            "site": self.site,
            "public_url": self.public_url,
            "feed_title": feed_title(
                self.catalog, str(due.detail.get("topic")), str(due.detail.get("type"))
            ),
            "frequency_text": FREQUENCY_TEXT.get(frequency, frequency),
            "confirm_url": self.link(CONFIRM_PATH, link),
        }
        shared = self._shared(
            "confirm",
            f"Confirm your subscription to {self.site.title}",
            templating.render_text("email/confirm.txt", **context),
            templating.render_text("email/confirm.html", **context),
            (),
        )
        return Outgoing(assemble(shared, self._own(due, now), {}, {}), envelope(due.address))

    def update(self, due: Due, now: datetime) -> Outgoing | None:
        """The update or digest of `due`'s items still live; None when none is. Its bodies
        are rendered once for every message of the same items (a new item to ten thousand
        subscribers renders once), each subscriber's links put in afterwards."""
        live = self.live
        items = tuple(item_id for item_id in due.items if item_id in live)
        if not items:
            return None
        key = (due.kind, items)
        shared = self.rendered.get(key)
        if shared is None:
            subject, text, html = self._render_update(due.kind, [live[i] for i in items])
            shared = self._shared(due.kind, subject, text, html, (_MANAGE, _UNSUBSCRIBE))
            self.rendered[key] = shared
        manage = self.link(MANAGE_PATH, Link(MANAGE, due.subscriber_id, due.token_key))
        unsubscribe = self.link(
            UNSUBSCRIBE_PATH, Link(UNSUBSCRIBE, due.subscriber_id, due.token_key)
        )
        plain = {_MANAGE: manage, _UNSUBSCRIBE: unsubscribe}
        escaped = {slot: html_escape(url) for slot, url in plain.items()}
        data = assemble(shared, self._own(due, now, unsubscribe), plain, escaped)
        return Outgoing(data, envelope(due.address))

    def _render_update(self, kind: str, items: list[Item]) -> tuple[str, str, str]:
        shown = items[:MAX_ITEMS]  # past it, a link: Gmail clips a message over ~102 KB
        entries = [_entry(self.catalog, item) for item in shown]
        subject = subject_of(self.site.title, kind, [item.title for item in items])
        heading = f"This week from {self.site.title}" if kind == "digest" else subject
        topics = {item.topics[0] for item in items if item.topics}
        rest = (  # the rest on the topic's page when they share one, else the front page
            urls.topic_page_path(next(iter(topics))) if len(topics) == 1 else "/"
        )
        context = {"site": self.site, "heading": heading, "entries": entries,
                   "preheader": " · ".join(e.title for e in entries[:3])[:150],
                   "more": len(items) - len(shown), "more_url": f"{self.public_url}{rest}",
                   "about": about(self.catalog, items),
                   "manage_url": _MANAGE, "unsubscribe_url": _UNSUBSCRIBE}  # fmt: skip
        return (
            subject,
            templating.render_text("email/update.txt", **context),
            templating.render_text("email/update.html", **context),
        )
