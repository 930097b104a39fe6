"""<syndicate-feed> in a real browser, on a partner page served from another origin than the
service (both on 127.0.0.1): it shows the feed, nothing from a feed can execute or load what
it should not, it fails quietly, and it is a good guest under a strict CSP."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from tests.browser import (
    SCREENSHOTS,
    accessibility_violations,
    console,
    requested_urls,
    wait_for,
)
from tests.live import free_port

FALLBACK = (
    '<a id="fallback" href="https://example.org/harm-reduction">Harm Reduction: latest work</a>'
)
LOADED = "document.querySelector('syndicate-feed').shadowRoot?.querySelector('.loaded')"
SHADOW = "document.querySelector('syndicate-feed').shadowRoot"


def snippet(service: str, src: str, attributes: str = "", inside: str = FALLBACK) -> str:
    """A partner page with the snippet docs/embedding.md gives, and content below it."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A partner</title>
<meta name="color-scheme" content="light dark">
<link rel="stylesheet" href="{service}/embed/v1.css">
<script type="module" src="{service}/embed/v1.js"></script></head>
<body><main><h1>A partner's page</h1>
<syndicate-feed src="{src}" {attributes}>{inside}</syndicate-feed>
<p id="below">The partner's own content, below the embed.</p>
</main></body></html>"""


def feed(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def shown(driver: Any) -> list[dict[str, str]]:
    return driver.execute_script(
        f"""return [...{SHADOW}.querySelectorAll('[part~=item]')].map((li) => ({{
          title: li.querySelector('[part~=title]').textContent,
          href: li.querySelector('a') ? li.querySelector('a').href : null,
          time: li.querySelector('time') ? li.querySelector('time').dateTime : null,
          meta: li.querySelector('[part~=meta]').textContent,
          parts: li.getAttribute('part'),
        }}))"""
    )


def test_the_component_shows_the_feeds_latest_items_in_order(service, partner, page):
    src = f"{service.url}/topics/harm-reduction/feed.json"
    page.get(partner.page("/latest.html", snippet(service.url, src, 'limit="3"')))
    wait_for(page, LOADED)
    expected = feed(src)["items"][:3]
    items = shown(page)
    assert [(i["title"], i["href"]) for i in items] == [(e["title"], e["url"]) for e in expected]
    heading = page.execute_script(f"return {SHADOW}.querySelector('[part~=heading]').textContent")
    assert heading == feed(src)["title"]


def test_events_say_when_and_where_with_a_machine_readable_start(service, partner, page):
    src = f"{service.url}/topics/harm-reduction/events.json"
    page.get(partner.page("/events.html", snippet(service.url, src, 'limit="10"')))
    wait_for(page, LOADED)
    expected = feed(src)["items"][:10]
    items = shown(page)
    assert len(items) == len(expected) > 0
    for item, event in zip(items, expected, strict=True):
        assert item["time"] == event["_event"]["start"]
        assert event["_event"]["start"][:4] in item["meta"]  # the year, formatted by Intl
        place = event["_event"].get("location", {}).get("text") or "Online"
        assert place in item["meta"]
        if event["_event"]["status"] != "scheduled":
            assert event["_event"]["status"] in item["parts"].split()


def test_type_and_view_attributes_choose_the_feed(service, partner, page):
    src = f"{service.url}/topics/harm-reduction/feed.json"
    attributes = 'type="events" view="upcoming" limit="50"'
    page.get(partner.page("/upcoming.html", snippet(service.url, src, attributes)))
    wait_for(page, LOADED)
    expected = feed(f"{service.url}/topics/harm-reduction/events/upcoming.json")["items"]
    assert [i["title"] for i in shown(page)] == [e["title"] for e in expected]


HOSTILE_TEXT = [
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=1</script>",
    '"><svg onload="window.__pwned=1">',
    "</style><style>*{display:none}</style>",
    "\u202eevil\u202c مرحبا 😀 " + "x" * 3000,
]


def hostile_feed(partner: str) -> dict[str, Any]:
    """A feed (served by the partner's origin, not ours) with an attack in every field the
    component reads."""
    items = []
    for n, text in enumerate(HOSTILE_TEXT):
        items.append({
            "id": f"x{n}", "title": text, "summary": text,
            "url": ["javascript:window.__pwned=1", "data:text/html,<script>1</script>",
                    " javascript:window.__pwned=1", "vbscript:x", "https://example.org/ok"][n],
            "image": ["javascript:window.__pwned=1", "data:image/svg+xml,<svg onload=alert(1)>",
                      f"{partner}/declared.png", "file:///etc/passwd", 7][n],
            "date_published": text if n % 2 else "2026-11-03T10:00:00+00:00",
            "_event": {"start": text, "end": "2026-11-03", "timezone": text, "all_day": "yes",
                       "status": text, "location": {"text": text}, "text": text,
                       "online_url": "javascript:window.__pwned=1"} if n % 2 else None,
        })  # fmt: skip
    return {
        "version": "https://jsonfeed.org/version/1.1",
        "title": HOSTILE_TEXT[0],
        "home_page_url": "javascript:window.__pwned=1",
        "language": "<script>",
        "items": [{k: v for k, v in item.items() if v is not None} for item in items],
    }


def test_nothing_from_a_hostile_feed_executes_or_loads(service, partner, page):
    src = partner.json("/hostile.json", hostile_feed(partner.url))
    partner.page("/declared.png", b"", "image/png")
    page.get(partner.page("/hostile.html", snippet(service.url, src, 'limit="10" summary images')))
    wait_for(page, LOADED)
    page.execute_script("return new Promise((done) => setTimeout(done, 300))")  # images, if any
    assert page.execute_script("return window.__pwned") is None
    assert page.execute_script("return window.__dialogs") == 0
    shadow = page.execute_script(
        f"return [...{SHADOW}.querySelectorAll('*')].map((e) => e.localName)"
    )
    assert set(shadow) <= {"div", "slot", "h2", "h3", "a", "ul", "li", "img", "span", "p", "time"}
    hrefs = page.execute_script(f"return [...{SHADOW}.querySelectorAll('a')].map((a) => a.href)")
    assert hrefs == ["https://example.org/ok"]
    titles = [item["title"] for item in shown(page)]
    assert titles == HOSTILE_TEXT  # shown as text, every character kept
    allowed = {
        partner.url + "/hostile.html", src, partner.url + "/declared.png",
        service.url + "/embed/v1.js", service.url + "/embed/v1.css",
    }  # fmt: skip
    requested = set(requested_urls(page))
    unexpected = {
        url for url in requested - allowed if not url.startswith(service.url + "/embed/v1.")
    }
    assert not unexpected
    errors = [m for m in console(page) if m["level"] == "SEVERE"]
    assert not errors


def test_the_partners_own_content_stays_when_the_feed_cannot_load(service, partner, page):
    src = f"http://127.0.0.1:{free_port()}/topics/harm-reduction/feed.json"  # nobody listens
    page.get(partner.page("/down.html", snippet(service.url, src)))
    wait_for(page, "!!customElements.get('syndicate-feed')")
    page.execute_script("return new Promise((done) => setTimeout(done, 500))")
    fallback = page.find_element("id", "fallback")
    assert fallback.is_displayed() and fallback.text == "Harm Reduction: latest work"
    messages = console(page)
    warnings = [m for m in messages if m["level"] == "WARNING" and "syndicate-feed" in m["message"]]
    assert len(warnings) == 1 and src in warnings[0]["message"]
    # The browser reports the refused connection itself; no script error may follow it.
    assert not [m for m in messages if "Uncaught" in m["message"]]


def test_a_missing_feed_also_leaves_the_fallback(service, partner, page):
    src = f"{service.url}/topics/no-such-topic/feed.json"
    page.get(partner.page("/missing.html", snippet(service.url, src)))
    wait_for(page, "!!customElements.get('syndicate-feed')")
    page.execute_script("return new Promise((done) => setTimeout(done, 500))")
    assert page.find_element("id", "fallback").is_displayed()
    warnings = [m for m in console(page) if "syndicate-feed" in m["message"]]
    assert len(warnings) == 1 and "HTTP 404" in warnings[0]["message"]


def strict_csp(service: str) -> str:
    """The partner allows scripts, styles, connections and images from our origin only."""
    return (
        f"default-src 'none'; script-src {service}; style-src {service}; "
        f"connect-src {service}; img-src {service}; base-uri 'none'; form-action 'none'"
    )


def test_a_strict_csp_page_shows_it_with_no_violation_cookie_storage_or_shift(
    service, partner, page
):
    src = f"{service.url}/topics/harm-reduction/feed.json"
    count = len(feed(src)["items"])  # (a limit over it shrinks once loaded: a shift)
    body = snippet(service.url, src, f'limit="{count}" summary')
    url = partner.page("/strict.html", body, **{"Content-Security-Policy": strict_csp(service.url)})
    page.get(url)
    wait_for(page, LOADED)
    page.execute_script("return new Promise((done) => setTimeout(done, 500))")
    assert len(shown(page)) == count > 0
    assert page.execute_script("return window.__violations") == []
    assert not [m for m in console(page) if "Content Security Policy" in m["message"]]
    assert page.execute_script("return window.__cls") == 0
    # No cookie and no storage, for the partner's origin and for ours.
    for origin in (partner.url, service.url):
        page.get(origin + "/embed/v1.js" if origin == service.url else url)
        assert page.get_cookies() == []
        assert page.execute_script("return localStorage.length + sessionStorage.length") == 0
        assert page.execute_script("return indexedDB.databases().then((d) => d.length)") == 0


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_light_and_dark_follow_the_system_and_are_screenshotted(service, partner, page, scheme):
    src = f"{service.url}/topics/harm-reduction/feed.json"
    page.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )
    try:
        page.get(partner.page(f"/{scheme}.html", snippet(service.url, src, 'limit="5" summary')))
        wait_for(page, LOADED)
        color = page.execute_script(
            f"return getComputedStyle({SHADOW}.querySelector('[part~=title]')).color"
        )
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.save_screenshot(str(SCREENSHOTS / f"embed-{scheme}.png"))
    finally:
        page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    light = color == "rgb(27, 27, 27)"
    assert light == (scheme == "light"), color


def late_script_page(
    service: str, src: str, stylesheet: bool, attributes: str = 'limit="4" summary'
) -> str:
    """The snippet, with the script arriving a second after the first paint (a slow network)."""
    link = f'<link rel="stylesheet" href="{service}/embed/v1.css">' if stylesheet else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A partner</title>{link}</head>
<body><h1>A partner's page</h1>
<syndicate-feed src="{src}" {attributes}>{FALLBACK}</syndicate-feed>
<p id="below">The partner's own content, below the embed.</p>
<script>setTimeout(() => {{
  const script = document.createElement("script");
  script.type = "module"; script.src = "{service}/embed/v1.js";
  document.head.append(script);
}}, 1000);</script>
</body></html>"""


@pytest.mark.parametrize("stylesheet", [True, False])
def test_the_stylesheet_reserves_the_space_even_when_the_script_is_late(
    service, partner, page, stylesheet
):
    src = f"{service.url}/topics/harm-reduction/feed.json"
    page.get(
        partner.page(f"/late-{stylesheet}.html", late_script_page(service.url, src, stylesheet))
    )
    wait_for(page, LOADED)
    page.execute_script("return new Promise((done) => setTimeout(done, 300))")
    cls = page.execute_script("return window.__cls")
    if stylesheet:
        assert cls == 0
    else:  # what the stylesheet is for: without it, the page moves
        assert cls > 0


def test_the_component_has_no_accessibility_violations(service, partner, page):
    src = f"{service.url}/topics/harm-reduction/feed.json"
    page.get(partner.page("/a11y.html", snippet(service.url, src, 'limit="5" summary images')))
    wait_for(page, LOADED)
    assert accessibility_violations(page) == []


def test_the_fragment_included_in_a_page_has_no_accessibility_violations(service, partner, page):
    fragment = urllib.request.urlopen(f"{service.url}/topics/harm-reduction/feed.html", timeout=5)
    included = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A partner</title></head>
<body><main><h1>A partner's page</h1>
{fragment.read().decode("utf-8")}</main></body></html>"""
    page.get(partner.page("/fragment.html", included))
    assert accessibility_violations(page) == []


def test_links_show_focus_and_text_follows_its_own_direction(service, partner, page):
    from selenium.webdriver.common.keys import Keys

    src = f"{service.url}/topics/harm-reduction/feed.json"
    page.get(partner.page("/focus.html", snippet(service.url, src, 'limit="2" summary')))
    wait_for(page, LOADED)
    directions = page.execute_script(
        f"return [...{SHADOW}.querySelectorAll('[part~=title], [part~=summary]')].map((e) => e.dir)"
    )
    assert directions and set(directions) == {"auto"}
    page.find_element("tag name", "body").send_keys(Keys.TAB)  # to the heading link
    outline = page.execute_script(
        f"const a = {SHADOW}.activeElement; return a && [a.getAttribute('part'), getComputedStyle(a).outlineStyle]"
    )
    assert outline == ["heading-link", "solid"]


def documented_csp(service: str) -> str:
    """The policy docs/embedding.md gives partners, as written, with FEEDS replaced."""
    import re

    from tests.live import ROOT

    text = (ROOT / "docs" / "embedding.md").read_text()
    policy = re.search(r"```text\n\s*(default-src [^\n]+)\n", text)
    assert policy, "docs/embedding.md gives no Content-Security-Policy"
    return policy.group(1).replace("https://FEEDS", service)


def test_the_documented_csp_lets_a_page_use_the_component_and_the_iframe(service, partner, page):
    src = f"{service.url}/topics/harm-reduction/feed.json"
    frame = f"{service.url}/embed/topics/harm-reduction/feed.html"
    body = snippet(service.url, src, 'limit="3" images').replace(
        '<p id="below">',
        f'<iframe id="frame" src="{frame}" title="Harm Reduction" width="100%" height="300" '
        'sandbox="allow-popups allow-top-navigation-by-user-activation"></iframe><p id="below">',
    )
    url = partner.page("/documented-csp.html", body,
                       **{"Content-Security-Policy": documented_csp(service.url)})  # fmt: skip
    page.get(url)
    wait_for(page, LOADED)
    wait_for(
        page, "document.getElementById('frame').contentDocument === null"
    )  # loaded, cross-origin
    page.switch_to.frame(page.find_element("id", "frame"))
    try:
        assert page.find_elements("css selector", ".syndicate-feed__item")
    finally:
        page.switch_to.default_content()
    assert page.execute_script("return window.__violations") == []
    assert not [m for m in console(page) if "Content Security Policy" in m["message"]]


def test_each_element_fetches_its_feed_once_whatever_its_attributes(service, partner, page):
    base = f"{service.url}/topics/harm-reduction"
    elements = "".join(
        f'<syndicate-feed src="{base}/feed.json" type="{t}" view="{v}" limit="2" lang="en" '
        f'heading-level="3"></syndicate-feed>'
        for t, v in (("events", "upcoming"), ("events", "past"), ("voices", ""))
    )
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Partner</title>
<link rel="stylesheet" href="{service.url}/embed/v1.css">
<script type="module" src="{service.url}/embed/v1.js"></script></head>
<body><main><h1>Three embeds</h1>{elements}</main></body></html>"""
    page.get(partner.page("/three.html", body))
    wait_for(
        page,
        "[...document.querySelectorAll('syndicate-feed')].every((e) => e.shadowRoot?.querySelector('.loaded'))",
    )
    page.execute_script("return new Promise((done) => setTimeout(done, 300))")
    fetched = page.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name)"
        ".filter((name) => name.endsWith('.json'))"
    )
    assert sorted(fetched) == sorted(
        [f"{base}/events/upcoming.json", f"{base}/events/past.json", f"{base}/voices.json"]
    )


