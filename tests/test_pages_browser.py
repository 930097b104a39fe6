"""Our pages in a real browser: no accessibility violation (axe-core), no CSP violation, no
script error; the embed builder's snippets work when pasted on a partner's page; iframe
pages fit the height the builder gives and follow #light/#dark."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import (
    SCREENSHOTS,
    accessibility_violations,
    console,
    wait_for,
)
from tests.live import LiveServer, live_server

TOPIC = "/topics/harm-reduction/"
FRAME = "/embed/topics/harm-reduction/feed.html"


def problems(driver: Any) -> list[str]:
    """CSP violations and console errors (a missing favicon aside)."""
    found = list(driver.execute_script("return window.__violations"))
    found += [
        m["message"] for m in console(driver)
        if m["level"] == "SEVERE" and "favicon.ico" not in m["message"]
    ]  # fmt: skip
    return found


@pytest.mark.parametrize("path", ["/", TOPIC, FRAME, FRAME + "#dark"])
def test_pages_have_no_accessibility_violation_csp_violation_or_error(service, page, path):
    page.get(service.url + path)
    if path == TOPIC:
        wait_for(
            page, "document.querySelector('syndicate-feed').shadowRoot?.querySelector('.loaded')"
        )
    assert accessibility_violations(page) == []
    assert problems(page) == []


def test_the_front_page_details_open_to_every_url(service, page):
    page.get(service.url + "/")
    table = page.find_element("css selector", "table.feeds")
    assert not table.is_displayed()
    page.find_element("css selector", "#all-feeds summary").click()
    assert table.is_displayed()


def builder_snippet(page: Any, how: str, limit: int, theme: str = "") -> str:
    from selenium.webdriver.support.ui import Select

    Select(page.find_element("id", "b-how")).select_by_value(how)
    Select(page.find_element("id", "b-theme")).select_by_value(theme)
    field = page.find_element("id", "b-limit")
    field.clear()
    field.send_keys(str(limit))
    return str(page.find_element("id", "b-snippet").text)


def partner_page(snippet: str) -> str:
    head, body = "", snippet
    if snippet.startswith("<link"):  # the component: two lines for the head
        lines = snippet.split("\n")
        head, body = "\n".join(lines[:2]), "\n".join(lines[2:])
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Partner</title>
{head}</head><body><main><h1>A partner</h1>{body}<p>Below.</p></main></body></html>"""


def test_the_builders_component_snippet_works_on_a_partner_page(service, partner, page):
    page.get(service.url + TOPIC)
    snippet = builder_snippet(page, "component", 3)
    assert 'limit="3"' in snippet and "/embed/v1.js" in snippet
    page.get(partner.page("/built-component.html", partner_page(snippet)))
    shadow = "document.querySelector('syndicate-feed').shadowRoot"
    wait_for(page, f"{shadow}?.querySelector('.loaded')")
    count = page.execute_script(f"return {shadow}.querySelectorAll('[part~=item]').length")
    assert count == 3
    assert problems(page) == []


@pytest.mark.parametrize("theme", ["", "dark"])
def test_the_builders_iframe_snippet_fits_the_items_it_asks_for(service, partner, page, theme):
    page.get(service.url + TOPIC)
    snippet = builder_snippet(page, "iframe", 4, theme)
    assert 'height="384"' in snippet  # 48 + 4 x 84
    page.get(partner.page(f"/built-frame-{theme}.html", partner_page(snippet)))
    frame = page.find_element("tag name", "iframe")
    page.switch_to.frame(frame)
    try:
        wait_for(page, "document.readyState === 'complete'")
        bottoms = page.execute_script(
            "return [...document.querySelectorAll('.syndicate-feed__item')]"
            ".map((li) => li.getBoundingClientRect().bottom)"
        )
        assert bottoms[3] == 384 and page.execute_script("return innerHeight") == 384
        background = page.execute_script(
            "return getComputedStyle(document.querySelector('.frame__page')).backgroundColor"
        )
        assert (background == "rgb(31, 32, 35)") == (theme == "dark"), background
    finally:
        page.switch_to.default_content()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.save_screenshot(str(SCREENSHOTS / f"iframe-{theme or 'system'}.png"))


def test_copy_buttons_copy_the_url(service, page):
    page.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": service.url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    page.get(service.url + TOPIC)
    button = page.find_element("css selector", "#subscribe button.copy")
    button.click()
    wait_for(page, "document.getElementById('announce').textContent")
    copied = page.execute_script("return navigator.clipboard.readText()")
    assert copied == button.get_attribute("data-copy") == f"{service.url}{TOPIC}feed.atom"


