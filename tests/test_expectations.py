"""What the test content's feeds hold, worked out by hand from tests/fixtures/content.

Nothing here is computed by syndicate's own code: entry order, the `feed_size` cut, the
tombstones and each feed's `updated` are written out from the YAML, then compared with what
every format says once parsed, and with the `Last-Modified` served over HTTP. The content is
chosen so that likely mistakes show: the order by `updated` differs from the order by
`published`, a withdrawn item is among the newest four (`feed_size: 4`), and the newest
change of the Harm Reduction feeds is a withdrawal.
"""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import parsedate_to_datetime

import pytest

from syndicate.settings import Settings
from tests.conftest import CONTENT
from tests.feedcheck import CHECKS

ATOM = "{http://www.w3.org/2005/Atom}"
AT = "{http://purl.org/atompub/tombstones/1.0}"
TAG = "tag:opensocietyfoundations.org,2026:item/"

# path (without extension) -> (entries newest first by published, tombstones newest
# withdrawal first, the feed's updated: its newest change among what it shows)
EXPECTED = {
    "/feed": (
        [
            "decriminalization-is-a-public-health-measure",  # 11-24
            "drugs-in-documentary-films",  # 11-20
            "talking-about-race-harm-reduction",  # 11-12 (drug-checking, 11-18, withdrawn)
            "how-drug-courts-are-falling-short",  # 11-05; the 5th and later are cut
        ],
        [
            "addiction-now-safe-injection-facilities",  # withdrawn 11-25
            "drug-checking-services-explained",  # withdrawn 11-22
            "an-old-voice",  # withdrawn 09-30
        ],
        "2026-11-25T08:00:00-05:00",
    ),
    "/topics/harm-reduction/feed": (
        [
            "drugs-in-documentary-films",
            "talking-about-race-harm-reduction",
            "how-drug-courts-are-falling-short",
            "dire-consequences-slashing-us-global-hiv-assistance",  # updated 11-23, published 10-28
        ],
        ["addiction-now-safe-injection-facilities", "drug-checking-services-explained"],
        "2026-11-25T08:00:00-05:00",
    ),
    "/topics/harm-reduction/events": (
        [
            "drugs-in-documentary-films",
            "talking-about-race-harm-reduction",
            "locking-up-our-own",  # published 10-01, updated 11-21
        ],
        ["addiction-now-safe-injection-facilities"],
        "2026-11-25T08:00:00-05:00",  # the withdrawal, later than any published date
    ),
    "/topics/harm-reduction/voices": (
        [
            "how-drug-courts-are-falling-short",
            "dire-consequences-slashing-us-global-hiv-assistance",
        ],
        ["drug-checking-services-explained"],
        "2026-11-23T12:00:00-05:00",  # an update of an old item
    ),
    "/topics/drug-policy/voices": (
        ["decriminalization-is-a-public-health-measure", "how-drug-courts-are-falling-short"],
        ["drug-checking-services-explained", "an-old-voice"],
        "2026-11-24T09:00:00-05:00",
    ),
    "/events": (
        [
            "drugs-in-documentary-films",
            "talking-about-race-harm-reduction",
            "drug-policy-reform-conference-2027",
            "locking-up-our-own",
        ],
        ["addiction-now-safe-injection-facilities"],
        "2026-11-25T08:00:00-05:00",
    ),
}
CASES = [(path, fmt) for path in EXPECTED for fmt in ("atom", "rss", "json")]


@pytest.fixture
async def client(serve):
    return await serve(Settings(config=CONTENT, watch=False, access_log=False))


def parsed(body: bytes, fmt: str) -> tuple[list[str], list[str] | None, datetime | None]:
    """(entry ids, tombstone ids or None where the format has none, feed updated)."""
    if fmt == "atom":
        root = CHECKS["atom"](body)
        return (
            [e.findtext(f"{ATOM}id") for e in root.findall(f"{ATOM}entry")],
            [d.get("ref") for d in root.findall(f"{AT}deleted-entry")],
            datetime.fromisoformat(root.findtext(f"{ATOM}updated")),
        )
    if fmt == "rss":
        channel = CHECKS["rss"](body)
        return (
            [i.findtext("guid") for i in channel.findall("item")],
            None,  # RSS cannot announce withdrawals
            parsedate_to_datetime(channel.findtext("lastBuildDate")),
        )
    feed = json.loads(body)
    CHECKS["json"](body)
    return (
        [i["id"] for i in feed["items"]],
        [d["id"] for d in feed.get("_deleted", {}).get("items", [])],
        None,  # JSON Feed has no feed-level date
    )


@pytest.mark.parametrize(("path", "fmt"), CASES)
async def test_entries_tombstones_and_updated_are_what_the_content_says(client, path, fmt):
    entries, tombstones, updated = EXPECTED[path]
    response = await client.get(f"{path}.{fmt}")
    assert response.status == 200
    got_entries, got_tombstones, got_updated = parsed(await response.read(), fmt)
    assert got_entries == [TAG + slug for slug in entries]
    if got_tombstones is not None:
        assert got_tombstones == [TAG + slug for slug in tombstones]
    if got_updated is not None:
        assert got_updated == datetime.fromisoformat(updated)


@pytest.mark.parametrize(("path", "fmt"), CASES)
async def test_last_modified_is_the_feeds_newest_change(client, path, fmt):
    response = await client.get(f"{path}.{fmt}")
    last_modified = parsedate_to_datetime(response.headers["Last-Modified"])
    assert last_modified == datetime.fromisoformat(EXPECTED[path][2])


def test_the_fixture_orders_by_published_and_by_updated_differ():
    """Guards the fixture itself: were the orders equal, a sort by the wrong date would pass."""
    from syndicate.loader import load_catalog

    items = [i for i in load_catalog(CONTENT).items if not i.withdrawn]
    by_published = [i.id for i in sorted(items, key=lambda i: i.published, reverse=True)]
    by_updated = [i.id for i in sorted(items, key=lambda i: i.updated, reverse=True)]
    assert by_published != by_updated