def test_a_feed_with_fewer_items_than_the_limit_leaves_no_blank_block(service, partner, page):
    src = f"{service.url}/topics/harm-reduction/events/past.json"
    count = len(feed(src)["items"])
    assert 0 < count < 5
    two = snippet(service.url, src, 'limit="5"') + snippet(service.url, src, f'limit="{count}"')
    page.get(partner.page("/fewer.html", two.replace("<!doctype html>", "", 1)))
    wait_for(
        page,
        "[...document.querySelectorAll('syndicate-feed')].every((e) => e.shadowRoot?.querySelector('.loaded'))",
    )
    heights = page.execute_script(
        "return [...document.querySelectorAll('syndicate-feed')].map((e) => e.getBoundingClientRect().height)"
    )
    assert heights[0] == heights[1]  # asked for 5, it holds as much as one asked for `count`


def test_the_component_writes_dates_as_the_iframe_page_does(service, partner, page):
    for name in ("events", "voices"):
        src = f"{service.url}/topics/harm-reduction/{name}.json"
        page.get(partner.page(f"/dates-{name}.html", snippet(service.url, src, 'limit="10"')))
        wait_for(page, LOADED)
        component = page.execute_script(
            f"return [...{SHADOW}.querySelectorAll('time')].map((t) => t.textContent)"
        )
        page.get(f"{service.url}/embed/topics/harm-reduction/{name}.html")
        frame = [t.text for t in page.find_elements("css selector", "time")]
        assert component == frame and component, name