@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize(
    ("name", "path"), [("front", "/"), ("topic", TOPIC), ("developers", "/developers/")]
)
def test_pages_fit_a_phone_and_a_desktop_without_scrolling_sideways(
    service, page, name, path, width
):
    page.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    try:
        page.get(service.url + path)
        if path == TOPIC:
            wait_for(
                page,
                "document.querySelector('syndicate-feed').shadowRoot?.querySelector('.loaded')",
            )
        page.execute_script("document.querySelectorAll('details').forEach((d) => d.open = true)")
        overflow = page.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow} px wider than a {width} px screen"
        assert accessibility_violations(page) == []
        assert problems(page) == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.save_screenshot(str(SCREENSHOTS / f"page-{name}-{width}.png"))
    finally:
        page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert (SCREENSHOTS / f"page-{name}-{width}.png").stat().st_size > 0


@pytest.fixture(scope="module")
def cancelled(tmp_path_factory):
    """A live service of content with a cancelled event."""
    from tests.conftest import MINIMAL, with_cancelled_event, write_config

    folder = write_config(tmp_path_factory.mktemp("cancelled") / "content", MINIMAL)
    with_cancelled_event(folder)
    with live_server(folder, tmp_path_factory.mktemp("cancelled-log") / "log") as live:
        yield live


@pytest.mark.parametrize("path", ["/", "/topics/health/", "/embed/topics/health/feed.html"])
def test_a_cancelled_event_is_struck_through_on_every_page(cancelled, page, path):
    page.get(cancelled.url + path)
    links = page.find_elements("css selector", "li[class*='item--cancelled'] a")
    assert links
    for link in links:
        assert "Cancelled: A talk" in link.text
        style = page.execute_script(
            "return getComputedStyle(arguments[0]).textDecorationLine", link
        )
        assert "line-through" in style, path


HOSTILE = (
    '"><img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>{{ 7*7 }}\u202e😀'
)


@pytest.fixture(scope="module")
def hostile_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A service whose content has an attack in every text field editors write."""
    import json

    from tests.conftest import MINIMAL, write_config

    text = json.dumps(HOSTILE, ensure_ascii=False)  # a YAML string holding it exactly
    root = tmp_path_factory.mktemp("hostile") / "cfg"
    write_config(root, {**MINIMAL, "site.yaml": MINIMAL["site.yaml"] + f"  description: {text}\n"})
    write_config(root, {
        "topics.yaml": f"topics:\n  - {{slug: health, title: {text}, description: {text}, area: {text}}}\n"
                       "  - {slug: justice, title: Justice}\n",
        "more.yaml": f"""
            items:
              - id: hostile-event
                type: events
                title: {text}
                summary: {text}
                url: https://example.org/events/x
                published: 2026-11-03T10:00
                topics: [health]
                start: 2026-12-11T18:30
                venue: {text}
                city: {text}
                status: cancelled
                changes: [{{date: 2026-11-04, note: {text}}}]
        """,
    })  # fmt: skip
    with live_server(root, tmp_path_factory.mktemp("serve") / "serve.log") as server:
        yield server


@pytest.mark.parametrize("path", ["/", "/topics/health/", "/embed/topics/health/feed.html"])
def test_hostile_content_is_shown_as_text_on_every_page(hostile_service, page, path):
    page.get(hostile_service.url + path)
    if path == "/topics/health/":
        wait_for(
            page, "document.querySelector('syndicate-feed').shadowRoot?.querySelector('.loaded')"
        )
    assert page.execute_script("return window.__pwned") is None
    assert page.execute_script("return window.__dialogs") == 0
    assert HOSTILE in page.find_element("tag name", "body").text
    assert page.execute_script("return document.querySelectorAll('img').length") == 0
    assert problems(page) == []


def test_hostile_content_is_shown_as_text_by_the_component(hostile_service, partner, page):
    service = hostile_service.url
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>P</title>
<link rel="stylesheet" href="{service}/embed/v1.css">
<script type="module" src="{service}/embed/v1.js"></script></head><body><main>
<syndicate-feed src="{service}/topics/health/feed.json" summary>fallback</syndicate-feed>
</main></body></html>"""
    page.get(partner.page("/hostile-component.html", body))
    shadow = "document.querySelector('syndicate-feed').shadowRoot"
    wait_for(page, f"{shadow}?.querySelector('.loaded')")
    assert page.execute_script("return window.__pwned") is None
    titles = page.execute_script(
        f"return [...{shadow}.querySelectorAll('[part~=title]')].map((e) => e.textContent)"
    )
    assert "Cancelled: " + HOSTILE in titles
    assert page.execute_script(f"return {shadow}.querySelectorAll('img, script').length") == 0
    assert problems(page) == []
