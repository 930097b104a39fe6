"""The record of what was published (published.json): `check --record` keeps it; an item
removed without a withdrawal is reported (check, /healthz, the log, /metrics) and served as
withdrawn until an editor decides; a published slug that leads nowhere is reported with the
alias to add; `forget` takes things out of it; duplicate ids are blamed on the copy."""

from __future__ import annotations

import gzip
import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from syndicate.build import snapshot_for
from syndicate.loader import load_catalog
from syndicate.problems import ContentError
from syndicate.published import FILE_NAME, parse_record, record_json, updated_record
from syndicate.settings import Settings
from tests.conftest import CONTENT
from tests.feedcheck import check_atom, check_ical, check_json_feed, check_rss
from tests.test_cli import run

PUBLIC = "https://feeds.example.org"
AT = "{http://purl.org/atompub/tombstones/1.0}"
TAG = "tag:opensocietyfoundations.org,2026:item/"
EVENT_ID = "drug-policy-reform-conference-2027"
EVENT_FILE = Path("items/drug-policy/reform-conference.yaml")
LIVE_IDS_IN_CONTENT = 10  # items of the tests' content, all published, none a draft


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    assert run("check", "--record", str(folder)).returncode == 0
    return folder


def bodies(config: Path, **settings: object) -> dict[str, bytes]:
    snapshot = snapshot_for(Settings(config=config, public_url=PUBLIC, **settings))  # type: ignore[arg-type]
    return {p: gzip.decompress(r.gzip_body) for p, r in snapshot.representations.items()}


def test_check_record_lists_every_published_item_once(config: Path):
    record = parse_record((config / FILE_NAME).read_bytes())
    assert len(record.items) == LIVE_IDS_IN_CONTENT
    assert record.topics == ("drug-policy", "harm-reduction")
    assert record.types == ("events", "voices")
    event = record.items[EVENT_ID]
    assert event.start == datetime(2027, 3, 15, tzinfo=UTC) and event.timezone == "Europe/Lisbon"
    lines = (config / FILE_NAME).read_text().splitlines()
    assert sum(1 for line in lines if line.startswith('    "')) == LIVE_IDS_IN_CONTENT


def test_the_record_leaves_drafts_and_scheduled_items_out(config: Path):
    (config / "items" / "d.yaml").write_text(
        "item: {id: a-draft, type: voices, title: D, summary: S, url: https://e.org/d, "
        "published: 2026-11-01, topics: [drug-policy], draft: true}\n"
        "items:\n  - {id: a-later-one, type: voices, title: L, summary: S, url: https://e.org/l, "
        "published: 2099-01-01, topics: [drug-policy]}\n"
    )
    assert run("check", "--record", str(config)).returncode == 0
    record = parse_record((config / FILE_NAME).read_bytes())
    assert "a-draft" not in record.items and "a-later-one" not in record.items


def test_a_second_check_changes_no_byte(config: Path):
    before = (config / FILE_NAME).read_bytes()
    result = run("check", "--record", str(config))
    assert result.returncode == 0 and "Recorded" not in result.stdout
    assert (config / FILE_NAME).read_bytes() == before


def test_without_record_check_writes_nothing_and_gives_a_tip(tmp_path: Path):
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    result = run("check", str(folder))
    assert result.returncode == 0 and "Tip: `syndicate check --record" in result.stdout
    assert not (folder / FILE_NAME).exists()


def test_a_removed_item_is_reported_by_check_at_its_line_of_the_record(config: Path):
    (config / EVENT_FILE).unlink()
    result = run("check", "--record", str(config))
    assert result.returncode == 1
    line = next(n for n, text in enumerate((config / FILE_NAME).read_text().splitlines(), 1)
                if text.startswith(f'    "{EVENT_ID}"'))  # fmt: skip
    assert (
        f"{config / FILE_NAME}:{line}: item '{EVENT_ID}' (\"International Drug Policy Reform "
        'Conference 2027", events) was published and is no longer in the content. Subscribers '
        "still have it: put it back with 'withdrawn:' (a date and the reason they will see), "
        f"or, to tell them nothing, run `syndicate forget {EVENT_ID}`."
    ) in result.stderr


