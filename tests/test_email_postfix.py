"""Email updates through a real Postfix (tests/postfix.py): the relay as people run it, each
scenario a listener of its own, delivering to a local mailbox server for `mail.example.net`.

What each test proves, against Postfix's own replies (not ours):
- a confirmed list survives a wrong password, then gets everything once it is fixed;
- a refused sender (Postfix refuses it at RCPT TO: smtpd_delay_reject) bounces nobody;
- no password goes to a relay offering AUTH without TLS, and with TLS (our CA file) it does;
- an address that cannot go on the wire, beside ten that can, delays nobody; a domain
  beyond ASCII is delivered in IDNA;
- a HELO Postfix refuses is the relay's fault; the default HELO name is accepted;
- content the relay refuses at DATA is set aside, its recipient not bounced;
- a mailbox that turns out not to exist after Postfix said 250 is learnt from Postfix's own
  DSN, sent to the message's return path and routed to the service's listener: that
  address, and only it, is suppressed.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from syndicate.mail.relay import parse_relay
from syndicate.people.database import subscribers
from syndicate.web.limits import ClientLimiter
from tests import postfix
from tests.fakeclock import FakeClock
from tests.live import free_port
from tests.smtp import Sink, email_settings, smtp_sink
from tests.test_email import NOW, PUBLIC, all_subscribed, go_live, rows, sign_up

READERS = [f"reader{n}@mail.example.net" for n in range(10)]


@pytest.fixture(scope="module")
def mailbox():
    """The mail server of `mail.example.net` (and its IDNA twin), where Postfix delivers."""
    with smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="module")
def returns_port() -> int:
    """Where the service's listener for bounces will be: Postfix routes the return path's
    domain there from the start (its `transport_maps`, as docs/email.md gives it)."""
    return free_port()


@pytest.fixture(scope="module")
def relay(mailbox: Sink, returns_port: int):
    port = int(mailbox.url.rsplit(":", 1)[1])
    routes = {"mail.example.net": port, "xn--exmple-cua.net": port,
              "bounces.example.net": returns_port}  # fmt: skip
    with postfix.running_postfix(routes) as running:
        yield running


@pytest.fixture
def start(serve, folder: Path, tmp_path: Path, relay, mailbox):  # type: ignore[no-untyped-def]
    mailbox.received.clear()

    async def starting(scenario: str, password: str | None = None, **settings: object):  # type: ignore[no-untyped-def]
        clock = FakeClock(NOW)
        url = relay.url(scenario, password)
        options = {"smtp_ca_file": relay.ca_file, **settings}
        client = await serve(email_settings(folder, tmp_path / "state", url, **options), clock)
        client.clock = clock
        return client

    return starting


def use(client, relay, scenario: str, password: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Point the running sender at another listener (the operator changed the setting)."""
    mailer = client.service.mailer
    mailer.relay = parse_relay(relay.url(scenario, password), mailer.relay.helo, str(relay.ca_file))
    mailer.relay_wait_until = client.clock.now()


async def state(client) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return await (await client.get("/healthz")).json()


async def test_a_confirmed_list_survives_a_wrong_password(start, relay, mailbox, folder):
    client = await start("auth", postfix.PASSWORD)
    await all_subscribed(client, mailbox, READERS[:3])
    use(client, relay, "auth", "not-the-password")
    await go_live(client, folder, client.clock)
    client.clock.advance(NOW + timedelta(minutes=4))
    await client.service.mailer.round()
    health = await state(client)
    assert health["status"] == "degraded"
    assert "535" in health["background"]["email"]["reason"]
    assert "not-the-password" not in str(health)
    assert [r.bounced_at for r in rows(client, "subscribers")] == [None] * 3
    use(client, relay, "auth", postfix.PASSWORD)  # fixed
    await client.service.mailer.round()
    for address in READERS[:3]:
        (_, update) = await mailbox.wait_for(address, 2)
        assert update["Subject"].endswith("Naloxone Saves Lives <b>& more</b>")
    assert (await state(client))["status"] == "ok"


async def test_a_refused_sender_bounces_nobody(start, relay, mailbox):
    client = await start("sender")
    assert (await sign_up(client, READERS[0])).status == 202
    await client.service.mailer.round()
    health = await state(client)
    assert "Sender address rejected" in health["background"]["email"]["reason"]
    assert rows(client, "subscribers")[0].bounced_at is None
    use(client, relay, "plain")
    await client.service.mailer.round()
    await mailbox.wait_for(READERS[0])


