"""What comes back after the relay said 250 (issue 29, A3): a return path per message (VERP), the
listener the relay hands DSNs and complaints to, and the providers' webhooks. The fast half,
with reports built as Postfix and feedback loops write them; tests/test_email_postfix.py has
Postfix write a real DSN.

Rules, and the ways each is broken here:
- each message's envelope sender is its own signed return path, naming no address;
- a hard DSN (5.1.1) to a return path suppresses that subscriber and nobody else; a soft
  one (5.2.2, 4.x.x) counts, and the fifth suppresses; a delay, a success, an auto-reply
  do nothing;
- a forged token, a token of an erased subscriber (its row id reused), a report to an
  address that is not ours: nothing (refused at RCPT TO, or ignored);
- an ARF complaint suppresses, found by the signed unsubscribe link it quotes;
- Postmark's webhook needs its basic auth; Mailgun's a signature by the key, a timestamp
  within 5 minutes, and a token never seen before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa

from syndicate.mail import verp
from syndicate.people.database import subscribers
from tests.fakeclock import FakeClock
from tests.live import free_port
from tests.smtp import email_settings
from tests.test_email import NOW, all_subscribed, go_live, rows

RETURN_PATH = "bounces@bounces.example.org"
READERS = [f"reader{n}@example.org" for n in range(3)]
POSTMARK = "postmark:correct-horse-battery"
MAILGUN_KEY = "key-0123456789abcdef0123"


@pytest.fixture
def listen_port() -> int:
    return free_port()


@pytest.fixture
def start(serve, folder: Path, tmp_path: Path, sink, listen_port):  # type: ignore[no-untyped-def]
    async def starting(**settings: object):  # type: ignore[no-untyped-def]
        clock = FakeClock(NOW)
        options = {"mail_return_path": RETURN_PATH, "bounce_listen": ("127.0.0.1", listen_port),
                   "postmark_webhook": POSTMARK, "mailgun_signing_key": MAILGUN_KEY,
                   **settings}  # fmt: skip
        client = await serve(email_settings(folder, tmp_path / "state", sink.url, **options), clock)
        client.clock = clock
        await wait_listening(listen_port)
        return client

    return starting


async def wait_listening(port: int) -> None:
    import asyncio

    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise AssertionError("the listener never listened")


async def three_with_an_update(client, sink, folder):  # type: ignore[no-untyped-def]
    """Three confirmed subscribers, each sent one update; their update's return path."""
    await all_subscribed(client, sink, READERS)
    await go_live(client, folder, client.clock)
    client.clock.advance(NOW + timedelta(minutes=4))
    await client.service.mailer.round()
    paths = {}
    for address in READERS:
        await sink.wait_for(address, 2)
        index = max(i for i, (to, _) in enumerate(sink.received) if to == address)
        paths[address] = sink.senders[index]
    return paths


def dsn(to: str, status: str, action: str = "failed", recipient: str = "x@example.org") -> bytes:
    """A delivery status notification as Postfix's bounce daemon writes one (RFC 3464)."""
    return f"""\
From: MAILER-DAEMON@relay.example.net (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not be delivered.

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.net
Arrival-Date: Mon, 30 Nov 2026 15:04:00 +0000

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected

--B1
Content-Type: text/rfc822-headers

From: updates@example.org
Subject: the original

--B1--
""".replace("\n", "\r\n").encode()


async def deliver(port: int, recipient: str, data: bytes) -> None:
    """Hand a report to the listener as an MTA would (smtplib, in a thread: the listener
    runs on this test's event loop)."""
    import asyncio

    def send() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as relay:
            relay.sendmail("", [recipient], data)

    await asyncio.to_thread(send)


async def bounced(client) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    return {r.address: r.bounce_reason for r in rows(client, "subscribers") if r.bounced_at}


async def test_every_message_leaves_with_its_own_signed_return_path(start, sink, folder):
    client = await start()
    paths = await three_with_an_update(client, sink, folder)
    assert len(set(paths.values())) == 3
    by_address = {r.address: r for r in rows(client, "subscribers")}
    secret = client.service.mailer.secret
    for address, path in paths.items():
        assert address.split("@")[0] not in path  # no address in the envelope sender
        token = verp.read(path, RETURN_PATH)
        assert token is not None and token.subscriber == by_address[address].id
        assert verp.verify(token, by_address[address].token_key, secret)
        assert len(path.split("@")[0]) <= 64