def test_a_removed_item_is_served_as_withdrawn_in_every_format(config: Path):
    (config / EVENT_FILE).unlink()
    served = bodies(config)
    atom = check_atom(served["/topics/drug-policy/feed.atom"])
    deleted = {d.get("ref"): d.findtext(f"{AT}comment") for d in atom.iter(f"{AT}deleted-entry")}
    assert deleted[TAG + EVENT_ID] == "Removed from the site."
    check_rss(served["/topics/drug-policy/feed.rss"])
    json_feed = check_json_feed(served["/topics/drug-policy/feed.json"])
    assert TAG + EVENT_ID in [d["id"] for d in json_feed["_deleted"]["items"]]
    assert all(i["id"] != TAG + EVENT_ID for i in json_feed["items"])


def test_a_removed_event_is_cancelled_in_the_calendars_it_was_in(config: Path):
    before = bodies(config)["/topics/drug-policy/events.ics"]
    (config / EVENT_FILE).unlink()
    after = bodies(config)["/topics/drug-policy/events.ics"]
    uid = f"{EVENT_ID}.2026@opensocietyfoundations.org"
    old = {str(e["UID"]): e for e in check_ical(before).walk("VEVENT")}[uid]
    new = {str(e["UID"]): e for e in check_ical(after).walk("VEVENT")}[uid]
    assert str(new["STATUS"]) == "CANCELLED"
    assert int(new["SEQUENCE"]) > int(old.get("SEQUENCE", 0))
    assert new.decoded("DTSTART") == old.decoded("DTSTART")


def test_removed_items_are_served_alike_by_every_build(config: Path):
    (config / EVENT_FILE).unlink()
    assert bodies(config) == bodies(config)  # the record, not the clock, dates the tombstone


def test_a_previously_withdrawn_item_keeps_the_reason_readers_were_given(config: Path):
    (config / "items" / "drug-policy" / "an-old-voice.yaml").unlink()
    atom = etree.fromstring(bodies(config)["/topics/drug-policy/feed.atom"])
    deleted = {d.get("ref"): d.findtext(f"{AT}comment") for d in atom.iter(f"{AT}deleted-entry")}
    assert deleted[TAG + "an-old-voice"] == "Superseded by newer work."


def test_a_published_item_made_a_draft_again_is_reported_and_served_withdrawn(config: Path):
    path = config / EVENT_FILE
    path.write_text(path.read_text() + "draft: true\n".rjust(14))
    result = run("check", "--record", str(config))
    assert result.returncode == 1 and "is a draft again" in result.stderr
    atom = etree.fromstring(bodies(config)["/topics/drug-policy/events.atom"])
    assert TAG + EVENT_ID in [d.get("ref") for d in atom.iter(f"{AT}deleted-entry")]


def test_putting_it_back_withdrawn_settles_it(config: Path):
    text = (config / EVENT_FILE).read_text()
    (config / EVENT_FILE).write_text(
        text + "  withdrawn:\n    date: 2026-11-20T10:00\n    reason: Called off.\n"
    )
    assert run("check", "--record", str(config)).returncode == 0
    atom = etree.fromstring(bodies(config)["/topics/drug-policy/events.atom"])
    deleted = {d.get("ref"): d.findtext(f"{AT}comment") for d in atom.iter(f"{AT}deleted-entry")}
    assert deleted[TAG + EVENT_ID] == "Called off."


