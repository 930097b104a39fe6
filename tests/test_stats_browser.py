"""/stats/ in a real browser (headless Chromium): signed out it shows nothing; signed in,
its charts are drawn and visible (screenshots in build/screenshots), with no accessibility
violation (axe-core), no CSP violation and no script error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syndicate.people import reach as stored
from syndicate.people.database import create_engine, database_url, migrate
from syndicate.people.reach import Row
from tests.browser import SCREENSHOTS, accessibility_violations, wait_for
from tests.conftest import CONTENT
from tests.live import LiveServer, live_server
from tests.test_pages_browser import problems

PASSWORD = "a password for operators"
FEED = "/topics/harm-reduction/feed.atom"


def seeded(state: Path) -> date:
    """Ninety days of counts, growing, in the database the service will open; today's date."""
    engine = create_engine(database_url(None, state))
    migrate(engine)
    today = datetime.now(ZoneInfo("America/New_York")).date()
    rows, latest = [], []
    for back in range(90):
        day = today - timedelta(days=back)
        rows += [Row(day, FEED, "pollers", "newsboat", 40 - back // 3),
                 Row(day, FEED, "requests", "", 400 - back),
                 Row(day, FEED, "not_modified", "", 300 - back)]  # fmt: skip
        latest.append(Row(day, FEED, "subscribers", "Feedly", 120 - back))
    rows.append(Row(today, "/topics/harm-reduction/feed.json", "component",
                    "https://partner.example", 12))  # fmt: skip
    stored.add(engine, rows, latest, [])
    engine.dispose()
    return today


@pytest.fixture(scope="module")
def stats_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    state = tmp_path_factory.mktemp("state")
    seeded(state)
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with live_server(CONTENT, log, SYNDICATE_ADMIN_PASSWORD=PASSWORD,
                     SYNDICATE_STATE_DIR=str(state)) as server:  # fmt: skip
        yield server


def signed_out(page, service: LiveServer) -> None:  # type: ignore[no-untyped-def]
    """Forget the service's cookies (only those of the page's own site can be deleted)."""
    page.get(service.url + "/stats/sign-in")
    page.delete_all_cookies()


def sign_in(page, service: LiveServer) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    page.get(service.url + "/stats/sign-in")
    page.find_element(By.ID, "password").send_keys(PASSWORD)
    page.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(page, "location.pathname === '/stats/' && document.readyState === 'complete'")


def test_signed_out_the_stats_show_only_a_sign_in(stats_service, page):
    signed_out(page, stats_service)
    page.get(stats_service.url + "/stats/")
    assert page.current_url == stats_service.url + "/stats/sign-in"
    text = page.find_element("tag name", "body").text
    assert "Feedly" not in text and "Reach by topic" not in text
    assert accessibility_violations(page) == [] and problems(page) == []


def test_signed_in_the_charts_are_drawn_and_accessible(stats_service, page):
    signed_out(page, stats_service)
    sign_in(page, stats_service)
    assert page.current_url == stats_service.url + "/stats/"
    bars = page.execute_script(
        "return [...document.querySelectorAll('svg rect.bar')]"
        ".map(r => r.getBoundingClientRect()).filter(b => b.width > 0 && b.height > 0).length"
    )
    assert bars >= 90  # the topic's ninety days, and the site's
    assert accessibility_violations(page) == [] and problems(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.save_screenshot(str(SCREENSHOTS / "stats-overview.png"))
    page.get(stats_service.url + "/stats/topics/harm-reduction/")
    body = page.find_element("tag name", "body").text
    assert "Feedly" in body and "https://partner.example" in body
    assert accessibility_violations(page) == [] and problems(page) == []
    page.save_screenshot(str(SCREENSHOTS / "stats-topic.png"))


def test_signing_out_in_the_browser_ends_the_session(stats_service, page):
    from selenium.webdriver.common.by import By

    signed_out(page, stats_service)
    sign_in(page, stats_service)
    page.find_element(By.CSS_SELECTOR, "form[action='/stats/sign-out'] button").click()
    wait_for(page, "location.pathname === '/stats/sign-in' && document.readyState === 'complete'")
    assert page.current_url == stats_service.url + "/stats/sign-in"
    page.get(stats_service.url + "/stats/")
    assert page.current_url == stats_service.url + "/stats/sign-in"
