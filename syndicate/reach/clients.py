"""Who a request's User-Agent says it is, reduced to what reach counts and nothing more.

* A **hosted reader** (Feedly, Inoreader, NewsBlur, Feedbin, The Old Reader, and any other
  saying `N subscribers`) fetches once for all its users and reports how many there are.
* A **known bot** (search engines, SEO and AI crawlers) is counted apart from readers.
* Anything else is a **poller**: a self-hosted reader, a calendar app, a script. It is
  named only by a family from a fixed list (`newsboat`, `Miniflux`...; `other`), so nothing
  stored or shown holds a person's full User-Agent.

`classify` is cached: a busy feed sees the same few hundred User-Agents all day.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

HOSTED, BOT, POLLER = "hosted", "bot", "poller"
OTHER = "other"
MAX_SUBSCRIBERS = 10_000_000  # a larger figure is not believed (a User-Agent is easy to forge)
LONGEST_USER_AGENT = 1000  # past it, only the start is read

# Hosted readers, in the form each one sends (../shared/notes/reach.md).
_HOSTED = (
    ("Feedly", re.compile(r"\bfeedly\b", re.I)),
    ("Inoreader", re.compile(r"\binoreader\b", re.I)),
    ("NewsBlur", re.compile(r"\bnewsblur\b", re.I)),
    ("Feedbin", re.compile(r"\bfeedbin\b", re.I)),
    ("The Old Reader", re.compile(r"\btheoldreader\b", re.I)),
)
_SUBSCRIBERS = re.compile(r"([0-9]{1,12})\s+subscribers?\b", re.I)
_COMPATIBLE = re.compile(r"compatible;\s*([^;()/]+)", re.I)
_PRODUCT = re.compile(r"^\s*([^/;()\s][^/;()]*?)\s*(?:/|;|\(|\s-\s|$)")
_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9 ._+-]")

# Self-hosted readers and calendar apps, by the family shown for them; first match wins.
_FAMILIES = (
    ("newsboat", re.compile(r"\bnewsboat\b|\bnewsbeuter\b", re.I)),
    ("Miniflux", re.compile(r"\bminiflux\b", re.I)),
    ("FreshRSS", re.compile(r"\bfreshrss\b", re.I)),
    ("Tiny Tiny RSS", re.compile(r"tiny tiny rss|\btt-rss\b", re.I)),
    ("NetNewsWire", re.compile(r"\bnetnewswire\b", re.I)),
    ("Thunderbird", re.compile(r"\bthunderbird\b", re.I)),
    ("NewsFlash", re.compile(r"\bnewsflash\b", re.I)),
    ("Liferea", re.compile(r"\bliferea\b", re.I)),
    ("Akregator", re.compile(r"\bakregator\b", re.I)),
    ("Feeder", re.compile(r"\bfeeder\b|spacecowboy", re.I)),
    ("Reeder", re.compile(r"\breeder\b", re.I)),
    ("Apple Calendar", re.compile(r"dataaccessd|\bical\b|calendaragent", re.I)),
    ("Google Calendar", re.compile(r"google-calendar-importer", re.I)),
    ("Outlook", re.compile(r"\boutlook\b|microsoft office", re.I)),
    ("Home Assistant", re.compile(r"home ?assistant", re.I)),
    ("feedparser", re.compile(r"\bfeedparser\b", re.I)),
)
# Tools and browsers: after the bots, which often call themselves one of these too.
_GENERIC = (
    ("curl", re.compile(r"^curl/", re.I)),
    ("Wget", re.compile(r"^wget/", re.I)),
    ("Python", re.compile(r"python-requests|python-urllib|aiohttp|\bhttpx\b", re.I)),
    ("browser", re.compile(r"^Mozilla/5\.0 \((?:Windows|Macintosh|X11|Linux|iPhone|iPad)", re.I)),
)

# Crawlers that index or harvest the web: not readers. Named ones first, then the words
# crawlers call themselves.
_BOTS = re.compile(
    r"googlebot|bingbot|yandex(?:bot|images)|baiduspider|duckduckbot|applebot|ahrefsbot"
    r"|semrushbot|mj12bot|dotbot|petalbot|bytespider|amazonbot|gptbot|chatgpt-user"
    r"|oai-searchbot|claudebot|claude-web|anthropic-ai|ccbot|perplexitybot|facebookexternalhit"
    r"|meta-externalagent|dataforseobot|seznambot|sogou|blexbot|barkrowler|imagesiftbot"
    r"|\b(?:bot|crawler|spider|scraper)\b|[a-z](?:bot|crawler|spider)\b",
    re.I,
)


@dataclass(frozen=True)
class Client:
    """What reach keeps of a User-Agent."""

    kind: str  # HOSTED, BOT or POLLER
    name: str  # the hosted reader, or the poller's family (OTHER when unknown); "" for bots
    subscribers: int | None = None  # what a hosted reader reports


def _hosted_name(user_agent: str) -> str:
    for name, pattern in _HOSTED:
        if pattern.search(user_agent):
            return name
    found = _COMPATIBLE.search(user_agent) if user_agent.startswith("Mozilla/") else None
    found = found or _PRODUCT.search(user_agent)
    name = _NAME_CHARACTERS.sub("", found.group(1)).strip()[:40] if found else ""
    return name or "other hosted reader"


@functools.lru_cache(maxsize=4096)
def classify(user_agent: str) -> Client:
    """What `user_agent` is, for counting."""
    user_agent = user_agent[:LONGEST_USER_AGENT]
    reported = _SUBSCRIBERS.search(user_agent)
    if reported is not None:
        figure = int(reported.group(1))
        if figure <= MAX_SUBSCRIBERS:
            return Client(HOSTED, _hosted_name(user_agent), figure)
    for name, pattern in _FAMILIES:
        if pattern.search(user_agent):
            return Client(POLLER, name)
    if _BOTS.search(user_agent):
        return Client(BOT, "")
    for name, pattern in _GENERIC:
        if pattern.search(user_agent):
            return Client(POLLER, name)
    return Client(POLLER, OTHER)


HOSTED_READERS = tuple(name for name, _ in _HOSTED)
