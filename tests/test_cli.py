"""`syndicate check`: exit codes, messages on stderr, a summary, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import CONTENT

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "syndicate", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_on_the_sample_exits_0_with_a_summary():
    result = run("check", "feeds_config")
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout
    assert "harm-reduction" in result.stdout and "events" in result.stdout


def test_check_defaults_to_feeds_config():
    assert run("check").returncode == 0


def test_usage_errors_exit_2():
    assert run("check", "/no/such/folder").returncode == 2
    assert run("frobnicate").returncode == 2
    assert run().returncode == 2


def test_ten_mistakes_give_ten_located_messages_and_exit_1(tmp_path):
    config = tmp_path / "cfg"
    shutil.copytree(CONTENT, config)
    events = config / "items/harm-reduction/events.yaml"
    text = events.read_text(encoding="utf-8")
    for old, new in [
        ("    published: 2026-11-20T10:00\n", "    publshed: 2026-11-20T10:00\n"),  # typo key
        ("start: 2026-12-10T13:00", "start: next tuesday"),  # bad date
        ("end: 2026-11-19T20:00", "end: 2026-11-19T17:00"),  # ends before start
        (
            "topics: [harm-reduction]\n    tags: [books",
            "topics: [harm-reduktion]\n    tags: [books",
        ),
        ("timezone: Europe/London", "timezone: Europe/Londres"),  # unknown zone
    ]:
        assert old in text
        text = text.replace(old, new, 1)
    events.write_text(text, encoding="utf-8")
    voices = config / "items/harm-reduction/voices.yaml"
    text = voices.read_text(encoding="utf-8")
    for old, new in [
        ("updated: 2026-11-09T16:45", "updated: 2026-11-01T16:45"),  # updated before published
        ("type: voices\n    title: The Dire", "type: voice\n    title: The Dire"),  # unknown type
        (
            "url: https://www.opensocietyfoundations.org/voices/dire",
            "url: www.opensocietyfoundations.org/voices/dire",
        ),
    ]:
        assert old in text
        text = text.replace(old, new, 1)
    voices.write_text(text, encoding="utf-8")
    conference = config / "items/drug-policy/reform-conference.yaml"
    conference.write_text(
        conference.read_text(encoding="utf-8").replace(
            "title: International Drug Policy Reform Conference 2027", 'title: ""'
        ),  # empty title
        encoding="utf-8",
    )
    (config / "items/drug-policy/broken.yaml").write_text(
        "item:\n  id: x\n  title: [oops\n"
    )  # syntax

    result = run("check", str(config))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == f"11 problems found in {config}"
    messages = lines[:-1]
    # ten mistakes; the misspelled key also leaves `published` missing: eleven messages
    assert len(messages) == 11
    assert all(line.startswith(str(config)) and line.split(":")[1].isdigit() for line in messages)
    assert result.stdout == ""


def test_build_writes_every_representation_and_its_gzip(tmp_path):
    result = run("build", "--config", str(CONTENT), str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    written = {
        str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file()
    }
    assert "index.html" in written and "feeds.opml" in written
    assert (
        "topics/harm-reduction/events.atom" in written
        and "topics/harm-reduction/events.atom.gz" in written
    )
    from syndicate.loader import load_catalog
    from syndicate.snapshot import build_snapshot

    snapshot = build_snapshot(load_catalog(CONTENT))
    assert (tmp_path / "out/feed.rss").read_bytes() == snapshot.representations["/feed.rss"].body


def test_serve_refuses_invalid_content_with_located_messages(tmp_path):
    config = tmp_path / "cfg"
    shutil.copytree(CONTENT, config)
    (config / "broken.yaml").write_text("items: [\n", encoding="utf-8")
    result = run("serve", "--config", str(config), "--port", "0")
    assert result.returncode == 1
    assert f"{config}/broken.yaml:2: YAML syntax error" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_is_a_usage_error():
    env_result = subprocess.run(
        [sys.executable, "-m", "syndicate", "serve"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), "SYNDICATE_PORT": "eighty"},
    )  # fmt: skip
    assert env_result.returncode == 2
    assert "SYNDICATE_PORT='eighty'" in env_result.stderr
