"""Scheduled publishing: an item whose `published` is later than now is in no feed until
then, and the service publishes it at that moment by itself."""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest
from prometheus_client.parser import text_string_to_metric_families

from syndicate.loader import load_catalog
from syndicate.problems import ContentError
from syndicate.schedule import as_of
from syndicate.settings import Settings
from tests.conftest import CONTENT
from tests.fakeclock import FakeClock
from tests.test_cli import run

NEW_YORK_OFFSET = "-05:00"  # the fixture site's zone, in winter


def scheduled_item(item_id: str, published: datetime, updated: datetime | None = None) -> str:
    lines = [
        "item:",
        f"  id: {item_id}",
        "  type: voices",
        f"  title: Scheduled {item_id}",
        "  summary: Not yet.",
        f"  url: https://www.opensocietyfoundations.org/voices/{item_id}",
        f"  published: {published.isoformat(timespec='seconds')}",
        "  topics: [harm-reduction]",
    ]
    if updated is not None:
        lines.append(f"  updated: {updated.isoformat(timespec='seconds')}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


def add(config: Path, name: str, text: str) -> None:
    (config / "items" / f"{name}.yaml").write_text(text, encoding="utf-8")


def test_as_of_leaves_out_items_published_after_the_moment_soonest_first():
    catalog = load_catalog(CONTENT)
    ordered = sorted(catalog.items, key=lambda item: item.published)
    moment = ordered[-3].published  # the two newest come after it
    split = as_of(catalog, moment)
    assert [item.id for item in split.scheduled] == [ordered[-2].id, ordered[-1].id]
    assert {item.id for item in split.catalog.items} == {item.id for item in ordered[:-2]}
    assert split.next_moment == ordered[-2].published
    for items in (*split.catalog.by_type.values(), *split.catalog.by_topic.values()):
        assert all(item.published <= moment for item in items)


def test_as_of_a_moment_after_everything_keeps_the_catalog():
    catalog = load_catalog(CONTENT)
    split = as_of(catalog, datetime(2100, 1, 1, tzinfo=UTC))
    assert split.catalog is catalog and split.scheduled == () and split.next_moment is None


def test_a_change_dated_in_the_future_is_a_located_problem(config):
    future = datetime.now(UTC) + timedelta(days=365)
    add(config, "typo", scheduled_item("typo", datetime(2026, 11, 1, 9, tzinfo=UTC), future))
    with pytest.raises(ContentError) as caught:
        load_catalog(config, datetime.now(UTC))
    [problem] = caught.value.problems
    assert problem.file.endswith("items/typo.yaml") and problem.line == 9
    assert problem.key == "item.updated"
    assert "is in the future" in problem.message and "move 'published'" in problem.message


def test_a_withdrawal_dated_in_the_future_is_a_located_problem(config):
    future = (datetime.now(UTC) + timedelta(days=30)).isoformat(timespec="seconds")
    text = scheduled_item("gone", datetime(2026, 11, 1, 9, tzinfo=UTC))
    add(config, "gone", text + f"  withdrawn:\n    date: {future}\n    reason: Later.\n")
    with pytest.raises(ContentError) as caught:
        load_catalog(config, datetime.now(UTC))
    [problem] = caught.value.problems
    assert (problem.line, problem.key) == (10, "item.withdrawn.date")


def test_a_future_published_date_is_not_a_problem(config):
    far = datetime(2099, 3, 1, 9, tzinfo=UTC)
    add(config, "later", scheduled_item("later", far, far + timedelta(hours=1)))
    catalog = load_catalog(config, datetime.now(UTC))
    assert "later" in {item.id for item in catalog.items}


def test_check_lists_what_is_scheduled_and_when(config):
    add(config, "later", scheduled_item("later", datetime(2099, 3, 1, 14, tzinfo=UTC)))
    result = run("check", str(config))
    assert result.returncode == 0, result.stderr
    assert "Scheduled (in no feed until then): 1" in result.stdout
    assert "2099-03-01T09:00-05:00  later (voices, " in result.stdout  # in the site's zone
    assert "items/later.yaml:2)" in result.stdout  # where the item starts


async def test_a_scheduled_item_is_in_no_feed_or_count_until_its_moment(serve, config):
    add(config, "later", scheduled_item("later", datetime(2099, 3, 1, 9, tzinfo=UTC)))
    clock = FakeClock(datetime(2026, 11, 26, 12, tzinfo=UTC))
    client = await serve(Settings(config=config, watch=False, access_log=False), clock)
    for path in client.service.store.snapshot.representations:
        assert b"later" not in await (await client.get(path)).read(), path
    health = await (await client.get("/healthz")).json()
    assert health["counts"]["items"] == len(load_catalog(CONTENT).items)
    assert health["scheduled"] == {
        "items": 1,
        "next_publication": "2099-03-01T09:00:00+00:00",
        # before that, the next event ends: 10 December, 14:30 in New York
        "next_rebuild": "2026-12-10T19:30:00+00:00",
    }
    metrics = {
        sample.name: sample.value
        for family in text_string_to_metric_families(await (await client.get("/metrics")).text())
        for sample in family.samples
    }
    assert metrics["syndicate_scheduled_items"] == 1
    assert metrics["syndicate_next_rebuild_timestamp_seconds"] == pytest.approx(
        datetime(2026, 12, 10, 19, 30, tzinfo=UTC).timestamp()
    )


async def test_the_service_publishes_a_scheduled_item_at_its_moment_by_itself(serve, config):
    due = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
    add(config, "soon", scheduled_item("soon", due))
    client = await serve(Settings(config=config, watch=False, access_log=False))
    assert b"Scheduled soon" not in await (await client.get("/feed.atom")).read()
    health = await (await client.get("/healthz")).json()
    assert health["scheduled"]["next_publication"] == due.isoformat()
    started = time.monotonic()
    while time.monotonic() - started < 5:  # no edit, no signal: only the timer
        response = await client.get("/feed.atom")
        body = await response.read()
        if b"Scheduled soon" in body:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("not published within 3 s of its moment")
    assert datetime.now(UTC) >= due
    entries = feedparser.parse(body).entries
    assert entries[0].title == "Scheduled soon"  # the newest
    modified = parsedate_to_datetime(response.headers["Last-Modified"])
    assert modified == due <= parsedate_to_datetime(response.headers["Date"])
    health = await (await client.get("/healthz")).json()
    assert health["scheduled"]["items"] == 0 and health["scheduled"]["next_publication"] is None
    assert health["status"] == "ok"


async def test_a_publication_that_cannot_be_built_is_reported_and_retried(serve, config):
    due = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    add(config, "soon", scheduled_item("soon", due))
    client = await serve(Settings(config=config, watch=False, access_log=False))
    broken = config / "items" / "broken.yaml"
    broken.write_text("items: [\n", encoding="utf-8")  # an edit in progress, not yet fixed

    async def health() -> dict:
        return await (await client.get("/healthz")).json()

    started = time.monotonic()
    while "scheduler" not in (await health())["background"]:
        assert time.monotonic() - started < 4, "the failed publication is not reported"
        await asyncio.sleep(0.1)
    report = await health()
    assert report["status"] == "degraded"
    assert "publication of soon could not be built" in report["background"]["scheduler"]["reason"]
    broken.unlink()  # fixed: the timer's next try (backoff) publishes it
    while b"Scheduled soon" not in await (await client.get("/feed.atom")).read():
        assert time.monotonic() - started < 8, "not published after the content was fixed"
        await asyncio.sleep(0.1)
    while (await health())["status"] != "ok":
        assert time.monotonic() - started < 9, await health()
        await asyncio.sleep(0.1)


async def test_several_scheduled_items_are_published_each_at_its_own_moment(serve, config):
    start = datetime(2026, 11, 26, 12, tzinfo=UTC)
    moments = {"third": start + timedelta(hours=3), "first": start + timedelta(hours=1),
               "second": start + timedelta(hours=2)}  # fmt: skip
    for name, moment in moments.items():  # (written in another order than they fall due)
        add(config, name, scheduled_item(name, moment))
    clock = FakeClock(start)
    client = await serve(Settings(config=config, watch=False, access_log=False), clock)

    async def titles() -> set[str]:
        body = await (await client.get("/feed.atom")).read()
        return {e.title for e in feedparser.parse(body).entries if e.title.startswith("Sched")}

    for done, name in enumerate(["first", "second", "third"], 1):
        health = await (await client.get("/healthz")).json()
        assert health["scheduled"]["next_publication"] == moments[name].isoformat()
        clock.advance(moments[name])
        expected = {f"Scheduled {n}" for n in ["first", "second", "third"][:done]}
        for _ in range(100):
            if await titles() == expected:
                break
            await asyncio.sleep(0.02)
        assert await titles() == expected
