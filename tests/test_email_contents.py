"""What an update or digest says (issue 29, B): read as a mail client reads it (the standard
library's parser), the text part as text, line by line, the HTML with lxml.

- every field of an entry on a line of its own in the text part (no "7 December 2026Why");
- at most 25 items, then one link to the rest, and the message well under the ~102 KB
  where Gmail clips (and hides the unsubscribe link);
- a subject that names the first item; a preheader; an event's registration and online
  links; the site's logo; the topic named in the footer;
- the headers providers' loops read: List-Id and Feedback-ID.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, datetime

import lxml.html
import pytest

from syndicate.loader import load_catalog
from syndicate.mail.messages import MAX_ITEMS, Composer
from syndicate.model import Item
from syndicate.people.outbox import Due
from tests.conftest import CONTENT

NOW = datetime(2026, 12, 7, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog(CONTENT)


def due(items: tuple[str, ...], kind: str = "update") -> Due:
    return Due(1, kind, "k" * 32, 0, 7, "reader@example.org", "t" * 32, items, {})


def parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def text_lines(message: email.message.EmailMessage) -> list[str]:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).splitlines()


def html_of(message: email.message.EmailMessage) -> lxml.html.HtmlElement:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return lxml.html.fromstring(str(part.get_content()))


def live(catalog) -> list[Item]:  # type: ignore[no-untyped-def]
    return [item for item in catalog.items if item.withdrawn is None]


def test_each_field_of_an_entry_is_a_line_of_its_own_in_the_text_part(catalog):
    items = live(catalog)
    composer = Composer(catalog, "updates@example.org", b"s" * 32)
    outgoing = composer.update(due(tuple(i.id for i in items[:6])), NOW)
    assert outgoing is not None
    lines = text_lines(parsed(outgoing.data))
    for item in items[:6]:
        assert item.title in lines, item.title  # the title alone on its line
        assert item.url in lines
        if item.summary.plain:
            assert item.summary.plain in lines
    # A date (or an event's schedule and place) is a line of its own, never run into the next.
    from syndicate import eventtext

    for item in items[:6]:
        when = (eventtext.when(item.event) if item.event
                else eventtext.date(item.published, catalog.site.timezone))  # fmt: skip
        (line,) = [line for line in lines if line.startswith(when)]
        place = eventtext.where(item.event) if item.event else ""
        assert line == (f"{when} · {place}" if place else when)


def test_past_25_items_one_link_leads_to_the_rest_and_gmail_would_not_clip(catalog):
    items = live(catalog)
    many = [replace(items[n % len(items)], id=f"item-{n}", title=f"Item number {n} " + "word " * 30)
            for n in range(120)]  # fmt: skip
    catalog = replace(catalog, items=tuple(many))
    composer = Composer(catalog, "updates@example.org", b"s" * 32)
    outgoing = composer.update(due(tuple(i.id for i in many), "digest"), NOW)
    assert outgoing is not None
    message = parsed(outgoing.data)
    lines = text_lines(message)
    shown = [line for line in lines if line.startswith("Item number ")]
    assert len(shown) == MAX_ITEMS == 25
    (more,) = [line for line in lines if line.startswith("And ")]
    assert more.startswith(f"And {120 - 25} more: ")
    assert len(outgoing.data) < 102 * 1024 * 0.8  # Gmail clips past about 102 KB
    subject = message["Subject"]
    assert subject.startswith(f"{catalog.site.title} this week: Item number 0 word")
    assert subject.endswith("… and 119 more") and len(subject) < 160
    assert "Unsubscribe" in lines[-1]


def test_the_subject_names_the_first_item_and_how_many_more(catalog):
    items = live(catalog)
    composer = Composer(catalog, "updates@example.org", b"s" * 32)
    one = composer.update(due((items[0].id,)), NOW)
    three = composer.update(due(tuple(i.id for i in items[:3])), NOW)
    assert one is not None and three is not None
    title = catalog.site.title
    assert parsed(one.data)["Subject"] == f"{title}: {items[0].title}"
    assert parsed(three.data)["Subject"] == f"{title}: {items[0].title} and 2 more"


def test_an_event_carries_its_registration_and_online_links_in_both_parts(catalog):
    event = next(
        i for i in live(catalog) if i.event and i.event.online_url and i.event.registration_url
    )
    composer = Composer(catalog, "updates@example.org", b"s" * 32)
    outgoing = composer.update(due((event.id,)), NOW)
    assert outgoing is not None
    message = parsed(outgoing.data)
    assert event.event is not None
    lines = text_lines(message)
    assert f"Register: {event.event.registration_url}" in lines
    assert f"Join online: {event.event.online_url}" in lines
    links = {a.text_content(): a.get("href") for a in html_of(message).iter("a")}
    assert links["Register"] == event.event.registration_url
    assert links["Join online"] == event.event.online_url


def test_the_html_has_a_hidden_preheader_the_logo_and_a_footer_naming_the_topic(catalog):
    items = [i for i in live(catalog) if i.topics and i.topics[0] == "harm-reduction"][:2]
    composer = Composer(catalog, "updates@example.org", b"s" * 32)
    outgoing = composer.update(due(tuple(i.id for i in items)), NOW)
    assert outgoing is not None
    message = parsed(outgoing.data)
    page = html_of(message)
    first = page.body[0]
    assert "display:none" in first.get("style", "") and items[0].title in first.text_content()
    (logo,) = page.iter("img")
    assert logo.get("src") == catalog.site.logo and logo.get("alt") == catalog.site.title
    topic = catalog.topics["harm-reduction"].title
    assert f"updates about {topic} from {catalog.site.title}" in page.text_content()
    assert any(f"updates about {topic}" in line for line in text_lines(message))


def test_providers_loops_can_name_the_list_and_the_kind_of_message(catalog):
    composer = Composer(catalog, "updates@example.org", b"s" * 32)
    outgoing = composer.update(due((live(catalog)[0].id,), "digest"), NOW)
    assert outgoing is not None
    message = parsed(outgoing.data)
    from urllib.parse import urlsplit

    host = urlsplit(catalog.site.feeds_url or catalog.site.url).hostname
    assert message["List-Id"] == f"{catalog.site.title} <updates.{host}>"
    kind, _, program, sender = str(message["Feedback-ID"]).split(":")
    assert (kind, program, sender) == ("digest", "syndicate", host)
