"""What the relay does must never lose the list (issue 29, A): the fast half, through the service
and aiosmtpd answering as relays do at each step. The same scenarios run against a real
Postfix in tests/test_email_postfix.py; these keep the edges cheap to test.

Rules, and the ways each is broken here:
- only RCPT TO says an address is bad: a refused sender (MAIL FROM), refused content (DATA),
  a size limit, a relay that will not relay (RCPT, "Relay access denied") bounce nobody;
- the relay's state holds everything, against no one: /healthz degraded with the reason,
  nothing recorded on the messages, all of it sent once the relay works;
- no message blocks another: one that cannot be made (an address beyond ASCII written before
  the rule, a template fault) or that is refused for itself is set aside, counted, and the
  ten others go; `syndicate email release` sends it again;
- a password is never sent without TLS unless the operator allows it in so many words.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from syndicate.people.database import subscribers
from tests.fakeclock import FakeClock
from tests.smtp import email_settings, smtp_sink
from tests.test_email import NOW, READER, all_subscribed, go_live, rows, sign_up

OTHERS = [f"reader{n}@example.org" for n in range(10)]


@pytest.fixture
def start(serve, folder: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    async def starting(url: str, clock: FakeClock, **settings: object):  # type: ignore[no-untyped-def]
        return await serve(email_settings(folder, tmp_path / "state", url, **settings), clock)

    return starting


def run_cli(argv: list[str], state: Path, capsys) -> str:  # type: ignore[no-untyped-def]
    """`syndicate ARGV` as an operator runs it beside the service (same state folder)."""
    import os

    from syndicate.cli import main

    environ = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update({**environ, "SYNDICATE_STATE_DIR": str(state)})
    try:
        assert main(argv) == 0
    finally:
        os.environ.clear()
        os.environ.update(old)
    return capsys.readouterr().out


async def health(client) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return await (await client.get("/healthz")).json()


@pytest.mark.parametrize(
    ("step", "reply"),
    [
        ("MAIL", "553 5.7.1 <updates@example.org>: Sender address rejected: not owned by user"),
        ("RCPT", "554 5.7.1 <reader0@example.org>: Relay access denied"),
        ("MAIL", "530 5.7.0 Authentication required"),
    ],
)
async def test_a_refusal_that_is_the_relays_bounces_nobody_and_all_goes_once_fixed(
    start, folder, sink, step, reply
):
    clock = FakeClock(NOW)
    client = await start(sink.url, clock)
    await all_subscribed(client, sink, OTHERS[:3])
    sink.answers[step] = reply
    await go_live(client, folder, clock)
    clock.advance(NOW + timedelta(minutes=4))
    await client.service.mailer.round()
    assert [r.bounced_at for r in rows(client, "subscribers")] == [None] * 3
    state = await health(client)
    assert state["status"] == "degraded"
    assert reply.split(" ", 1)[0] in state["background"]["email"]["reason"]
    assert all(r.attempts == 0 and r.failed_at is None for r in rows(client, "messages")
               if r.kind == "update")  # fmt: skip
    del sink.answers[step]  # the operator fixed it
    clock.advance(NOW + timedelta(minutes=5))
    await client.service.mailer.round()
    for address in OTHERS[:3]:
        await sink.wait_for(address, 2)
    assert (await health(client))["status"] == "ok"


@pytest.mark.parametrize(
    "reply", ["552 5.3.4 Message size exceeds fixed limit", "550 5.7.1 Message content rejected"]
)
async def test_a_message_refused_for_itself_is_set_aside_counted_and_released(
    start, folder, sink, reply, tmp_path, capsys, monkeypatch
):
    clock = FakeClock(NOW)
    client = await start(sink.url, clock)
    await all_subscribed(client, sink, [READER])
    sink.answers["DATA"] = reply
    await go_live(client, folder, clock)
    clock.advance(NOW + timedelta(minutes=4))
    await client.service.mailer.round()
    clock.advance(NOW + timedelta(minutes=30))
    await client.service.mailer.round()  # not retried in a loop
    (update,) = [m for m in rows(client, "messages") if m.kind == "update"]
    assert update.set_aside_at is not None and update.attempts == 0
    assert update.last_error.startswith(reply.split(" ", 1)[0])
    assert rows(client, "subscribers")[0].bounced_at is None
    state = await health(client)
    assert state["email"]["set_aside"] == 1 and state["status"] == "ok"
    metrics = await (await client.get("/metrics")).text()
    assert "syndicate_email_set_aside 1.0" in metrics
    assert 'syndicate_email_sent_total{outcome="set_aside"} 1.0' in metrics
    del sink.answers["DATA"]  # the operator raised the limit, or fixed the filter
    status = run_cli(["email", "status"], tmp_path / "state", capsys)
    assert f"1  {update.last_error}" in status and READER not in status
    assert "1 message(s) set aside are back" in run_cli(
        ["email", "release"], tmp_path / "state", capsys
    )
    clock.advance(datetime.now(UTC) + timedelta(seconds=1))  # due at the command's now
    await client.service.mailer.round()
    await sink.wait_for(READER, 2)


async def test_an_address_that_cannot_go_on_the_wire_delays_nobody(start, folder, sink):
    clock = FakeClock(NOW)
    client = await start(sink.url, clock, mail_connections=2)
    await all_subscribed(client, sink, OTHERS)
    # Written before the rule (sign-up refuses it now): a local part beyond ASCII, first.
    with client.service.database.engine.begin() as connection:
        connection.execute(
            sa.update(subscribers).where(subscribers.c.address == OTHERS[0])
            .values(address="üser@example.org")
        )  # fmt: skip
    await go_live(client, folder, clock)
    clock.advance(NOW + timedelta(minutes=4))
    await client.service.mailer.round()
    for address in OTHERS[1:]:
        await sink.wait_for(address, 2)
    (aside,) = [m for m in rows(client, "messages") if m.set_aside_at is not None]
    assert "SMTPUTF8" in aside.last_error and "üser" not in aside.last_error
    assert (await health(client))["email"]["set_aside"] == 1


async def test_a_message_that_cannot_be_made_is_set_aside_not_retried(
    start, folder, sink, monkeypatch
):
    clock = FakeClock(NOW)
    client = await start(sink.url, clock)
    from syndicate.mail import messages

    def broken(self, due, now):  # type: ignore[no-untyped-def]
        raise ValueError("a template fault")

    monkeypatch.setattr(messages.Composer, "confirmation", broken)
    assert (await sign_up(client)).status == 202
    await client.service.mailer.round()
    clock.advance(NOW + timedelta(hours=2))
    await client.service.mailer.round()
    (message,) = rows(client, "messages")
    assert message.set_aside_at is not None and "a template fault" in message.last_error
    assert sink.received == []


async def test_a_domain_beyond_ascii_is_mailed_in_idna(start, sink):
    client = await start(sink.url, FakeClock(NOW))
    assert (await sign_up(client, "someone@xn--exmple-cua.org")).status == 202
    await client.service.mailer.round()
    (message,) = await sink.wait_for("someone@xn--exmple-cua.org")
    assert message["To"] == "someone@xn--exmple-cua.org"


async def test_a_local_part_beyond_ascii_is_refused_at_sign_up_with_a_reason(start, sink):
    client = await start(sink.url, FakeClock(NOW))
    response = await sign_up(client, "üser@example.org")
    assert response.status == 400
    assert "before the @" in await response.text()
    assert rows(client, "subscribers") == []


async def test_no_password_goes_to_a_relay_that_offers_no_tls(start):
    with smtp_sink(password="s3cret") as sink:
        url = sink.url.replace("smtp://", "smtp://relay:s3cret@")
        client = await start(url, FakeClock(NOW))
        await sign_up(client)
        await client.service.mailer.round()
        assert sink.received == []
        state = await health(client)
        reason = state["background"]["email"]["reason"]
        assert "STARTTLS" in reason and "SYNDICATE_SMTP_CLEARTEXT_AUTH" in reason
        assert "s3cret" not in reason


async def test_the_operator_may_allow_a_password_in_clear_in_so_many_words(start):
    with smtp_sink(password="s3cret") as sink:
        url = sink.url.replace("smtp://", "smtp://relay:s3cret@")
        client = await start(url, FakeClock(NOW), smtp_cleartext_auth="allow")
        await sign_up(client)
        await client.service.mailer.round()
        await sink.wait_for(READER)


async def test_a_wrong_password_bounces_nobody_and_says_so_without_the_password(start, folder):
    with smtp_sink(password="right-one") as sink:
        url = sink.url.replace("smtp://", "smtp://relay:wrong-one@")
        client = await start(url, FakeClock(NOW), smtp_cleartext_auth="allow", mail_connections=2)
        for address in (READER, *OTHERS[:2]):  # three messages due, two sessions allowed
            await sign_up(client, address)
        await client.service.mailer.round()
        # One failed login for the round: not one per session, nor one per mechanism.
        assert len(sink.logins) == 1 and sink.logins[0][1] is False
        state = await health(client)
        assert "535" in state["background"]["email"]["reason"]
        assert "wrong-one" not in str(state)
        assert [r.bounced_at for r in rows(client, "subscribers")] == [None] * 3
        assert all(m.failed_at is None and m.attempts == 0 for m in rows(client, "messages"))
