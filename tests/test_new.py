"""`syndicate new`: a new item's file, a valid draft with an id from its title, placeholders
where only the editor can write, and where to preview it."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syndicate.build import snapshot_for
from syndicate.loader import load_catalog
from syndicate.newitem import MAX_ID_LENGTH, slug_from
from syndicate.settings import Settings
from tests.conftest import CONTENT
from tests.schemacheck import schema_errors
from tests.test_cli import run

ZONE = ZoneInfo("America/New_York")  # the tests' site's zone


@pytest.fixture
def config(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


def new(config: Path, *args: str):  # type: ignore[no-untyped-def]
    return run("new", *args, "--config", str(config))


def item_of(config: Path, item_id: str):  # type: ignore[no-untyped-def]
    return next(i for i in load_catalog(config).items if i.id == item_id)


def test_it_writes_a_valid_draft_in_the_topics_folder_and_says_where_to_see_it(config: Path):
    result = new(config, "voices", "--topic", "harm-reduction", "--title", "Naloxone Saves Lives")
    assert result.returncode == 0, result.stderr
    path = config / "items" / "harm-reduction" / "naloxone-saves-lives.yaml"
    assert path.is_file()
    assert f"wrote {path}: naloxone-saves-lives (a draft)" in result.stdout
    assert "http://127.0.0.1:8081/topics/harm-reduction/" in result.stdout
    item = item_of(config, "naloxone-saves-lives")
    assert item.draft and item.type == "voices" and item.topics == ("harm-reduction",)
    checked = run("check", str(config))
    assert f"{path}:7: naloxone-saves-lives (voices)" in checked.stdout


def test_published_is_now_in_the_sites_zone_to_the_minute(config: Path):
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    new(config, "voices", "--topic", "harm-reduction", "--title", "Now")
    after = datetime.now(UTC)
    text = (config / "items" / "harm-reduction" / "now.yaml").read_text()
    written = next(line for line in text.splitlines() if line.startswith("  published: "))
    local = datetime.fromisoformat(written.split()[1]).replace(tzinfo=ZONE)
    assert before <= local <= after and local.second == 0
    assert "America/New_York" in written  # the comment says which zone


def test_at_schedules_it_in_the_sites_zone(config: Path):
    when = (datetime.now(ZONE) + timedelta(days=3)).replace(hour=9, minute=0, second=0,
                                                            microsecond=0)  # fmt: skip
    result = new(config, "voices", "--topic", "drug-policy", "--title", "Later",
                 "--at", when.strftime("%Y-%m-%dT%H:%M"), "--summary", "Due.",
                 "--url", "https://example.org/later", "--publish")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "(scheduled)" in result.stdout
    assert item_of(config, "later").published == when
    assert "Scheduled (in no feed until then): 1" in run("check", str(config)).stdout


def test_a_title_is_written_exactly_whatever_it_holds(config: Path):
    title = 'Naloxone: "Saves" Lives # 2027 — café 😀 مرحبا \\ {x} [y] & <z>'
    result = new(config, "voices", "--topic", "harm-reduction", "--title", title)
    assert result.returncode == 0, result.stderr
    assert item_of(config, "naloxone-saves-lives-2027-cafe-x-y-z").title == title


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Drug Checking, Explained!", "drug-checking-explained"),
        ("Ça va? Übermäßig — naïve", "ca-va-ubermassig-naive"),
        ("  --2027--  ", "2027"),
        ("مرحبا 😀", ""),
    ],
)
def test_ids_are_ascii_words_joined_by_hyphens(title: str, expected: str):
    assert slug_from(title) == expected


def test_a_long_title_gives_an_id_cut_between_words():
    slug = slug_from("word " * 40)
    assert len(slug) <= MAX_ID_LENGTH and slug.endswith("word") and "--" not in slug


def test_a_title_with_no_latin_letters_gets_an_id_from_the_type_and_day(config: Path):
    result = new(config, "voices", "--topic", "harm-reduction", "--title", "مرحبا")
    assert result.returncode == 0, result.stderr
    day = datetime.now(ZONE).strftime("%Y-%m-%d")
    assert item_of(config, f"voices-{day}").title == "مرحبا"


def test_an_id_in_use_gets_a_number_drafts_and_withdrawn_items_included(config: Path):
    # "Drug Checking Services, Explained" is a withdrawn item of the tests' content.
    title = "Drug Checking Services Explained"
    assert new(config, "voices", "--topic", "drug-policy", "--title", title).returncode == 0
    assert new(config, "voices", "--topic", "drug-policy", "--title", title).returncode == 0
    ids = {item.id for item in load_catalog(config).items}
    assert {"drug-checking-services-explained-2", "drug-checking-services-explained-3"} <= ids


def test_an_event_gets_a_start_and_an_article_none(config: Path):
    new(config, "events", "--topic", "harm-reduction", "--title", "A Meeting")
    new(config, "voices", "--topic", "harm-reduction", "--title", "A Voice")
    event = item_of(config, "a-meeting")
    assert event.event is not None and event.event.start > event.published
    assert item_of(config, "a-voice").event is None


def test_removing_the_draft_mark_without_filling_in_is_refused(config: Path):
    new(config, "events", "--topic", "harm-reduction", "--title", "A Meeting")
    path = config / "items" / "harm-reduction" / "a-meeting.yaml"
    path.write_text(path.read_text().replace("  draft: true\n", ""))
    result = run("check", str(config))
    assert result.returncode == 1
    assert f"{path}:10: item.summary: still holds the placeholder 'REPLACE ME'" in result.stderr
    assert f"{path}:11: item.url: still holds the placeholder 'REPLACE ME'" in result.stderr


def test_with_every_value_given_it_can_be_published_at_once(config: Path):
    result = new(config, "events", "--topic", "drug-policy", "--title", "Open Meeting",
                 "--summary", "All welcome.", "--url", "https://example.org/open-meeting",
                 "--start", "2099-01-15T18:30", "--publish")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "(published)" in result.stdout and "Publish it" not in result.stdout
    snapshot = snapshot_for(Settings(config=config, public_url="https://feeds.example.org"))
    assert b"Open Meeting" in snapshot.representations["/topics/drug-policy/events.atom"].body


def test_publishing_without_the_values_is_refused_and_nothing_is_written(config: Path):
    result = new(config, "voices", "--topic", "harm-reduction", "--title", "Hasty", "--publish")
    assert result.returncode == 1
    assert "still holds the placeholder" in result.stderr and "Nothing written" in result.stderr
    assert not (config / "items" / "harm-reduction" / "hasty.yaml").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["voice", "--topic", "harm-reduction"], "unknown type 'voice' (did you mean 'voices'?)"),
        (["voices", "--topic", "harm-reductio"], "unknown topic 'harm-reductio' (did you mean"),
        (["voices", "--topic", "harm-reduction", "--at", "next tuesday"], "--at: "),
    ],
)
def test_a_wrong_name_is_a_usage_error_and_writes_nothing(config: Path, args, message):
    before = sorted(config.rglob("*"))
    result = new(config, *args, "--title", "X")
    assert result.returncode == 2 and message in result.stderr
    assert sorted(config.rglob("*")) == before


def test_on_invalid_content_it_writes_nothing_and_shows_the_problems(config: Path):
    (config / "items" / "broken.yaml").write_text("item:\n  id: Bad Id\n")
    before = sorted(config.rglob("*"))
    result = new(config, "voices", "--topic", "harm-reduction", "--title", "X")
    assert result.returncode == 1
    assert "broken.yaml:2: item.id" in result.stderr and "Fix these first" in result.stderr
    assert sorted(config.rglob("*")) == before


def test_the_file_names_the_schema_and_passes_it(config: Path):
    new(config, "events", "--topic", "harm-reduction", "--title", "A Meeting")
    path = config / "items" / "harm-reduction" / "a-meeting.yaml"
    first = path.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../syndicate.schema.json"
    assert schema_errors(config) == []


def test_the_preview_shows_the_new_draft_marked(config: Path):
    new(config, "voices", "--topic", "harm-reduction", "--title", "Fresh Words")
    settings = Settings(config=config, preview=True, served_url="http://127.0.0.1:8081")
    page = snapshot_for(settings).representations["/topics/harm-reduction/"].body
    assert b"[Draft] Fresh Words" in page


def test_make_new_passes_any_title_through_unharmed(config: Path):
    import subprocess

    from tests.conftest import ROOT

    title = 'It\'s "quoted" `id` ; rm -rf x (and a \\)'  # make reads $ itself: $$ for one
    result = subprocess.run(
        ["make", "-s", "new", "TYPE=voices", "TOPIC=harm-reduction", f"TITLE={title}",
         f"CONFIG={config}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert item_of(config, "it-s-quoted-id-rm-rf-x-and-a").title == title
