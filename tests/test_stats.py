"""/stats/ (web/stats.py): private to operators, through real HTTP. Signed out it shows
nothing; the password is compared in constant time and guessing is slowed; the session
cookie is Secure, HttpOnly and SameSite=Strict; nothing is cacheable; signing out needs a
token of the session; the pages and the export show what the database holds."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import UTC, date, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from lxml import html

from syndicate import templating
from syndicate.people import reach as stored
from syndicate.people.reach import Row
from syndicate.people.signins import CLIENT_LIMIT, FAILURE_LIMIT, SLOW_SECONDS
from syndicate.settings import Settings
from tests.conftest import CONTENT
from tests.fakeclock import FakeClock

PUBLIC = "http://feeds.example.org"
PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 11, 30, 17, tzinfo=UTC)  # noon in New York
TODAY = date(2026, 11, 30)
FEED = "/topics/harm-reduction/feed.atom"
SAME_ORIGIN = {"Origin": PUBLIC}


@pytest.fixture
def start(serve, tmp_path: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)

    async def starting(clock: FakeClock | None = None):  # type: ignore[no-untyped-def]
        settings = Settings(
            config=folder, state_dir=tmp_path / "state", public_url=PUBLIC, watch=False,
            access_log=False, admin_password=PASSWORD,
        )  # fmt: skip
        return await serve(settings, clock or FakeClock(NOW))

    return starting


async def sign_in(client, password: str = PASSWORD, **headers: str):  # type: ignore[no-untyped-def]
    return await client.post(
        "/stats/sign-in", data={"password": password}, allow_redirects=False,
        headers={**SAME_ORIGIN, **headers},
    )  # fmt: skip


async def session(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The Cookie header of a signed-in operator."""
    response = await sign_in(client)
    assert response.status == 303
    cookie = SimpleCookie(response.headers["Set-Cookie"])
    (name,) = cookie.keys()
    return {"Cookie": f"{name}={cookie[name].value}"}


