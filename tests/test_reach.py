"""Reach counted as feeds are served (web/reach.py), through real HTTP: requests from several
addresses and recorded clients over a fake midnight give the figures they imply, and nothing
stored or logged holds an address or a person's User-Agent."""

from __future__ import annotations

import asyncio
import io
import shutil
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from syndicate.people.database import metadata
from syndicate.settings import Settings
from tests.conftest import CONTENT
from tests.fakeclock import FakeClock
from tests.people import ENGINES, fresh_database_url

PUBLIC = "http://feeds.example.org"
# 23:50 on 30 November in New York (the fixture site's zone): ten minutes before midnight.
BEFORE_MIDNIGHT = datetime(2026, 12, 1, 4, 50, tzinfo=UTC)
DAY1, DAY2 = date(2026, 11, 30), date(2026, 12, 1)
FEED = "/topics/harm-reduction/feed.atom"
NEWSBOAT = "newsboat/2.30.1 (Linux x86_64)"
MINIFLUX = "Mozilla/5.0 (compatible; Miniflux/2.0.51; +https://miniflux.app)"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
APPLE = "macOS/14.2.1 (23C71) dataaccessd/1.0"


def feedly(n: int) -> str:
    return f"Feedly/1.0 (+http://www.feedly.com/fetcher.html; {n} subscribers; like FeedFetcher-Google)"


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    if request.param == "sqlite":
        return None
    return fresh_database_url("postgresql", tmp_path, request)


@pytest.fixture
def start(serve, tmp_path: Path, database):  # type: ignore[no-untyped-def]
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)

    async def starting(clock: FakeClock | None = None, **options):  # type: ignore[no-untyped-def]
        options = {"access_log": False, **options}
        settings = Settings(
            config=folder, state_dir=tmp_path / "state", public_url=PUBLIC, watch=False,
            database_url=database, reach=True, **options,
        )  # fmt: skip
        return await serve(settings, clock or FakeClock(BEFORE_MIDNIGHT))

    return starting