def test_forget_takes_it_out_of_the_record_and_the_feeds(config: Path):
    (config / EVENT_FILE).unlink()
    result = run("forget", EVENT_ID, "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert run("check", "--record", str(config)).returncode == 0
    served = bodies(config)
    assert all(EVENT_ID.encode() not in body for body in served.values())


def test_forget_refuses_a_published_item_and_an_unknown_id(config: Path):
    published = run("forget", EVENT_ID, "--config", str(config))
    assert published.returncode == 2 and "is published: withdraw it" in published.stderr
    unknown = run("forget", "drug-policy-reform-conference", "--config", str(config))
    assert unknown.returncode == 2 and f"(did you mean '{EVENT_ID}'?)" in unknown.stderr


def test_a_topic_renamed_without_an_alias_is_reported_with_the_alias_to_add(config: Path):
    for path in [config / "topics.yaml", *config.rglob("items/**/*.yaml")]:
        path.write_text(path.read_text().replace("drug-policy", "drug-reform"))
    for item in [i for i in config.rglob("*.yaml") if "drug-reform-reform" in i.read_text()]:
        item.write_text(item.read_text().replace("drug-reform-reform", "drug-policy-reform"))
    result = run("check", "--record", str(config))
    assert result.returncode == 1, result.stdout
    assert (
        "topic 'drug-policy' was published and is no longer a topic or an alias (is it "
        "'drug-reform' now?): every subscription to its feeds gets 404. If you renamed it, add "
        "'aliases: [drug-policy]' to the new topic"
    ) in result.stderr


def test_an_item_naming_a_published_slug_that_is_gone_is_told_how_to_rename(config: Path):
    topics = config / "topics.yaml"
    topics.write_text(topics.read_text().replace("slug: drug-policy", "slug: drug-reform"))
    result = run("check", "--record", str(config))
    assert result.returncode == 1
    assert (
        "unknown topic 'drug-policy'; defined topics: harm-reduction, drug-reform. 'drug-policy' "
        "was published: if you renamed the topic, add 'aliases: [drug-policy]' to it"
    ) in result.stderr


def test_a_duplicate_id_is_blamed_on_the_item_the_record_does_not_know(config: Path):
    original = (config / EVENT_FILE).read_text()
    copy = original.replace("published: 2026-11-02", "published: 2026-10-01").replace(
        "events/drug-policy-reform-conference-2027", "events/a-copy"
    )
    (config / "items" / "copy.yaml").write_text(copy)
    from syndicate.published import read_record

    record = read_record(config)
    with pytest.raises(ContentError) as raised:
        load_catalog(config, record=record)  # type: ignore[arg-type]
    (problem,) = raised.value.problems
    assert problem.file == str(config / "items" / "copy.yaml")
    assert problem.message.startswith(
        f"duplicate item id '{EVENT_ID}': {config / EVENT_FILE}:3 holds it too, and was "
        f"published with it (the record, {FILE_NAME}, says so)"
    )


def test_a_broken_record_is_a_located_problem_and_stops_nothing_else(config: Path):
    (config / FILE_NAME).write_text('{"version": 1, "items": {"x": {"type": 3}}}\n')
    result = run("check", str(config))
    assert result.returncode == 1
    assert f"{config / FILE_NAME}: items.x: type, title and url must be texts" in result.stderr
    with pytest.raises(ContentError):
        bodies(config)


async def test_healthz_and_metrics_say_what_is_missing_and_what_to_do(serve, config, caplog):
    caplog.set_level(logging.WARNING, logger="syndicate.content")
    (config / EVENT_FILE).unlink()
    client = await serve(Settings(config=config, public_url=PUBLIC))
    health = await (await client.get("/healthz")).json()
    assert health["status"] == "degraded"
    assert health["content"]["removed"] == [{
        "id": EVENT_ID, "title": "International Drug Policy Reform Conference 2027",
        "url": f"https://www.opensocietyfoundations.org/events/{EVENT_ID}", "drafted": False,
    }]  # fmt: skip
    (reason,) = [r for r in health["reasons"] if EVENT_ID in r]
    assert f"`syndicate forget {EVENT_ID}`" in reason and "withdrawn:" in reason
    metrics = await (await client.get("/metrics")).text()
    assert "syndicate_removed_items 1.0" in metrics
    assert "syndicate_degraded 1.0" in metrics
    logged = [r for r in caplog.records if EVENT_ID in r.getMessage()]
    assert len(logged) == 1
    await client.service.store.reload("test")  # a reload with the same content: not again
    assert len([r for r in caplog.records if EVENT_ID in r.getMessage()]) == 1


def test_the_sample_keeps_its_record_up_to_date():
    from tests.conftest import SAMPLE

    data = (SAMPLE / FILE_NAME).read_bytes()
    record = parse_record(data)
    assert {i.id for i in load_catalog(SAMPLE).items if not i.draft} == set(record.items)
    assert json.loads(data)["version"] == 1
    now = datetime.now(UTC)
    assert record_json(updated_record(record, load_catalog(SAMPLE, now), now)) == data, (
        "run `make check` and commit feeds_config/published.json"
    )