async def test_a_hard_dsn_suppresses_its_subscriber_and_nobody_else(
    start, sink, folder, listen_port
):
    client = await start()
    paths = await three_with_an_update(client, sink, folder)
    await deliver(listen_port, paths[READERS[1]], dsn(paths[READERS[1]], "5.1.1"))
    assert await bounced(client) == {READERS[1]: "hard: dsn 5.1.1"}
    metrics = await (await client.get("/metrics")).text()
    assert 'syndicate_email_returns_total{kind="hard",outcome="suppressed"} 1.0' in metrics


@pytest.mark.parametrize(
    ("status", "action"),
    [("4.4.1", "delayed"), ("2.0.0", "delivered"), ("5.7.1", "relayed")],
)
async def test_delays_and_successes_change_nothing(
    start, sink, folder, listen_port, status, action
):
    client = await start()
    paths = await three_with_an_update(client, sink, folder)
    await deliver(listen_port, paths[READERS[0]], dsn(paths[READERS[0]], status, action))
    assert await bounced(client) == {}
    assert [r.soft_bounces for r in rows(client, "subscribers")] == [0, 0, 0]  # not even soft


async def test_soft_bounces_count_and_the_fifth_suppresses(start, sink, folder, listen_port):
    client = await start()
    paths = await three_with_an_update(client, sink, folder)
    path = paths[READERS[2]]
    for n, status in enumerate(["5.2.2", "4.4.7", "5.7.1", "5.2.2"]):
        await deliver(listen_port, path, dsn(path, status))
        client.clock.advance(NOW + timedelta(days=n + 1))
    assert await bounced(client) == {}
    assert rows(client, "subscribers")[2].soft_bounces == 4
    await deliver(listen_port, path, dsn(path, "5.2.2"))
    assert await bounced(client) == {READERS[2]: "soft x5: dsn 5.2.2"}


async def test_soft_bounces_a_month_apart_start_the_count_again(start, sink, folder, listen_port):
    client = await start()
    paths = await three_with_an_update(client, sink, folder)
    path = paths[READERS[0]]
    for n in range(6):
        await deliver(listen_port, path, dsn(path, "5.2.2"))
        client.clock.advance(NOW + timedelta(days=31 * (n + 1)))
    assert await bounced(client) == {}


async def test_a_forged_or_stale_token_suppresses_nobody(start, sink, folder, listen_port):
    client = await start()
    paths = await three_with_an_update(client, sink, folder)
    token = verp.read(paths[READERS[0]], RETURN_PATH)
    assert token is not None
    forged = f"bounces+{token.subscriber}x{token.message}x{'0' * 20}@bounces.example.org"
    await deliver(listen_port, forged, dsn(forged, "5.1.1"))
    # Erased (a new token key, as for a subscriber whose row id was reused): no match.
    with client.service.database.engine.begin() as connection:
        connection.execute(sa.update(subscribers).where(subscribers.c.address == READERS[1])
                           .values(token_key="f" * 32))  # fmt: skip
    await deliver(listen_port, paths[READERS[1]], dsn(paths[READERS[1]], "5.1.1"))
    assert await bounced(client) == {}


async def test_the_listener_refuses_mail_for_anyone_else(start, listen_port):
    await start()
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await deliver(listen_port, "reader0@example.org", b"Subject: x\r\n\r\nhi\r\n")
    assert refused.value.recipients["reader0@example.org"][0] == 550


async def test_an_auto_reply_to_a_return_path_changes_nothing(start, sink, folder, listen_port):
    client = await start()
    paths = await three_with_an_update(client, sink, folder)
    reply = EmailMessage()
    reply["Subject"] = "Out of office"
    reply["Auto-Submitted"] = "auto-replied"
    reply.set_content("I am away until Monday. Your message could not be read.")
    await deliver(listen_port, paths[READERS[0]], reply.as_bytes())
    assert await bounced(client) == {}
    assert [r.soft_bounces for r in rows(client, "subscribers")] == [0, 0, 0]


async def test_an_arf_complaint_suppresses_by_the_unsubscribe_link_it_quotes(
    start, sink, folder, listen_port
):
    client = await start()
    await three_with_an_update(client, sink, folder)
    raw = [data for to, data in sink.raw if to == READERS[0]][-1]
    original = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]  # its headers, as sent
    complaint = (
        b"""\
From: feedback@fbl.example.net
To: bounces@bounces.example.org
Subject: FW: complaint
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F1"

--F1
Content-Type: text/plain

This is an email abuse report (RFC 5965).

--F1
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeFBL/1.0
Version: 1

--F1
Content-Type: text/rfc822-headers

"""
        + original
        + b"""

--F1--
"""
    )
    # A feedback loop sends to the bare return path: whom it is about is in what it quotes.
    await deliver(listen_port, RETURN_PATH, complaint.replace(b"\n", b"\r\n"))
    assert await bounced(client) == {READERS[0]: "complaint: arf abuse"}