class Sent:
    """What the test client sent and received, to compute the expected figures from."""

    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.bytes: Counter[str] = Counter()
        self.sizes: list[int] = []  # each body's, in order

    async def get(self, path: str, user_agent: str, address: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
        if address is not None:
            headers["X-Forwarded-For"] = address
        response = await self.client.get(path, headers={"User-Agent": user_agent, **headers})
        body = await response.read()
        self.requests[path] += 1
        self.statuses[(path, response.status)] += 1
        self.bytes[path] += len(body)
        self.sizes.append(len(body))
        return response


def stored(client, day: date) -> dict[tuple[str, str, str], int]:  # type: ignore[no-untyped-def]
    from syndicate.people import reach

    rows = reach.rows(client.service.database.engine, day)
    return {(r.path, r.measure, r.detail): r.value for r in rows if r.day == day}


async def test_figures_equal_what_the_requests_imply_across_midnight(start):
    clock = FakeClock(BEFORE_MIDNIGHT)
    client = await start(clock)
    sent = Sent(client)
    await sent.get(FEED, feedly(16))
    await sent.get(FEED, feedly(15))  # the latest figure of the day is the one kept
    await sent.get(FEED, "Mozilla/5.0 (compatible; inoreader.com; 3 subscribers)")
    first = await sent.get(FEED, NEWSBOAT, "198.51.100.7")
    await sent.get(FEED, NEWSBOAT, "198.51.100.7", **{"If-None-Match": first.headers["ETag"]})
    await sent.get(FEED, NEWSBOAT, "198.51.100.7")
    await sent.get(FEED, NEWSBOAT, "198.51.100.8")  # another address: another poller
    await sent.get(FEED, MINIFLUX, "198.51.100.7")  # another client at the same address, too
    await sent.get(FEED, GOOGLEBOT, "66.249.66.1")
    await client.service.reach.flush()

    clock.advance(BEFORE_MIDNIGHT + timedelta(minutes=15))  # 00:05 on 1 December
    await sent.get(FEED, NEWSBOAT, "198.51.100.7")  # the same poller, a new day: counted again
    await client.service.reach.flush()  # closes the 30th: its pollers counted, hashes gone

    day1 = stored(client, DAY1)
    people = sent.requests[FEED] - 1 - 1  # but the bot, and the one of the next day
    assert day1[(FEED, "requests", "")] == people
    assert day1[(FEED, "ok", "")] == people - 1 and day1[(FEED, "not_modified", "")] == 1
    assert sent.statuses[(FEED, 304)] == 1
    assert day1[(FEED, "bots", "")] == 1
    assert day1[(FEED, "subscribers", "Feedly")] == 15
    assert day1[(FEED, "subscribers", "Inoreader")] == 3
    assert day1[(FEED, "pollers", "newsboat")] == 2 and day1[(FEED, "pollers", "Miniflux")] == 1
    bot, next_day = sent.sizes[-2], sent.sizes[-1]
    assert day1[(FEED, "bytes", "")] == sum(sent.sizes) - bot - next_day
    day2 = stored(client, DAY2)
    assert day2[(FEED, "pollers", "newsboat")] == 1 and day2[(FEED, "requests", "")] == 1
    with client.service.database.engine.connect() as connection:
        hashes = connection.execute(sa.select(metadata.tables["reach_pollers"])).all()
    assert {row.day for row in hashes} == {DAY2}  # nothing finer than a day kept past it


async def test_calendars_count_subscribing_apps_and_event_downloads(start):
    client = await start()
    sent = Sent(client)
    for address in ("198.51.100.1", "198.51.100.2", "198.51.100.1"):
        await sent.get("/events.ics", APPLE, address)
    await sent.get("/items/drugs-in-documentary-films.ics", "Mozilla/5.0 (X11; Linux x86_64)")
    await client.service.reach.flush()
    day = stored(client, DAY1)
    assert day[("/events.ics", "pollers", "Apple Calendar")] == 2
    assert day[("/items/drugs-in-documentary-films.ics", "requests", "")] == 1


async def test_partners_are_counted_by_their_origin_and_way_of_embedding(start):
    client = await start()
    sent = Sent(client)
    browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
    json_feed = "/topics/harm-reduction/feed.json"
    await sent.get(json_feed, browser, Origin="https://partner.example")
    await sent.get(json_feed, browser, Origin="https://partner.example")
    await sent.get(json_feed, browser, Origin=PUBLIC)  # our own embed builder: not a partner
    frame = "/embed/topics/harm-reduction/feed.html"
    await sent.get(frame, browser, Referer="https://other.example/news/page?id=7#top")
    fragment = "/topics/harm-reduction/feed.html"
    await sent.get(fragment, "python-requests/2.31")  # a partner's server: no origin sent
    await client.service.reach.flush()
    day = stored(client, DAY1)
    assert day[(json_feed, "component", "https://partner.example")] == 2
    assert (json_feed, "component", PUBLIC) not in day
    assert day[(frame, "iframe", "https://other.example")] == 1
    assert day[(fragment, "fragment", "(a server)")] == 1
    assert not any(m == "pollers" for (_, m, _) in day)  # a partner's visitors are not pollers


async def test_nothing_stored_holds_an_address_or_a_user_agent(start):
    client = await start()
    agents = [NEWSBOAT, MINIFLUX, APPLE, "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Firefox/120.0"]
    for n, agent in enumerate(agents):
        await client.get(
            FEED, headers={"User-Agent": agent, "X-Forwarded-For": f"198.51.100.{n + 10}"}
        )
    await client.get("/events.ics", headers={"User-Agent": APPLE})
    await client.service.reach.flush()
    with client.service.database.engine.connect() as connection:
        stored_text = " ".join(
            str(value)
            for table in metadata.sorted_tables
            for row in connection.execute(sa.select(table)).all()
            for value in row
        )
    assert "newsboat" in stored_text  # the family, from a fixed list
    for n in range(len(agents)):
        assert f"198.51.100.{n + 10}" not in stored_text
    assert "127.0.0.1" not in stored_text
    for agent in agents:
        assert agent not in stored_text


@pytest.mark.parametrize(
    ("peer", "logged"),
    [("198.51.100.77", "198.51.100.0/24"), ("2001:db8:1234:5678::9", "2001:db8:1234::/48"),
     ("::ffff:198.51.100.77", "198.51.100.0/24")],
)  # fmt: skip
def test_the_access_log_holds_a_network_and_a_kind_of_client_not_a_person(peer, logged):
    from unittest import mock

    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from syndicate.web.accesslog import AccessLog, logger_class

    stream = io.StringIO()
    sink = AccessLog(stream)
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (peer, 40000) if name == "peername" else default
    )
    request = make_mocked_request("GET", FEED, headers={"User-Agent": MINIFLUX},
                                  transport=transport)  # fmt: skip
    logger_class(sink)(None, "").log(request, web.Response(), 0.001)  # type: ignore[arg-type]
    sink.flush()
    line = stream.getvalue()
    assert f" {logged} " in line and '"Miniflux"' in line
    assert peer not in line and MINIFLUX not in line


