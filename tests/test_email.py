"""Email updates from a subscriber's side, through real HTTP and a real SMTP server: sign up,
confirm by the emailed link, get an item that goes live, unsubscribe by RFC 8058 one-click.
Time is a fake clock the test moves (batches of 3 minutes, weekly digests)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from syndicate.people.database import metadata
from syndicate.settings import Settings
from tests.conftest import CONTENT
from tests.fakeclock import FakeClock
from tests.smtp import html_of, link_in, smtp_sink, text_of

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


@pytest.fixture
def sink():
    with smtp_sink() as running:
        yield running


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


async def start(serve, folder: Path, tmp_path: Path, sink, clock: FakeClock):  # type: ignore[no-untyped-def]
    settings = Settings(
        config=folder,
        state_dir=tmp_path / "state",
        public_url=PUBLIC,
        watch=False,
        smtp_url=sink.url,
        mail_from="updates@example.org",
        access_log=False,
    )
    return await serve(settings, clock)


def rows(client, table: str) -> list[sa.Row]:  # type: ignore[no-untyped-def]
    with client.service.engine.connect() as connection:
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


async def test_a_sign_up_answers_the_same_and_sends_one_confirmation(serve, folder, tmp_path, sink):
    client = await start(serve, folder, tmp_path, sink, FakeClock(NOW))
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


async def test_the_whole_path_from_the_form_to_an_item_and_out(serve, folder, tmp_path, sink):
    clock = FakeClock(NOW)
    client = await start(serve, folder, tmp_path, sink, clock)
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
    assert update["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert update["Message-ID"].endswith("@feeds.example.org>")
    assert update["Message-ID"] != confirmation["Message-ID"]
    # RFC 8058: a POST to the List-Unsubscribe URL, no login, unsubscribes.
    link = urlsplit(update["List-Unsubscribe"].strip("<>"))
    gone = await client.post(
        f"{link.path}?{link.query}",
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert gone.status == 200
    assert rows(client, "subscribers") == []  # erased: nothing left to keep it for


async def test_nothing_is_sent_before_the_owner_confirms(serve, folder, tmp_path, sink):
    clock = FakeClock(NOW)
    client = await start(serve, folder, tmp_path, sink, clock)
    await sign_up(client)
    await sink.wait_for(READER)
    await go_live(client, folder, clock)
    clock.advance(NOW + timedelta(minutes=10))
    client.service.mailer.wakeup.set()
    await client.service.mailer.round()
    assert len(sink.to(READER)) == 1  # the confirmation only
