"""Email updates' throughput: one new item to N confirmed subscribers, the time until an SMTP
sink has every message, against a bare aiosmtplib loop sending the same messages (the bytes
ours sent, prepared beforehand) to the same sink over as many sessions. Prints JSON: bare_s, ours_s, ratio (bare / ours: 1 means as fast
as the loop; target >= 0.8; the median of `--rounds` turns of ours then the loop, one new
item each, the turns' ratios in `ratios`), signup_ms and signup_idle_ms (the median time of a sign-up POST
with 50 concurrent clients, and alone: at least the 50 ms floor every sign-up takes). Ours
sends with a return path per message (VERP) and the bounce listener on; the loop sends the
same bytes from the same return paths.

    python bench/email_updates.py [--recipients 10000] [--rounds 5]

The sink runs in its own process (aiosmtpd), so the sender and the sink do not share a core's
interpreter; both measurements are in this run, so the ratio compares like with like.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiosmtplib  # noqa: E402
import sqlalchemy as sa  # noqa: E402

SESSIONS = 4
ITEM = """item:
  id: bench-item
  type: voices
  title: A new voice for the benchmark
  summary: One item, every subscriber.
  url: https://www.opensocietyfoundations.org/voices/bench-item
  published: 2026-01-01T09:00
  topics: [harm-reduction]
"""


def sink_process(port: int, count: multiprocessing.sharedctypes.Synchronized[int]) -> None:
    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            with count.get_lock():
                count.value += len(envelope.rcpt_tos)
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    while True:
        time.sleep(3600)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for(count, target: int) -> None:  # type: ignore[no-untyped-def]
    while count.value < target:
        await asyncio.sleep(0.005)


async def bare(port: int, prepared: list[tuple[bytes, str, str]], count) -> float:  # type: ignore[no-untyped-def]
    """The reference: `prepared` (each message ours sent, as bytes, its envelope sender, a
    return path of its own, and its recipient) sent by a plain aiosmtplib loop over as many
    sessions, nothing else done."""
    start_count = count.value
    started = time.perf_counter()

    async def session(share: list[tuple[bytes, str, str]]) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        for data, sender, recipient in share:
            await client.sendmail(sender, [recipient], data)
        await client.quit()

    await asyncio.gather(*(session(prepared[i::SESSIONS]) for i in range(SESSIONS)))
    await wait_for(count, start_count + len(prepared))
    return time.perf_counter() - started


def add_subscribers(engine, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    from syndicate.people.database import subscribers, subscriptions

    now = datetime.now(UTC)
    addresses = [f"reader{n:05d}@example.org" for n in range(count)]
    with engine.begin() as connection:
        connection.execute(sa.insert(subscribers), [
            {"address": a, "created_at": now, "confirmed_at": now,
             "token_key": secrets.token_hex(16)} for a in addresses])  # fmt: skip
        ids = connection.execute(sa.select(subscribers.c.id)).scalars().all()
        connection.execute(sa.insert(subscriptions), [
            {"subscriber_id": i, "topic": "*", "type": "*", "frequency": "instant",
             "created_at": now, "confirmed_at": now} for i in ids])  # fmt: skip
    return addresses


async def start_ours(tmp: Path, port: int, recipients: int):  # type: ignore[no-untyped-def]
    """Our service, `recipients` confirmed subscribers, nothing due yet; what it sends kept."""
    from syndicate.settings import Settings
    from syndicate.web import Service

    folder = tmp / "content"
    shutil.copytree(ROOT / "tests" / "fixtures" / "content", folder)
    settings = Settings(
        config=folder, state_dir=tmp / "state", public_url="https://feeds.example.org",
        watch=False, access_log=False, smtp_url=f"smtp://127.0.0.1:{port}",
        mail_from="updates@example.org", mail_rate=100_000, mail_connections=SESSIONS,
        mail_batch=0, mail_return_path="bounces@bounces.example.org",
        bounce_listen=("127.0.0.1", free_port()),
    )  # fmt: skip
    from syndicate.mail import relay

    service = Service(settings)
    service.sent = []  # what ours sent in a round, for the reference to send again
    send = relay.Connection.send

    async def keeping(self, data: bytes, sender: str, recipient: str):  # type: ignore[no-untyped-def]
        service.sent.append((data, sender, recipient))
        return await send(self, data, sender, recipient)

    relay.Connection.send = keeping  # type: ignore[method-assign]
    mailer = service.mailer
    assert mailer is not None
    # The listener for bounces runs beside the sender, as it does in a service (its task
    # alone: the sender's rounds are driven here).
    from syndicate.web import returns

    assert service.returns is not None and settings.bounce_listen is not None
    service.listening = asyncio.create_task(returns.listen(
        service.returns, service.health, *settings.bounce_listen, asyncio.Event()
    ))  # fmt: skip
    await mailer.round()  # takes note of what is live: nobody gets the back catalogue
    add_subscribers(service.database.engine, recipients)
    service.folder = folder
    return service


async def ours(service, n: int, recipients: int, count) -> tuple[float, list]:  # type: ignore[no-untyped-def]
    """Item `n` goes live: the seconds until the sink has every subscriber's email."""
    service.sent = []
    (service.folder / "items" / f"bench-{n}.yaml").write_text(
        ITEM.replace("bench-item", f"bench-item-{n}")
    )
    start_count = count.value
    assert await service.store.reload("bench")  # the item is live: its emails are due
    started = time.perf_counter()
    while count.value < start_count + recipients:
        await service.mailer.round()
    return time.perf_counter() - started, service.sent