async def test_counts_reach_the_database_every_minute_without_a_stop(start, monkeypatch):
    monkeypatch.setattr("syndicate.web.reach.FLUSH_EVERY", 0.05)
    client = await start()
    await client.get(FEED, headers={"User-Agent": NEWSBOAT})
    for _ in range(100):
        if stored(client, DAY1).get((FEED, "requests", "")) == 1:
            break
        await asyncio.sleep(0.02)
    assert stored(client, DAY1)[(FEED, "requests", "")] == 1


async def test_a_failed_write_is_degraded_and_loses_nothing(start, monkeypatch):
    from syndicate.people import reach as stored_reach

    client = await start()
    await client.get(FEED, headers={"User-Agent": NEWSBOAT})
    real = stored_reach.add

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(stored_reach, "add", broken)
    from syndicate.people.database import DatabaseUnavailable

    with pytest.raises(DatabaseUnavailable, match="disk I/O error"):
        await client.service.reach.flush()
    monkeypatch.setattr(stored_reach, "add", real)
    await client.get(FEED, headers={"User-Agent": NEWSBOAT})
    await client.service.reach.flush()
    assert stored(client, DAY1)[(FEED, "requests", "")] == 2


async def test_metrics_show_reach_without_a_label_per_partner(start):
    client = await start()
    await client.get(FEED, headers={"User-Agent": NEWSBOAT})
    await client.get("/topics/harm-reduction/feed.json",
                     headers={"Origin": "https://partner.example"})  # fmt: skip
    await client.get(FEED, headers={"User-Agent": feedly(7)})
    await client.service.reach.flush()
    text = await (await client.get("/metrics")).text()
    assert 'syndicate_reach_requests_total{answer="ok",kind="feed"} 3.0' in text
    assert 'syndicate_reach_embeds_total{embed="component"} 1.0' in text
    assert 'syndicate_reach_subscribers{reader="Feedly"} 7.0' in text
    assert "syndicate_reach_pollers 1.0" in text
    assert "partner.example" not in text


async def test_counting_is_off_unless_asked_for(serve, tmp_path):
    client = await serve(Settings(config=CONTENT, state_dir=tmp_path, public_url=PUBLIC,
                                  watch=False, access_log=False))  # fmt: skip
    assert client.service.reach is None and client.service.database is None
    assert "syndicate_reach" not in await (await client.get("/metrics")).text()


async def test_a_pollers_hashes_of_two_days_cannot_be_linked_nor_recomputed(start):
    import hashlib

    clock = FakeClock(BEFORE_MIDNIGHT)
    client = await start(clock)
    engine = client.service.database.engine
    await client.get(FEED, headers={"User-Agent": NEWSBOAT, "X-Forwarded-For": "198.51.100.7"})
    await client.service.reach.flush()
    clock.advance(BEFORE_MIDNIGHT + timedelta(minutes=11))  # 00:01, before the day is closed
    await client.get(FEED, headers={"User-Agent": NEWSBOAT, "X-Forwarded-For": "198.51.100.7"})
    await client.service.reach.flush()
    with engine.connect() as connection:
        hashes = {row.day: row.hash for row in
                  connection.execute(sa.select(metadata.tables["reach_pollers"])).all()}  # fmt: skip
    assert set(hashes) == {DAY1, DAY2} and hashes[DAY1] != hashes[DAY2]
    unsalted = f"{FEED}\0198.51.100.7\0{NEWSBOAT}".encode()
    for guess in (hashlib.blake2b(unsalted, digest_size=16).hexdigest(),
                  hashlib.sha256(unsalted).hexdigest()[:32]):  # fmt: skip
        assert guess not in hashes.values()


