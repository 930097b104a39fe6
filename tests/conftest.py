"""Shared fixtures: the tests' own content (tests/fixtures/content), the editors' sample, and a
small valid config to break in tests."""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import settings as hypothesis_settings

from syndicate.loader import load_catalog
from syndicate.model import Catalog

if TYPE_CHECKING:
    from tests.browser import PartnerSite
    from tests.live import LiveServer

# Under CI the property tests replay the same examples every run, so a landing never depends
# on luck; locally they explore new examples each run (and `make test-slow` many more).
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "feeds_config"  # editors' content: only checked for validity and the seed
CONTENT = ROOT / "tests" / "fixtures" / "content"  # what the tests render and serve

_MINIMAL = {
    "site.yaml": """
        site:
          title: Example Foundation
          url: https://example.org/
          feeds_url: https://feeds.example.org
          language: en
          timezone: America/New_York
          publisher: {name: Example Foundation}
          tag_authority: example.org
          tag_date: "2026"
    """,
    "types.yaml": """
        types:
          - {slug: events, kind: event, title: Events, singular: Event}
          - {slug: voices, kind: article, title: Voices, singular: Voice}
    """,
    "topics.yaml": """
        topics:
          - {slug: health, title: Health}
          - {slug: justice, title: Justice}
    """,
    "items.yaml": """
        items:
          - id: a-talk
            type: events
            title: A talk
            summary: About health.
            url: https://example.org/events/a-talk
            published: 2026-11-01T10:00
            topics: [health]
            start: 2026-12-10T18:30
          - id: an-essay
            type: voices
            title: An essay
            summary: About justice.
            url: https://example.org/voices/an-essay
            published: 2026-11-02T10:00
            topics: [justice, health]
    """,
}


MINIMAL = {name: textwrap.dedent(text).lstrip("\n") for name, text in _MINIMAL.items()}


def write_config(root: Path, files: dict[str, str]) -> Path:
    """Write `files` (path -> YAML, dedented) under `root`; returns `root`."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def with_cancelled_event(folder: Path, start: str = "2099-12-10T18:30") -> Path:
    """`folder` (the MINIMAL content) with its event cancelled, starting at `start` (by
    default long after any run of the tests: upcoming, so every page lists it)."""
    items = folder / "items.yaml"
    items.write_text(items.read_text().replace(
        "    start: 2026-12-10T18:30\n",
        f"    start: {start}\n    status: cancelled\n"
        "    changes: [{date: 2026-11-03T10:00, note: Called off.}]\n",
    ))  # fmt: skip
    return folder


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A valid minimal config at ./cfg (relative, so messages read `cfg/...`)."""
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path / "cfg", MINIMAL)
    return Path("cfg")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the tests' content that a test may edit (an item going live, a withdrawal)."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


@pytest.fixture
def sink() -> Iterator[Any]:
    """The relay double (tests/smtp.py): a real SMTP server in the test process."""
    from tests.smtp import smtp_sink

    with smtp_sink() as running:
        yield running


@pytest.fixture(scope="session")
def sample() -> Catalog:
    return load_catalog(SAMPLE)


@pytest.fixture(scope="session")
def content() -> Catalog:
    return load_catalog(CONTENT)


@pytest.fixture
async def serve(aiohttp_client):
    """Start a `Service` for some settings behind aiohttp's test server; returns a client
    (asking for identity encoding unless a request says otherwise) with `.service` set."""
    from aiohttp.test_utils import RawTestServer

    from syndicate.web import Service

    services = []

    async def start(settings, clock=None):
        service = Service(settings, clock)
        services.append(service)
        await service.start()
        server = RawTestServer(service.handle, **service.server_options())
        client = await aiohttp_client(server, headers={"Accept-Encoding": "identity"})
        client.service = service
        return client

    yield start
    for service in services:
        await service.stop()


# Browser tests (tests/browser.py): one `syndicate serve` of the tests' content, one partner
# site on another origin and one headless Chromium per module; logs emptied per test.
@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.live import live_server

    with live_server(CONTENT, tmp_path_factory.mktemp("serve") / "serve.log") as server:
        yield server


@pytest.fixture(scope="module")
def partner() -> Iterator[PartnerSite]:
    from tests.browser import partner_site

    yield from partner_site()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.browser import chromium

    yield from chromium(tmp_path_factory.mktemp("profile"))


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    from tests.browser import console, requested_urls

    console(browser), requested_urls(browser)  # each test starts with empty logs
    yield browser
    browser.get("about:blank")


# Databases of the people wing, on SQLite and on PostgreSQL (tests/people.py).
from tests.people import empty_engine, engine, postgres_server  # noqa: E402, F401
