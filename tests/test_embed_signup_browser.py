"""The embed's email sign-up (`<syndicate-feed signup>`) in a real browser, on a partner page
of another origin: it posts the feed's topic and type to the service's JSON sign-up across
origins, shows the service's answer, and the confirmation email goes out."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import console, wait_for
from tests.conftest import CONTENT
from tests.live import LiveServer, live_server
from tests.smtp import Sink, smtp_sink, text_of
from tests.test_embed_browser import LOADED, SHADOW, snippet

READER = "embed-reader@example.org"


@pytest.fixture(scope="module")
def mail_sink() -> Iterator[Sink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="module")
def mail_service(tmp_path_factory: pytest.TempPathFactory, mail_sink: Sink) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("embed-signup")
    shutil.copytree(CONTENT, folder / "content")
    with live_server(folder / "content", folder / "service.log",
                     SYNDICATE_SMTP_URL=mail_sink.url, SYNDICATE_MAIL_FROM="updates@example.org",
                     SYNDICATE_STATE_DIR=str(folder / "state")) as live:  # fmt: skip
        yield live


def test_a_reader_signs_up_from_a_partners_page(mail_service, mail_sink, partner, page):
    src = f"{mail_service.url}/topics/harm-reduction/events.json"
    url = partner.page("/signup.html", snippet(mail_service.url, src, 'signup="weekly"'))
    page.get(url)
    wait_for(page, LOADED)
    form = f"{SHADOW}.querySelector('[part~=signup]')"
    assert page.execute_script(f"return {form}.querySelector('label').textContent").startswith(
        "Email updates"
    )
    page.execute_script(
        f"{form}.querySelector('input').value = '{READER}'; {form}.requestSubmit();"
    )
    said = wait_for(page, f"{form}.querySelector('[part~=signup-status]').textContent")
    assert "confirmation email is on its way" in said
    deadline = time.monotonic() + 15
    while not mail_sink.to(READER):
        assert time.monotonic() < deadline, "no confirmation email"
        time.sleep(0.05)
    (message,) = mail_sink.to(READER)
    assert "Harm Reduction: Events (a weekly digest)" in text_of(message)
    errors = [e for e in console(page) if e.get("level") == "SEVERE"]
    assert [e for e in errors if "favicon.ico" not in e["message"]] == []  # the partner's own


def test_the_form_refuses_what_the_service_refuses_and_says_why(mail_service, partner, page):
    src = f"{mail_service.url}/topics/harm-reduction/feed.json"
    url = partner.page("/signup-bad.html", snippet(mail_service.url, src, "signup"))
    page.get(url)
    wait_for(page, LOADED)
    form = f"{SHADOW}.querySelector('[part~=signup]')"
    # The browser's own check stops an empty or malformed address; the service's stops this.
    page.execute_script(
        f"const i = {form}.querySelector('input'); i.type = 'text'; i.value = 'not an address';"
        f"{form}.requestSubmit();"
    )
    said: Any = wait_for(page, f"{form}.querySelector('[part~=signup-status]').textContent")
    assert "not an email address" in said