async def test_a_forwarded_address_counts_only_from_a_trusted_proxy(start):
    client = await start(trusted_proxies="10.9.9.9")  # not the test client's address
    for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        await client.get(FEED, headers={"User-Agent": NEWSBOAT, "X-Forwarded-For": address})
    await client.service.reach.flush()
    assert stored(client, DAY1)[(FEED, "pollers", "newsboat")] == 1  # the peer, three times


async def test_an_answer_given_just_before_midnight_is_counted_in_its_day(start):
    clock = FakeClock(BEFORE_MIDNIGHT + timedelta(minutes=9, seconds=59, milliseconds=900))
    client = await start(clock)  # 23:59:59.9
    await client.get(FEED, headers={"User-Agent": NEWSBOAT})  # to be counted at midnight
    clock.advance(BEFORE_MIDNIGHT + timedelta(minutes=10, seconds=5))  # 00:00:05
    for _ in range(100):  # the count due at midnight (0.1 s after the answer) is done
        if not client.service.reach.noted:
            break
        await asyncio.sleep(0.05)
    assert not client.service.reach.noted
    await client.get(FEED, headers={"User-Agent": MINIFLUX})  # after midnight
    await client.service.reach.flush()
    assert stored(client, DAY1)[(FEED, "requests", "")] == 1
    assert stored(client, DAY1)[(FEED, "pollers", "newsboat")] == 1
    assert stored(client, DAY2)[(FEED, "requests", "")] == 1
    assert stored(client, DAY2)[(FEED, "pollers", "Miniflux")] == 1


async def test_a_clients_answers_waiting_together_are_each_counted(start, monkeypatch):
    monkeypatch.setattr("syndicate.web.reach.NOTE_SECONDS", 60.0)  # however slow the machine
    client = await start()
    sent = Sent(client)
    first = await sent.get(FEED, NEWSBOAT, "198.51.100.7")
    for _ in range(3):
        await sent.get(FEED, NEWSBOAT, "198.51.100.7", **{"If-None-Match": first.headers["ETag"]})
    await sent.get(FEED, NEWSBOAT, "198.51.100.7")
    assert len(client.service.reach.noted) == 1  # one client, five answers, not yet counted
    await client.service.reach.flush()
    day = stored(client, DAY1)
    assert day[(FEED, "requests", "")] == 5
    assert (day[(FEED, "ok", "")], day[(FEED, "not_modified", "")]) == (2, 3)
    assert day[(FEED, "bytes", "")] == sum(sent.sizes) and sent.sizes[1] == 0
    assert day[(FEED, "pollers", "newsboat")] == 1


async def test_clients_waiting_to_be_counted_are_bounded(start, monkeypatch):
    monkeypatch.setattr("syndicate.web.reach.NOTED", 4)
    client = await start()
    for n in range(10):
        await client.get(
            FEED, headers={"User-Agent": NEWSBOAT, "X-Forwarded-For": f"198.51.100.{n}"}
        )
        assert len(client.service.reach.noted) <= 4
    await client.service.reach.flush()
    assert stored(client, DAY1)[(FEED, "pollers", "newsboat")] == 10


async def test_headers_waiting_to_be_counted_are_bounded(start, monkeypatch):
    monkeypatch.setattr("syndicate.web.reach.NOTED_CHARS", 5000)
    client = await start()
    for n in range(10):  # ten clients, each sending 1,000 characters of User-Agent
        await client.get(FEED, headers={"User-Agent": f"{n} " + "x" * 998})
        assert client.service.reach.noted_chars <= 5000 + 1000
    await client.service.reach.flush()
    assert stored(client, DAY1)[(FEED, "requests", "")] == 10


async def test_pollers_remembered_within_the_minute_are_bounded_and_not_addresses(
    start, monkeypatch
):
    monkeypatch.setattr("syndicate.web.reach.RECENT", 3)
    monkeypatch.setattr("syndicate.web.reach.NOTED", 1)  # each new client counts the last
    client = await start()
    for _ in range(2):  # ten pollers, each polling twice within the minute
        for n in range(10):
            address = f"198.51.100.{n}"
            await client.get(FEED, headers={"User-Agent": NEWSBOAT, "X-Forwarded-For": address})
            recent = client.service.reach.recent
            assert len(recent) <= 3
            assert not any("198.51.100." in str(poller) for poller in recent)
    await client.service.reach.flush()
    assert stored(client, DAY1)[(FEED, "pollers", "newsboat")] == 10
    assert stored(client, DAY1)[(FEED, "requests", "")] == 20