async def signups(service, clients: int = 50, each: int = 4) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Median milliseconds of a sign-up POST: alone, then with `clients` at once."""
    from aiohttp.test_utils import RawTestServer, TestClient

    server = RawTestServer(service.handle)
    client = TestClient(server)
    await client.start_server()
    service.people.limiter.limit = 10**9  # one client address stands for many people here

    async def one(n: int) -> float:
        started = time.perf_counter()
        response = await client.post("/email/subscribe", json={"email": f"new{n}@example.org"})
        assert response.status == 202, await response.text()
        return (time.perf_counter() - started) * 1000

    idle = [await one(n) for n in range(20)]

    async def client_loop(k: int) -> list[float]:
        return [await one(1000 + k * each + i) for i in range(each)]

    busy = [t for found in await asyncio.gather(*(client_loop(k) for k in range(clients)))
            for t in found]  # fmt: skip
    await client.close()
    return statistics.median(idle), statistics.median(busy)


async def main_async(recipients: int, rounds: int) -> dict[str, object]:
    port = free_port()
    count = multiprocessing.Value("i", 0)
    sink = multiprocessing.Process(target=sink_process, args=(port, count), daemon=True)
    sink.start()
    try:
        for _ in range(200):
            try:
                probe = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
                await probe.connect()
                await probe.quit()
                break
            except OSError:
                await asyncio.sleep(0.05)
        with tempfile.TemporaryDirectory(prefix="syndicate-email-bench-") as name:
            service = await start_ours(Path(name), port, recipients)
            runs = []  # (ours, bare) by turns: a run of either alone varied 0.6-0.9
            for n in range(rounds):
                ours_s, prepared = await ours(service, n, recipients, count)
                runs.append((ours_s, await bare(port, prepared, count)))
            idle_ms, busy_ms = await signups(service)
            service.listening.cancel()
            await service.stop()
    finally:
        sink.terminate()
    ratios = [bare_s / ours_s for ours_s, bare_s in runs]
    return {"recipients": recipients, "rounds": rounds,
            "bare_s": statistics.median(b for _, b in runs),
            "ours_s": statistics.median(o for o, _ in runs),
            "ratio": statistics.median(ratios), "ratios": [round(r, 3) for r in ratios],
            "signup_idle_ms": idle_ms, "signup_ms": busy_ms}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args.recipients, args.rounds))))


if __name__ == "__main__":
    main()