async def test_no_password_goes_to_a_relay_without_tls(start, relay, mailbox):
    client = await start("cleartext", postfix.PASSWORD)
    assert (await sign_up(client, READERS[0])).status == 202
    await client.service.mailer.round()
    reason = (await state(client))["background"]["email"]["reason"]
    assert "STARTTLS" in reason
    cleartext = [line for line in relay.log().splitlines() if "postfix/cleartext/" in line]
    assert cleartext and not [line for line in cleartext if "sasl" in line]  # no login tried
    assert mailbox.to(READERS[0]) == []


async def test_with_tls_and_the_private_ca_the_login_works(start, relay, mailbox):
    client = await start("auth", postfix.PASSWORD)
    assert (await sign_up(client, READERS[1])).status == 202
    await client.service.mailer.round()
    await mailbox.wait_for(READERS[1])
    assert [line for line in relay.log().splitlines()
            if "postfix/auth/" in line and "sasl_username=relay" in line]  # fmt: skip


async def test_an_address_that_cannot_go_out_beside_ten_that_can_delays_nobody(
    start, relay, mailbox, folder
):
    client = await start("plain", mail_connections=2)
    client.service.people.limiter = ClientLimiter(100, 600)  # eleven sign-ups from one client
    await all_subscribed(client, mailbox, READERS)
    assert (await sign_up(client, "someone@exämple.net")).status == 202
    with client.service.database.engine.begin() as connection:  # from before the rule
        connection.execute(
            sa.update(subscribers).where(subscribers.c.address == READERS[0])
            .values(address="rëader@mail.example.net")
        )  # fmt: skip
    await go_live(client, folder, client.clock)
    client.clock.advance(NOW + timedelta(minutes=4))
    await client.service.mailer.round()
    for address in READERS[1:]:
        await mailbox.wait_for(address, 2)
    await mailbox.wait_for("someone@xn--exmple-cua.net")
    assert (await state(client))["email"]["set_aside"] == 1


async def test_a_helo_the_relay_refuses_is_its_fault_and_the_default_name_passes(
    start, relay, mailbox
):
    client = await start("helo", smtp_helo="localhost")
    assert (await sign_up(client, READERS[2])).status == 202
    await client.service.mailer.round()
    assert "Helo command rejected" in (await state(client))["background"]["email"]["reason"]
    assert rows(client, "subscribers")[0].bounced_at is None
    mailer = client.service.mailer
    from syndicate.mail.relay import helo_name

    mailer.relay = parse_relay(relay.url("helo"), helo_name(PUBLIC))  # the default name
    mailer.relay_wait_until = client.clock.now()
    await mailer.round()
    await mailbox.wait_for(READERS[2])


async def test_content_refused_at_data_is_set_aside_and_bounces_nobody(start, relay, mailbox):
    client = await start("content")
    assert (await sign_up(client, READERS[3])).status == 202
    await client.service.mailer.round()
    (message,) = rows(client, "messages")
    assert message.set_aside_at is not None and message.last_error.startswith("550 5.7.1")
    assert rows(client, "subscribers")[0].bounced_at is None
    assert (await state(client))["email"]["set_aside"] == 1


async def test_a_dsn_from_postfix_suppresses_that_address_and_only_it(
    start, relay, mailbox, folder, returns_port
):
    client = await start(
        "plain", mail_return_path="bounces@bounces.example.net",
        bounce_listen=("127.0.0.1", returns_port),
    )  # fmt: skip
    client.service.people.limiter = ClientLimiter(100, 600)
    gone = "gone@mail.example.net"
    await all_subscribed(client, mailbox, [gone, *READERS[:3]])
    mailbox.refuse.add(gone)  # the mailbox is closed after the confirmation
    await go_live(client, folder, client.clock)
    client.clock.advance(NOW + timedelta(minutes=4))
    await client.service.mailer.round()
    for address in READERS[:3]:
        await mailbox.wait_for(address, 2)
    # Postfix said 250 to every update; its bounce daemon then writes a DSN for `gone`.
    import asyncio
    import time

    deadline = time.monotonic() + 20
    while not [r for r in rows(client, "subscribers") if r.bounced_at]:
        assert time.monotonic() < deadline, relay.log()[-3000:]
        await asyncio.sleep(0.1)
    (suppressed,) = [r for r in rows(client, "subscribers") if r.bounced_at]
    assert suppressed.address == gone and suppressed.bounce_reason == "hard: dsn 5.1.1"
    assert "status=bounced" in relay.log()