async def test_postmark_webhooks_need_their_basic_auth(start, sink, folder):
    client = await start()
    await three_with_an_update(client, sink, folder)
    event = {"RecordType": "Bounce", "Type": "HardBounce", "TypeCode": 1, "Email": READERS[0]}
    wrong = base64.b64encode(b"postmark:wrong-password-xyz").decode()
    refused = await client.post("/email/webhooks/postmark", json=event,
                                headers={"Authorization": f"Basic {wrong}"})  # fmt: skip
    assert refused.status == 401 and "WWW-Authenticate" in refused.headers
    assert (await client.post("/email/webhooks/postmark", json=event)).status == 401
    assert await bounced(client) == {}
    right = base64.b64encode(POSTMARK.encode()).decode()
    taken = await client.post("/email/webhooks/postmark", json=event,
                              headers={"Authorization": f"Basic {right}"})  # fmt: skip
    assert taken.status == 200
    complaint = {"RecordType": "SpamComplaint", "Type": "SpamComplaint", "Email": READERS[1]}
    await client.post("/email/webhooks/postmark", json=complaint,
                      headers={"Authorization": f"Basic {right}"})  # fmt: skip
    assert await bounced(client) == {
        READERS[0]: "hard: postmark HardBounce",
        READERS[1]: "complaint: postmark SpamComplaint",
    }


def mailgun(event: dict, timestamp: int, token: str = "t" * 50, key: str = MAILGUN_KEY) -> dict:  # type: ignore[type-arg]
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"signature": {"timestamp": str(timestamp), "token": token, "signature": signature},
            "event-data": event}  # fmt: skip


async def test_mailgun_webhooks_need_a_fresh_signature_by_the_key(start, sink, folder):
    client = await start()
    await three_with_an_update(client, sink, folder)
    now = int(client.clock.now().timestamp())
    failed = {"event": "failed", "severity": "permanent", "recipient": READERS[2],
              "delivery-status": {"code": 550, "enhanced-code": "5.1.1", "message": "no such user"}}  # fmt: skip
    hook = "/email/webhooks/mailgun"
    assert (
        await client.post(hook, json=mailgun(failed, now, key="key-not-the-right-one"))
    ).status == 403
    assert (await client.post(hook, json=mailgun(failed, now - 301))).status == 403
    temporary = {**failed, "severity": "temporary"}
    assert (await client.post(hook, json=mailgun(temporary, now, token="a" * 50))).status == 200
    assert await bounced(client) == {}
    assert (await client.post(hook, json=mailgun(failed, now, token="b" * 50))).status == 200
    replayed = await client.post(hook, json=mailgun(failed, now, token="b" * 50))
    assert replayed.status == 403 and "replay" in (await replayed.json())["message"]
    assert await bounced(client) == {READERS[2]: "hard: mailgun failed 5.1.1"}


async def test_a_webhook_not_configured_is_not_there(start):
    client = await start(postmark_webhook=None)
    assert (await client.post("/email/webhooks/postmark", json={})).status == 404
    assert (await client.post("/email/webhooks/sendgrid", json={})).status == 404


def test_one_report_cannot_be_replayed_into_another_subscriber():
    """The token's MAC covers the subscriber and the message: neither can be changed."""
    secret, key = b"s" * 32, "k" * 32
    path = verp.return_path(RETURN_PATH, 7, 70, key, secret)
    token = verp.read(path, RETURN_PATH)
    assert token is not None and verp.verify(token, key, secret)
    assert not verp.verify(verp.ReturnToken(8, 70, token.mac), key, secret)
    assert not verp.verify(verp.ReturnToken(7, 71, token.mac), key, secret)


async def test_stopping_closes_a_relays_idle_connection_to_the_listener(start, listen_port):
    """Postfix keeps idle connections for reuse; stopping must close them, not leak them."""
    import asyncio

    client = await start()
    reader, writer = await asyncio.open_connection("127.0.0.1", listen_port)
    assert (await reader.readline()).startswith(b"220")
    writer.write(b"EHLO relay.example.net\r\n")
    await writer.drain()
    assert b"250" in await reader.readline()
    client.service._stop_watching.set()  # the service stopping: the listener's task ends
    assert await asyncio.wait_for(reader.read(), timeout=5) is not None
    assert reader.at_eof()  # the listener closed it
    writer.close()
