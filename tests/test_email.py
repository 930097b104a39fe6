"""Email updates from a subscriber's side, through real HTTP and a real SMTP server: sign up,
confirm by the emailed link, get an item that goes live, unsubscribe by RFC 8058 one-click.
Time is a fake clock the test moves (batches of 3 minutes, weekly digests)."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from aiohttp import web

from syndicate.people.database import metadata
from syndicate.settings import Settings
from tests.fakeclock import FakeClock
from tests.people import ENGINES, fresh_database_url
from tests.smtp import email_settings, html_of, link_in, text_of

NOW = datetime(2026, 11, 30, 15, tzinfo=UTC)  # a Monday; the tests' site is in New York
PUBLIC = "http://feeds.example.org"
READER = "reader@example.org"
NEW_ITEM = """item:
  id: naloxone-saves-lives
  type: voices
  title: Naloxone Saves Lives <b>& more</b>
  summary: Why every clinic should stock it.
  url: https://www.opensocietyfoundations.org/voices/naloxone-saves-lives
  published: 2026-11-30T09:30
  topics: [harm-reduction]
"""


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """SYNDICATE_DATABASE_URL: unset (SQLite in the state folder), or a PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return fresh_database_url("postgresql", tmp_path, request)


@pytest.fixture
def start(serve, folder: Path, tmp_path: Path, sink, database):  # type: ignore[no-untyped-def]
    """Start the service with email updates (the content in `folder`, the relay `sink`)."""

    async def starting(clock: FakeClock | None = None):  # type: ignore[no-untyped-def]
        settings = email_settings(folder, tmp_path / "state", sink.url, database_url=database)
        return await serve(settings, clock or FakeClock(NOW))

    return starting


def rows(client, table: str) -> list[sa.Row]:  # type: ignore[no-untyped-def]
    with client.service.database.engine.connect() as connection:
        return list(connection.execute(sa.select(metadata.tables[table])).all())


async def sign_up(client, address: str = READER, **fields: str):  # type: ignore[no-untyped-def]
    form = {
        "email": address,
        "topic": "harm-reduction",
        "type": "*",
        "frequency": "instant",
        **fields,
    }
    return await client.post("/email/subscribe", data=form)


async def confirm(client, sink, address: str = READER) -> None:  # type: ignore[no-untyped-def]
    (message,) = await sink.wait_for(address)
    link = urlsplit(link_in(message, "/email/confirm"))
    page = await client.get(f"{link.path}?{link.query}")
    assert page.status == 200 and "<form" in await page.text()
    token = link.query.removeprefix("token=")
    done = await client.post("/email/confirm", data={"token": token})
    assert done.status == 200, await done.text()


async def go_live(client, folder: Path, clock: FakeClock) -> None:
    (folder / "items" / "naloxone.yaml").write_text(NEW_ITEM)
    assert await client.service.store.reload("test")
    await client.service.mailer.round()  # announced now: its batch window starts now


async def test_a_sign_up_answers_the_same_and_sends_one_confirmation(start, folder, sink):
    client = await start()
    response = await sign_up(client)
    assert response.status == 202
    assert "Check your inbox" in await response.text()
    (message,) = await sink.wait_for(READER)
    assert message["Subject"] == "Confirm your subscription to Open Society Foundations"
    assert message["From"] == "Open Society Foundations <updates@example.org>"
    assert message.get_content_type() == "multipart/alternative"
    assert "Harm Reduction" in text_of(message) and "Harm Reduction" in html_of(message)
    assert "List-Unsubscribe" not in message  # nobody subscribed yet
    (subscription,) = rows(client, "subscriptions")
    assert subscription.confirmed_at is None


