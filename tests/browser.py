"""Headless Chromium (Debian's chromium and chromium-driver, driven by Selenium) and a
partner site on another origin, for tests of what partners embed.

Bounded: page loads and scripts time out, the partner server and the browser are stopped
by the fixtures that start them. Everything is on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.live import need

SCREENSHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"

# Collected in every page before its own scripts run (DevTools injection is not subject to
# the page's CSP): CSP violations, dialogs, layout shifts.
PROBE = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
window.__dialogs = 0;
for (const name of ["alert", "confirm", "prompt"]) window[name] = () => { window.__dialogs++; };
window.__cls = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__cls += entry.value;
}).observe({ type: "layout-shift", buffered: true });
"""


@dataclass
class PartnerSite:
    """A partner's web server: pages and headers by path; what was asked of it."""

    url: str = ""
    pages: dict[str, tuple[bytes, dict[str, str]]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def page(self, path: str, body: str | bytes, content_type: str = "text/html; charset=utf-8",
             **headers: str) -> str:  # fmt: skip
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.pages[path] = (data, {"Content-Type": content_type, **headers})
        return self.url + path

    def json(self, path: str, document: Any) -> str:
        return self.page(
            path,
            json.dumps(document),
            "application/feed+json",
            **{"Access-Control-Allow-Origin": "*"},
        )


def partner_site() -> Iterator[PartnerSite]:
    site = PartnerSite()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append(self.path)
            body, headers = site.pages.get(
                self.path, (b"not found", {"Content-Type": "text/plain"})
            )
            self.send_response(200 if self.path in site.pages else 404)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def chromium(profile: Path) -> Iterator[Any]:
    """A headless Chromium with its console and network logs kept."""
    binary, driver_path = need("chromium"), need("chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
        "--window-size=900,1100", f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(10)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE})
    try:
        yield driver
    finally:
        driver.quit()


def console(driver: Any) -> list[dict[str, Any]]:
    """The console messages since the last call."""
    return list(driver.get_log("browser"))


def requested_urls(driver: Any) -> list[str]:
    """Every URL the browser requested since the last call (from the DevTools network log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def wait_for(driver: Any, script: str, timeout: float = 10) -> Any:
    """Poll `script` (a JS expression) until it is truthy; its value."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        lambda d: d.execute_script(f"return {script}")
    )


AXE = Path(__file__).resolve().parent / "browser_deps" / "node_modules" / "axe-core" / "axe.min.js"
AXE_RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def accessibility_violations(driver: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the current page (shadow roots included), WCAG 2.2 A and AA
    plus axe's best practices: [{id, impact, help, targets}]."""
    if not AXE.is_file():
        import os

        import pytest

        message = "axe-core is not installed (`make test` installs it with npm)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run this test")
        pytest.skip(message)
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))  # DevTools: not subject to CSP
    result = driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
          .then((r) => done(r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map((n) => n.target)}))))
          .catch((e) => done([{id: "axe-error", impact: "critical", help: String(e), targets: []}]));""",
        AXE_RULES,
    )
    return list(result)