def seed(client) -> None:  # type: ignore[no-untyped-def]
    """Three days of counts for one feed, and a partner."""
    engine = client.service.database.engine
    rows = []
    for back, (feedly, pollers, requests) in enumerate([(16, 4, 40), (15, 3, 30), (12, 2, 20)]):
        day = TODAY - timedelta(days=back)
        rows += [Row(day, FEED, "requests", "", requests), Row(day, FEED, "not_modified", "", requests // 2),
                 Row(day, FEED, "pollers", "newsboat", pollers)]  # fmt: skip
        stored.add(engine, [], [Row(day, FEED, "subscribers", "Feedly", feedly)], [])
    rows.append(Row(TODAY, "/topics/harm-reduction/feed.json", "component",
                    "https://partner.example", 9))  # fmt: skip
    stored.add(engine, rows, [], [])


@pytest.mark.parametrize(
    "path", ["/stats/", "/stats/topics/harm-reduction/", "/stats/topics/-/", "/stats/nothing"]
)
async def test_signed_out_a_stats_page_sends_to_the_sign_in_and_shows_nothing(start, path):
    client = await start()
    seed(client)
    response = await client.get(path, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/stats/sign-in"
    assert "Feedly" not in await response.text()


@pytest.mark.parametrize("path", ["/stats/export.csv", "/stats/export.json"])
async def test_signed_out_an_export_is_401(start, path):
    client = await start()
    seed(client)
    response = await client.get(path)
    assert response.status == 401 and "Feedly" not in await response.text()


async def test_a_wrong_password_signs_no_one_in(start):
    client = await start()
    response = await sign_in(client, "not the password at all")
    assert response.status == 401 and "Set-Cookie" not in response.headers
    alert = html.fromstring(await response.text()).xpath("string(//*[@role='alert'])")
    assert "not the operators' password" in alert


async def test_the_session_cookie_is_secure_httponly_strict_and_for_stats_only(start):
    client = await start()
    response = await sign_in(client)
    assert response.status == 303 and response.headers["Location"] == "/stats/"
    (morsel,) = SimpleCookie(response.headers["Set-Cookie"]).values()
    assert morsel["secure"] and morsel["httponly"] and morsel["samesite"] == "Strict"
    assert morsel["path"] == "/stats/" and int(morsel["max-age"]) == 12 * 3600
    assert len(morsel.value) >= 40  # a random token, not the password or a hash of it
    assert PASSWORD not in response.headers["Set-Cookie"]


async def test_the_overview_shows_each_topics_reach_and_its_chart(start):
    client = await start()
    seed(client)
    response = await client.get("/stats/", headers=await session(client))
    assert response.status == 200
    page = html.fromstring(await response.text())
    (row,) = [r for r in page.xpath("//tbody/tr") if r.xpath("string(th)") == "Harm Reduction"]
    cells = [c.text_content() for c in row.xpath("td")]
    assert cells[0] == str(16 + 4)  # today's Feedly figure and newsboat pollers
    assert cells[1] == "16"  # Feedly's latest figure in the 7 days (it reported every day)
    assert cells[4] == str(40 + 30 + 20) and cells[5] == "50%" and cells[6] == "1"
    charts = page.xpath("//svg[@role='img']")
    assert len(charts) == 1 + len(client.service.store.snapshot.catalog.topics)
    harm = next(c for c in charts if "Harm Reduction" in c.xpath("string(title)"))
    heights = [float(rect.get("height")) for rect in harm.xpath(".//rect")]
    assert len(heights) == 3 and heights == sorted(heights)  # 14, 18, 20: growing


async def test_a_topic_page_shows_the_readers_and_partners_behind_its_figures(start):
    client = await start()
    seed(client)
    response = await client.get("/stats/topics/harm-reduction/", headers=await session(client))
    page = html.fromstring(await response.text())
    tables = {t.xpath("string(caption)"): t for t in page.xpath("//table")}
    readers = next(t for caption, t in tables.items() if caption.startswith("Subscribers"))
    assert [
        (r.xpath("string(th)"), r.xpath("string(td)")) for r in readers.xpath(".//tbody/tr")
    ] == [("Feedly", "16")]
    partners = next(t for caption, t in tables.items() if caption.startswith("Fetches"))
    (partner,) = partners.xpath(".//tbody/tr")
    assert partner.xpath("string(th)") == "https://partner.example"
    assert [c.text_content() for c in partner.xpath("td")] == ["9", "0", "0"]
    assert (await client.get("/stats/topics/nope/", headers=await session(client))).status == 404


async def test_every_stats_answer_is_private_and_never_cached(start):
    client = await start()
    cookie = await session(client)
    for path in ("/stats/", "/stats/sign-in", "/stats/export.csv"):
        response = await client.get(path, headers=cookie)
        assert response.headers["Cache-Control"] == "no-store, private", path
        assert "Cookie" in response.headers["Vary"], path
        assert response.headers["Content-Security-Policy"] == templating.PAGE_CSP, path


async def test_the_export_holds_every_row_as_csv_and_json(start):
    client = await start()
    seed(client)
    cookie = await session(client)
    as_csv = await (await client.get("/stats/export.csv", headers=cookie)).text()
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    as_json = json.loads(await (await client.get("/stats/export.json", headers=cookie)).text())
    assert len(rows) == len(as_json["rows"]) == 3 * 4 + 1
    assert {"day": TODAY.isoformat(), "path": FEED, "measure": "subscribers", "detail": "Feedly",
            "value": "16"} in rows  # fmt: skip
    assert {"day": TODAY.isoformat(), "path": FEED, "measure": "subscribers", "detail": "Feedly",
            "value": 16} in as_json["rows"]  # fmt: skip


async def test_a_sign_in_from_another_site_is_refused(start):
    client = await start()
    response = await sign_in(client, Origin="https://evil.example")
    assert response.status == 403 and "Set-Cookie" not in response.headers


async def test_signing_out_needs_the_sessions_token_and_ends_the_session(start):
    client = await start()
    cookie = await session(client)
    forged = await client.post("/stats/sign-out", data={"csrf": "x"}, headers={**cookie, **SAME_ORIGIN},
                               allow_redirects=False)  # fmt: skip
    assert forged.status == 403
    page = html.fromstring(await (await client.get("/stats/", headers=cookie)).text())
    (token,) = page.xpath("//form[@action='/stats/sign-out']//input[@name='csrf']/@value")
    out = await client.post("/stats/sign-out", data={"csrf": token}, headers={**cookie, **SAME_ORIGIN},
                            allow_redirects=False)  # fmt: skip
    assert out.status == 303
    assert (await client.get("/stats/", headers=cookie, allow_redirects=False)).status == 303


async def test_a_session_ends_after_12_hours(start):
    clock = FakeClock(NOW)
    client = await start(clock)
    cookie = await session(client)
    clock.advance(NOW + timedelta(hours=12, seconds=1))
    assert (await client.get("/stats/", headers=cookie, allow_redirects=False)).status == 303


async def test_guessing_from_one_address_is_slowed_even_with_the_right_password(start):
    client = await start()
    for _ in range(CLIENT_LIMIT):
        assert (
            await sign_in(client, "a wrong guess!", **{"X-Forwarded-For": "198.51.100.9"})
        ).status == 401
    refused = await sign_in(client, PASSWORD, **{"X-Forwarded-For": "198.51.100.9"})
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Set-Cookie" not in refused.headers
    assert (await sign_in(client, PASSWORD, **{"X-Forwarded-For": "198.51.100.10"})).status == 303


async def test_guessing_from_many_addresses_slows_every_sign_in(start):
    client = await start()
    for n in range(FAILURE_LIMIT):
        address = f"198.51.{n // 200}.{n % 200 + 1}"
        assert (
            await sign_in(client, "a wrong guess!", **{"X-Forwarded-For": address})
        ).status == 401
    assert (await sign_in(client, PASSWORD, **{"X-Forwarded-For": "203.0.113.1"})).status == 429


async def test_a_password_that_is_too_short_is_refused_at_start():
    from syndicate.settings import SettingError

    with pytest.raises(SettingError, match="12 characters"):
        Settings.from_env({"SYNDICATE_ADMIN_PASSWORD": "short"})


async def test_without_a_password_there_is_no_stats_page(serve, tmp_path):
    client = await serve(Settings(config=CONTENT, state_dir=tmp_path, public_url=PUBLIC,
                                  watch=False, access_log=False))  # fmt: skip
    assert (await client.get("/stats/", allow_redirects=False)).status == 404


async def test_after_guessing_from_many_addresses_the_right_password_gets_in_after_a_wait(start):
    """A lockout slows guessing (one sign-in a minute for everyone) but never locks out."""
    clock = FakeClock(NOW)
    client = await start(clock)
    for n in range(FAILURE_LIMIT):
        await sign_in(client, "a wrong guess!", **{"X-Forwarded-For": f"198.51.100.{n + 1}"})
    refused = await sign_in(client, PASSWORD, **{"X-Forwarded-For": "203.0.113.1"})
    assert refused.status == 429
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= SLOW_SECONDS + 1
    clock.advance(NOW + timedelta(seconds=wait))
    assert (await sign_in(client, PASSWORD, **{"X-Forwarded-For": "203.0.113.1"})).status == 303


async def test_while_slowed_one_sign_in_a_minute_is_let_through_for_everyone(start):
    clock = FakeClock(NOW)
    client = await start(clock)
    for n in range(FAILURE_LIMIT):
        await sign_in(client, "a wrong guess!", **{"X-Forwarded-For": f"198.51.100.{n + 1}"})
    clock.advance(NOW + timedelta(seconds=SLOW_SECONDS + 1))
    guess = await sign_in(client, "another guess", **{"X-Forwarded-For": "192.0.2.1"})
    assert guess.status == 401  # let through, and wrong
    clock.advance(NOW + timedelta(seconds=SLOW_SECONDS + 2))
    assert (await sign_in(client, "a third", **{"X-Forwarded-For": "192.0.2.2"})).status == 429


async def test_from_this_machine_the_operator_signs_in_whatever_the_guessing(start):
    client = await start()
    for n in range(FAILURE_LIMIT):
        await sign_in(client, "a wrong guess!", **{"X-Forwarded-For": f"198.51.100.{n + 1}"})
    assert (await sign_in(client, PASSWORD, **{"X-Forwarded-For": "203.0.113.1"})).status == 429
    assert (await sign_in(client)).status == 303  # no X-Forwarded-For: 127.0.0.1, a tunnel


async def test_the_limits_are_shared_by_every_worker(serve, tmp_path: Path):
    """Two services on one database, as a pool's workers are: one address's sign-ins are
    counted together (each worker counted its own: three workers took three times as many)."""
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    settings = Settings(config=folder, state_dir=tmp_path / "state", public_url=PUBLIC,
                        watch=False, access_log=False, admin_password=PASSWORD)  # fmt: skip
    first = await serve(settings, FakeClock(NOW))
    second = await serve(settings, FakeClock(NOW))
    guesser = {"X-Forwarded-For": "198.51.100.9"}
    for n in range(CLIENT_LIMIT):
        worker = first if n % 2 else second
        assert (await sign_in(worker, "a wrong guess!", **guesser)).status == 401
    for worker in (first, second):
        assert (await sign_in(worker, PASSWORD, **guesser)).status == 429


async def test_sign_ins_are_kept_as_keyed_hashes_for_the_window_only(start):
    import sqlalchemy as sa

    from syndicate.people.database import sign_in_attempts

    clock = FakeClock(NOW)
    client = await start(clock)
    await sign_in(client, "a wrong guess!", **{"X-Forwarded-For": "198.51.100.9"})
    with client.service.database.engine.connect() as connection:
        (row,) = connection.execute(sa.select(sign_in_attempts)).all()
    assert len(row.client) == 64 and "198.51" not in row.client and row.failed
    clock.advance(NOW + timedelta(minutes=16))
    await sign_in(client, "another", **{"X-Forwarded-For": "198.51.100.10"})
    with client.service.database.engine.connect() as connection:
        assert len(connection.execute(sa.select(sign_in_attempts)).all()) == 1  # the old one gone