async def test_the_whole_path_from_the_form_to_an_item_and_out(start, folder, sink):
    clock = FakeClock(NOW)
    client = await start(clock)
    await sign_up(client)
    await confirm(client, sink)
    await go_live(client, folder, clock)
    clock.advance(NOW + timedelta(minutes=4))  # past the batch window
    client.service.mailer.wakeup.set()
    confirmation, update = await sink.wait_for(READER, 2)
    assert update["Subject"] == "Open Society Foundations: Naloxone Saves Lives <b>& more</b>"
    text, html = text_of(update), html_of(update)
    assert "Why every clinic should stock it." in text
    assert "https://www.opensocietyfoundations.org/voices/naloxone-saves-lives" in text
    assert "Naloxone Saves Lives &lt;b&gt;&amp; more&lt;/b&gt;" in html  # escaped, not markup
    assert "<b>" not in html  # anywhere: the heading, the item's link
    assert update["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert update["Message-ID"].endswith("@feeds.example.org>")
    assert update["Message-ID"] != confirmation["Message-ID"]
    # RFC 8058: a POST to the List-Unsubscribe URL, no login, unsubscribes.
    link = urlsplit(update["List-Unsubscribe"].strip().strip("<>"))
    gone = await client.post(
        f"{link.path}?{link.query}",
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert gone.status == 200
    assert rows(client, "subscribers") == []  # erased: nothing left to keep it for


HOSTILE_TITLE = '<script>alert(1)</script> & "quotes" \u202eRTL\u202c 🎉 ' + "long " * 48
HOSTILE_EVENT = f"""item:
  id: hostile-event
  type: events
  title: {json.dumps(HOSTILE_TITLE, ensure_ascii=False)}
  summary_html: '<p>Hi <script>alert(2)</script><img src=x onerror="alert(3)">
    <a href="javascript:alert(4)">x</a> <a href="https://example.org/ok" onclick="alert(5)">ok</a></p>'
  url: https://www.opensocietyfoundations.org/events/hostile?a=1&b=2
  published: 2026-11-30T09:30
  topics: [harm-reduction]
  start: 2027-01-14T18:30
  timezone: Europe/London
  venue: '<b>Hall</b> & "Annex"'
  address: <iframe src=https://evil.example></iframe>
  city: '{{{{ 7 * 7 }}}} <style>*{{display:none}}</style>'
  country: "\u202eeniltsaleP"
"""


async def test_html_in_every_field_of_an_item_is_text_in_its_email(start, folder, sink):
    clock = FakeClock(NOW)
    client = await start(clock)
    await subscribed(client, sink)
    (folder / "items" / "hostile.yaml").write_text(HOSTILE_EVENT)
    assert await client.service.store.reload("test")
    await client.service.mailer.round()
    clock.advance(NOW + timedelta(minutes=4))
    client.service.mailer.wakeup.set()
    _, update = await sink.wait_for(READER, 2)
    title = " ".join(HOSTILE_TITLE.split())  # titles are one line, their spaces collapsed
    # Headers: the title (past 100 characters, its first 99 and an ellipsis), decoded as a
    # mail client does, in lines RFC 5322 allows.
    assert len(title) > 100
    assert update["Subject"] == f"Open Society Foundations: {title[:99].rstrip()}…"
    assert set(update.keys()) >= {"To", "Subject", "List-Unsubscribe"}
    assert update.get_all("To") == [READER] and update.get_all("Bcc") is None
    raw = [data for to, data in sink.raw if to == READER][-1]
    assert max(map(len, raw.split(b"\n"))) <= 998
    # HTML: only the template's elements, no script, handler or javascript: link survives.
    from lxml import html as lxml_html

    page = lxml_html.document_fromstring(html_of(update))
    tags = {element.tag for element in page.iter() if isinstance(element.tag, str)}
    assert tags <= {"html", "head", "meta", "title", "body", "h1", "h2", "div", "a", "p", "hr",
                    "img"}  # fmt: skip
    assert [img.get("src") for img in page.iter("img")] == [
        "https://www.opensocietyfoundations.org/static/logo-wide.png"  # the site's logo only
    ]
    assert not [n for e in page.iter() for n in e.attrib if n.lower().startswith("on")]
    hrefs = [a.get("href") for a in page.iter("a")]
    assert all(urlsplit(href).scheme in ("http", "https") for href in hrefs), hrefs
    assert page.xpath("string(//h2)").strip() == title  # the title as text, every character
    shown = page.xpath("string(//body)")
    for text in ('<b>Hall</b> & "Annex"', "<iframe src=https://evil.example></iframe>",
                 "{{ 7 * 7 }}", "\u202eeniltsaleP"):  # fmt: skip
        assert text in shown and text in text_of(update)
    assert "https://www.opensocietyfoundations.org/events/hostile?a=1&b=2" in hrefs
    for code in ("alert(2)", "alert(3)", "alert(4)", "alert(5)"):  # the summary's scripts
        assert code not in html_of(update) and code not in text_of(update)
    assert "Hi x ok" in " ".join(shown.split())  # the summary's words, its markup gone


async def test_nothing_is_sent_before_the_owner_confirms(start, folder, sink):
    clock = FakeClock(NOW)
    client = await start(clock)
    await sign_up(client)
    await sink.wait_for(READER)
    await go_live(client, folder, clock)
    clock.advance(NOW + timedelta(minutes=10))
    client.service.mailer.wakeup.set()
    await client.service.mailer.round()
    assert len(sink.to(READER)) == 1  # the confirmation only


async def subscribed(client, sink, address: str = READER, **fields: str) -> None:  # type: ignore[no-untyped-def]
    await sign_up(client, address, **fields)
    await confirm(client, sink, address)


async def all_subscribed(client, sink, addresses: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Each of `addresses` signed up, its confirmation sent in one round, and confirmed."""
    for address in addresses:
        assert (await sign_up(client, address)).status == 202
    await client.service.mailer.round()
    for address in addresses:
        await confirm(client, sink, address)


async def test_a_weekly_digest_goes_at_the_sites_day_and_time_and_only_with_news(
    start, folder, sink
):
    clock = FakeClock(NOW)  # Monday 10:00 in New York; digests at Monday 09:00 by default
    client = await start(clock)
    await subscribed(client, sink, frequency="weekly")
    await go_live(client, folder, clock)
    sunday = datetime(2026, 12, 6, 23, tzinfo=UTC)
    clock.advance(sunday)
    await client.service.mailer.round()
    assert len(sink.to(READER)) == 1  # the confirmation only: the digest waits for Monday
    monday = datetime(2026, 12, 7, 14, 1, tzinfo=UTC)  # 09:01 in New York
    clock.advance(monday)
    await client.service.mailer.round()
    _, digest = await sink.wait_for(READER, 2)
    assert (
        digest["Subject"]
        == "Open Society Foundations this week: Naloxone Saves Lives <b>& more</b>"
    )
    assert "Naloxone Saves Lives" in text_of(digest)
    clock.advance(monday + timedelta(days=7))
    await client.service.mailer.round()
    assert len(sink.to(READER)) == 2  # nothing new: no email


async def test_a_message_the_relay_defers_is_tried_again_with_backoff(start, folder, sink):
    clock = FakeClock(NOW)
    client = await start(clock)
    sink.busy, sink.busy_reply = 2, "451 4.3.0 try again later"  # twice, for this message
    await sign_up(client)
    await client.service.mailer.round()  # 451: again in a minute
    clock.advance(NOW + timedelta(minutes=1))
    await client.service.mailer.round()  # 451: again in two
    clock.advance(NOW + timedelta(minutes=2, seconds=59))
    await client.service.mailer.round()  # not yet
    assert sink.to(READER) == []
    clock.advance(NOW + timedelta(minutes=3))
    await client.service.mailer.round()
    (message,) = await sink.wait_for(READER)
    assert message["Subject"].startswith("Confirm")
    (row,) = rows(client, "messages")
    assert row.attempts == 2 and row.sent_at is not None and row.last_error.startswith("451")


async def test_a_relay_closing_its_service_holds_everything_against_no_one(start, folder, sink):
    clock = FakeClock(NOW)
    client = await start(clock)
    sink.busy = 1  # 421: the relay's state (RFC 5321 3.8), not this message's
    await sign_up(client)
    await client.service.mailer.round()
    health = await (await client.get("/healthz")).json()
    assert health["status"] == "degraded" and "421" in health["background"]["email"]["reason"]
    (row,) = rows(client, "messages")
    assert row.attempts == 0 and row.last_error is None and row.failed_at is None
    clock.advance(NOW + timedelta(seconds=31))  # the relay's wait: 15 s, then 30 s...
    await client.service.mailer.round()
    await sink.wait_for(READER)
    assert (await (await client.get("/healthz")).json())["status"] == "ok"


async def test_a_refused_recipient_is_bounced_and_never_mailed_again(start, folder, sink):
    clock = FakeClock(NOW)
    client = await start(clock)
    await subscribed(client, sink)
    sink.refuse.add(READER)
    await go_live(client, folder, clock)
    clock.advance(NOW + timedelta(minutes=5))
    await client.service.mailer.round()
    (subscriber,) = rows(client, "subscribers")
    assert subscriber.bounced_at is not None
    sink.refuse.clear()
    assert (await sign_up(client)).status == 202  # the same answer...
    await client.service.mailer.round()
    assert len(sink.to(READER)) == 1  # ...and nothing sent
    messages = rows(client, "messages")
    assert all(READER not in (m.last_error or "") for m in messages)


async def test_a_relay_that_cannot_be_reached_is_degraded_and_recovers(start, folder, sink, caplog):
    clock = FakeClock(NOW)
    client = await start(clock)
    relay = client.service.mailer.relay
    client.service.mailer.relay = type(relay)("127.0.0.1", 9, False)  # nothing listens
    await sign_up(client)
    await client.service.mailer.round()
    health = await (await client.get("/healthz")).json()
    assert health["status"] == "degraded"
    assert "email" in health["background"]
    metrics = await (await client.get("/metrics")).text()
    assert 'syndicate_email_sent_total{outcome="relay"} 1.0' in metrics
    assert "syndicate_email_queued 1.0" in metrics
    client.service.mailer.relay = relay
    clock.advance(NOW + timedelta(minutes=2))
    await client.service.mailer.round()
    await sink.wait_for(READER)
    assert (await (await client.get("/healthz")).json())["status"] == "ok"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert READER not in logged and READER not in metrics


async def test_an_item_withdrawn_before_its_email_is_left_out(start, folder, sink):
    clock = FakeClock(NOW)
    client = await start(clock)
    await subscribed(client, sink)
    await go_live(client, folder, clock)
    (folder / "items" / "naloxone.yaml").write_text(
        NEW_ITEM + "  withdrawn:\n    date: 2026-11-30T09:45\n    reason: Too early.\n"
    )
    assert await client.service.store.reload("test")
    clock.advance(NOW + timedelta(minutes=5))
    await client.service.mailer.round()
    assert len(sink.to(READER)) == 1  # the confirmation only
    assert [m.kind for m in rows(client, "messages") if m.failed_at] == ["update"]


async def test_the_json_endpoint_answers_partners_with_cors(start, sink):
    client = await start()
    preflight = await client.options(
        "/email/subscribe",
        headers={
            "Origin": "https://partner.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert preflight.status == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    response = await client.post(
        "/email/subscribe", json={"email": READER, "topic": "*", "type": "events"}
    )
    assert response.status == 202
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert (await response.json())["status"] == "check-your-inbox"
    await sink.wait_for(READER)


@pytest.mark.parametrize(
    ("fields", "status", "reason"),
    [
        ({"email": "reader@example.org\r\nBcc: victim@example.org"}, 400, "not an email address"),
        ({"email": "not an address"}, 400, "not an email address"),
        ({"email": ""}, 400, "Enter your email address"),
        ({"topic": "no-such-topic"}, 400, "There is no topic 'no-such-topic'"),
        ({"type": "<script>"}, 400, "There is no type '<script>'"),
        ({"frequency": "hourly"}, 400, "frequency must be one of instant, weekly"),
    ],
)
async def test_bad_sign_ups_get_a_reason_and_store_nothing(start, sink, fields, status, reason):
    client = await start()
    response = await sign_up(client, **{"email": READER, **fields})
    assert response.status == status
    assert reason in html.unescape(await response.text())
    assert rows(client, "subscribers") == [] and rows(client, "messages") == []


async def test_the_honeypot_answers_as_usual_and_does_nothing(start, sink):
    client = await start()
    response = await sign_up(client, website="http://spam.example")
    assert response.status == 202
    assert rows(client, "subscribers") == []


async def test_one_client_cannot_sign_up_the_world(start, sink):
    client = await start()
    answers = [(await sign_up(client, f"person{n}@example.org")).status for n in range(30)]
    assert answers[:10] == [202] * 10 and set(answers[10:]) == {429}
    assert len(rows(client, "subscribers")) == 10


async def test_behind_a_trusted_proxy_the_limit_is_per_client_it_names(start, sink):
    client = await start()  # the test client is on loopback: a trusted proxy by default

    async def from_address(n: int, address: str) -> int:
        form = {"email": f"person{n}@example.org", "topic": "harm-reduction", "type": "*",
                "frequency": "instant"}  # fmt: skip
        headers = {"X-Forwarded-For": f"203.0.113.250, {address}"}  # the proxy's is last
        return (await client.post("/email/subscribe", data=form, headers=headers)).status

    first = [await from_address(n, "198.51.100.1") for n in range(11)]
    assert first[:10] == [202] * 10 and first[10] == 429
    assert await from_address(11, "198.51.100.2") == 202  # another client behind the proxy


async def test_a_body_over_the_cap_is_refused_unread(start, sink):
    client = await start()
    response = await client.post(
        "/email/subscribe",
        data="email=" + "a" * 10_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 413


async def test_a_sign_up_that_arrives_in_pieces_is_read_whole(start, sink):
    """A slow client's form comes in several reads: every field is read before it is judged."""
    import asyncio
    from urllib.parse import urlencode

    client = await start()
    form = urlencode({"email": READER, "topic": "harm-reduction", "type": "*",
                      "frequency": "weekly"}).encode()  # fmt: skip

    async def pieces():  # type: ignore[no-untyped-def]
        for start_at in range(0, len(form), 7):
            yield form[start_at : start_at + 7]
            await asyncio.sleep(0.005)

    response = await client.post(
        "/email/subscribe", data=pieces(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert response.status == 202, await response.text()
    (subscription,) = rows(client, "subscriptions")
    assert subscription.frequency == "weekly"  # the last field, in the last piece


async def test_forged_replayed_and_expired_links_do_nothing(start, sink):
    clock = FakeClock(NOW)
    client = await start(clock)
    await sign_up(client)
    (message,) = await sink.wait_for(READER)
    token = urlsplit(link_in(message, "/email/confirm")).query.removeprefix("token=")
    body, mac = token.split(".")
    forged = await client.post("/email/confirm", data={"token": body + "." + mac[::-1]})
    assert forged.status == 400 and "not one of ours" in await forged.text()
    clock.advance(NOW + timedelta(days=8))
    expired = await client.post("/email/confirm", data={"token": token})
    assert expired.status == 410 and "expired" in await expired.text()
    (subscription,) = rows(client, "subscriptions")
    assert subscription.confirmed_at is None


async def test_a_confirmation_link_works_once(start, sink):
    client = await start()
    await sign_up(client)
    (message,) = await sink.wait_for(READER)
    token = urlsplit(link_in(message, "/email/confirm")).query.removeprefix("token=")
    assert (await client.post("/email/confirm", data={"token": token})).status == 200
    assert (await client.post("/email/confirm", data={"token": token})).status == 410


async def an_update(start, folder, sink):  # type: ignore[no-untyped-def]
    """A service, a confirmed subscriber, and the update of an item that went live."""
    clock = FakeClock(NOW)
    client = await start(clock)
    await subscribed(client, sink)
    await go_live(client, folder, clock)
    clock.advance(NOW + timedelta(minutes=5))
    await client.service.mailer.round()
    _, update = await sink.wait_for(READER, 2)
    return client, update


async def test_a_plain_get_of_the_unsubscribe_link_changes_nothing(start, folder, sink):
    client, update = await an_update(start, folder, sink)
    link = urlsplit(link_in(update, "/email/unsubscribe"))
    page = await client.get(f"{link.path}?{link.query}")
    assert page.status == 200 and "<button" in await page.text()
    assert len(rows(client, "subscriptions")) == 1  # a mail scanner's GET unsubscribes nobody


async def test_the_manage_page_changes_exports_and_erases(start, folder, sink):
    client, update = await an_update(start, folder, sink)
    link = urlsplit(link_in(update, "/email/manage"))
    token = link.query.removeprefix("token=")
    page = await client.get(f"{link.path}?{link.query}")
    text = await page.text()
    assert page.status == 200 and READER in text and "Harm Reduction" in text
    assert page.headers["Cache-Control"] == "no-store"
    (subscription,) = rows(client, "subscriptions")
    changed = await client.post(
        f"{link.path}?{link.query}",
        allow_redirects=False,
        data={
            "token": token,
            "action": "frequency",
            "subscription": str(subscription.id),
            "frequency": "weekly",
        },
    )
    assert changed.status == 303
    assert rows(client, "subscriptions")[0].frequency == "weekly"
    export = await client.get(f"/email/manage/export?token={token}")
    data = await export.json(content_type=None)
    assert data["address"] == READER and data["subscriptions"][0]["frequency"] == "weekly"
    erased = await client.post(
        f"{link.path}?{link.query}", data={"token": token, "action": "erase"}
    )
    assert erased.status == 200
    for table in ("subscribers", "subscriptions", "messages", "pending"):
        assert rows(client, table) == [], table
    again = await client.get(f"{link.path}?{link.query}")
    assert again.status == 410  # the link leads nowhere now


async def test_the_manage_page_follows_more_at_once_and_refuses_what_is_not_there(
    start, folder, sink
):
    from lxml import html as lxml_html

    client, update = await an_update(start, folder, sink)
    link = urlsplit(link_in(update, "/email/manage"))
    page = lxml_html.fromstring(await (await client.get(f"{link.path}?{link.query}")).text())
    (form,) = page.xpath("//form[.//input[@name='action'][@value='follow']]")
    fields = dict(form.form_values())
    assert "drug-policy" in form.xpath(".//select[@name='topic']/option/@value")
    fields.update(topic="drug-policy", type="events", frequency="weekly")  # as a reader picks
    action = urlsplit(form.get("action"))
    added = await client.post(f"{action.path}?{action.query}", data=fields, allow_redirects=False)
    assert added.status == 303
    follows = {(r.topic, r.type): r for r in rows(client, "subscriptions")}
    new = follows[("drug-policy", "events")]
    assert new.frequency == "weekly" and new.confirmed_at is not None  # the link proved it
    assert len(sink.to(READER)) == 2  # no confirmation asked: the owner is the one asking
    refused = await client.post(
        f"{action.path}?{action.query}", data={**fields, "topic": "<script>"}
    )
    assert refused.status == 400 and "There is no topic" in html.unescape(await refused.text())
    assert len(rows(client, "subscriptions")) == 2


async def test_pages_offer_the_form_only_when_email_is_on(start, serve, folder):
    client = await start()
    page = await (await client.get("/topics/harm-reduction/")).text()
    assert 'action="http://feeds.example.org/email/subscribe"' in page
    assert "Sign up to receive updates about our work in Health" in page
    plain = await serve(Settings(config=folder, public_url=PUBLIC, watch=False))
    assert "email/subscribe" not in await (await plain.get("/topics/harm-reduction/")).text()
    assert (await plain.post("/email/subscribe", data={"email": READER})).status in (404, 405)
    assert (await plain.get("/email/form.html")).status == 404


def test_the_access_log_never_holds_an_email_links_token():
    import io

    from aiohttp.test_utils import make_mocked_request

    from syndicate.web.accesslog import AccessLog, logger_class

    stream = io.StringIO()
    sink = AccessLog(stream)
    logger = logger_class(sink)(None, "")  # type: ignore[arg-type]
    request = make_mocked_request("GET", "/email/manage?token=eyJzZWNyZXQ.c2lnbmF0dXJl&x=1")
    logger.log(request, web.Response(), 0.001)
    sink.flush()
    line = stream.getvalue()
    assert "/email/manage?token=(redacted)&x=1" in line and "eyJzZWNyZXQ" not in line


async def test_the_form_as_a_fragment_signs_up_like_our_pages(start, sink):
    from lxml import html as lxml_html

    client = await start()
    response = await client.get("/email/form/harm-reduction.html")
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    (form,) = lxml_html.fromstring(await response.text()).xpath("//form")
    assert form.get("action") == f"{PUBLIC}/email/subscribe"
    fields = {field.get("name"): field.get("value") or "" for field in form.xpath(".//input")}
    fields |= {select.get("name"): select.xpath("./option")[0].get("value")
               for select in form.xpath(".//select")}  # fmt: skip
    fields["email"] = READER
    assert fields["topic"] == "harm-reduction" and fields["website"] == ""
    assert (await client.post(form.get("action").removeprefix(PUBLIC), data=fields)).status == 202
    (message,) = await sink.wait_for(READER)
    assert "Harm Reduction (as it happens)" in text_of(message)
    everything = await (await client.get("/email/form.html")).text()
    assert 'name="topic" value="*"' in everything


async def test_sends_keep_to_the_rate_whatever_the_sessions_and_rounds(start, sink):
    import time

    client = await start()
    mailer = client.service.mailer
    await mailer.round()  # the first round: takes note of what is live, sends nothing
    mailer.rate, mailer.connections = 20, 4
    started = time.monotonic()
    for n in range(10):  # each wakes the sender: several rounds, four sessions each
        await sign_up(client, f"person{n}@example.org")
    while len(sink.received) < 10:
        await mailer.round()
    assert time.monotonic() - started >= 9 / 20  # nine intervals of 1/20 s at least


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
async def test_one_click_unsubscribe_takes_both_encodings_rfc_8058_names(
    start, folder, sink, encoding
):
    import aiohttp

    client, update = await an_update(start, folder, sink)
    link = urlsplit(update["List-Unsubscribe"].strip().strip("<>"))
    form = aiohttp.FormData(default_to_multipart=encoding == "multipart")
    form.add_field("List-Unsubscribe", "One-Click")
    gone = await client.post(f"{link.path}?{link.query}", data=form)
    sent_as = gone.request_info.headers.get("Content-Type", "")
    assert sent_as.startswith(
        "multipart/form-data" if encoding == "multipart" else "application/x-www-form-urlencoded"
    )
    assert gone.status == 200, await gone.text()
    assert rows(client, "subscribers") == []


async def test_a_form_with_more_fields_than_any_form_of_ours_is_refused_with_a_reason(start, sink):
    client = await start()
    fields = "&".join(f"f{n}=x" for n in range(25))
    response = await client.post(
        "/email/subscribe",
        data=f"email={READER}&topic=harm-reduction&{fields}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 400 and "more than 20 fields" in await response.text()
    import aiohttp

    form = aiohttp.FormData(default_to_multipart=True)
    for n in range(25):
        form.add_field(f"f{n}", "x")
    response = await client.post("/email/subscribe", data=form)
    assert response.status == 400 and "more than 20 fields" in await response.text()
    assert rows(client, "subscribers") == []


async def test_the_same_address_signed_up_at_once_many_times_gets_202s_and_one_row(start, sink):
    import asyncio

    client = await start()
    answers = await asyncio.gather(*(sign_up(client) for _ in range(8)))
    assert {answer.status for answer in answers} == {202}
    assert len(rows(client, "subscribers")) == 1


@pytest.mark.parametrize("database", [None])  # SQLite: its own size limit is a full disk
async def test_a_full_disk_is_a_503_with_retry_after_and_health_recovers_by_itself(start, sink):
    client = await start()
    engine = client.service.database.engine

    with engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()

    def full(dbapi, record):  # type: ignore[no-untyped-def]
        dbapi.execute(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL past this size

    sa.event.listen(engine, "connect", full)
    engine.dispose()
    refused = None
    for n in range(200):  # until the file has no room left for one more sign-up
        refused = await sign_up(client, f"reader{n}@example.org")
        if refused.status != 202:
            break
        client.service.people.limiter.seen.clear()
    assert refused is not None and refused.status == 503
    assert refused.headers["Retry-After"] == "30" and "try again" in await refused.text()
    health = await (await client.get("/healthz")).json()
    assert (
        "database" in health["background"] and "full" in health["background"]["database"]["reason"]
    )
    sa.event.remove(engine, "connect", full)
    engine.dispose()  # room again
    client.service.people.limiter.seen.clear()
    assert (await sign_up(client, "after@example.org")).status == 202
    assert "database" not in (await (await client.get("/healthz")).json())["background"]


async def test_every_sign_up_takes_the_same_floor_new_or_subscribed(start, sink):
    import time

    from syndicate.web.signup import SIGNUP_FLOOR

    client = await start()
    await subscribed(client, sink)
    for address in (READER, "new@example.org", READER):
        began = time.monotonic()
        assert (await sign_up(client, address)).status == 202
        assert time.monotonic() - began >= SIGNUP_FLOOR
