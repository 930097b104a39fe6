"""The content's JSON Schema: made from the tables `check` uses, so they agree on every
field; accepted by editors' tools (check-jsonschema) for content `check` accepts, and
refusing the mistakes it can express; printed by `syndicate schema`, served, named by the
sample's modelines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from syndicate import editor_schema, schema
from syndicate.editor_schema import FILE_NAME, content_schema, content_schema_json
from tests.conftest import CONTENT, SAMPLE
from tests.schemacheck import schema_errors, validator
from tests.test_cli import run

SECTIONS = {
    "site": schema.SITE, "type": schema.CONTENT_TYPE, "topic": schema.TOPIC,
    "item": schema.ITEM + schema.EVENT, "person": schema.PERSON, "image": schema.IMAGE,
    "program": schema.PROGRAM, "withdrawal": schema.WITHDRAWAL, "change": schema.CHANGE,
}  # fmt: skip
# The JSON types a value of each schema type may take, as the loader reads YAML.
JSON_TYPES = {
    "line": {"string"}, "text": {"string"}, "html": {"string"}, "slug": {"string"},
    "url": {"string"}, "email": {"string"}, "timezone": {"string"}, "language": {"string"},
    "date": {"string", "integer"}, "boolean": {"boolean"}, "integer": {"integer"},
    "tag-authority": {"string"}, "tag-date": {"string", "integer"}, "weekday": {"string"},
    "time-of-day": {"string"},
}  # fmt: skip


def check_jsonschema(*files: Path) -> subprocess.CompletedProcess[str]:
    # Installed beside this Python by `make test` (pyproject's test extra).
    program = str(Path(sys.executable).parent / "check-jsonschema")
    schema_file = SAMPLE / FILE_NAME
    return subprocess.run(
        [program, "--schemafile", str(schema_file), *map(str, files)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def yaml_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.yaml"))


def test_the_schema_is_valid_draft_2020_12():
    assert content_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    validator()  # check_schema raises on an invalid schema


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_each_section_has_exactly_the_keys_check_knows_and_no_other(section: str):
    defined = content_schema()["$defs"][section]
    assert set(defined["properties"]) == {f.name for f in SECTIONS[section]}
    assert defined["additionalProperties"] is False


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_each_section_requires_what_check_requires(section: str):
    required = set(content_schema()["$defs"][section]["required"])
    expected = {f.name for f in SECTIONS[section] if f.required}
    if section == "item":
        expected -= {"start"}  # an event's only: check knows which types are events
    assert required == expected


def _types_of(value: dict) -> set[str]:
    if "type" in value:
        return {value["type"]} if isinstance(value["type"], str) else set(value["type"])
    if "enum" in value:
        return {"string" if isinstance(v, str) else "null" for v in value["enum"]}
    return set().union(*(_types_of(v) for v in value.get("anyOf", [])))


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_each_value_takes_the_json_types_of_its_schema_type(section: str):
    properties = content_schema()["$defs"][section]["properties"]
    for field in SECTIONS[section]:
        value = properties[field.name]
        if not field.required:  # optional: the value, or left empty
            value, empty = value["anyOf"]
            assert empty == {"enum": [None, ""]}, field.name
        assert value["description"] == field.help if "description" in value else True
        if field.type in JSON_TYPES:
            assert _types_of(value) == JSON_TYPES[field.type], field.name


def test_enumerations_are_the_models():
    defined = content_schema()["$defs"]
    kind = defined["type"]["properties"]["kind"]
    assert kind["enum"] == ["event", "article"]
    status = defined["item"]["properties"]["status"]["anyOf"][0]
    assert set(status["enum"]) == {"scheduled", "cancelled", "postponed", "rescheduled",
                                   "moved-online"}  # fmt: skip


@pytest.mark.parametrize("folder", [CONTENT, SAMPLE], ids=["tests' content", "sample"])
def test_content_check_accepts_passes_check_jsonschema(folder: Path):
    assert run("check", str(folder)).returncode == 0
    result = check_jsonschema(*yaml_files(folder))
    assert result.returncode == 0, result.stdout + result.stderr


ITEM = """item:
  id: x
  type: voices
  title: A title
  summary: A summary.
  url: https://example.org/x
  published: 2026-11-03
  topics: [harm-reduction]
"""
BROKEN = {
    "unknown key": (ITEM + "  colour: red\n", "'colour' was unexpected"),
    "typo in a top-level key": ("itme:\n  id: x\n", "'itme' was unexpected"),
    "a list for one line": (
        ITEM.replace("title: A title", "title: [A, title]"),
        "is not of type 'string'",
    ),
    "a bad kind": (
        "type:\n  slug: talks\n  kind: talk\n  title: Talks\n  singular: Talk\n",
        "'talk' is not one of ['event', 'article']",
    ),
    "a bad status": (ITEM + "  status: canceled\n", "is not valid"),
    "a missing required key": (
        ITEM.replace("  url: https://example.org/x\n", ""),
        "'url' is a required property",
    ),
    "an empty required key": (ITEM.replace("title: A title", "title: ''"), "should be non-empty"),
    "no summary": (ITEM.replace("  summary: A summary.\n", ""), "is not valid"),
    "both summaries": (ITEM + "  summary_html: <p>A summary.</p>\n", "should not be valid"),
    "a slug with capitals": (ITEM.replace("id: x", "id: Big-Id"), "does not match"),
    "a relative URL": (ITEM.replace("https://example.org/x", "/x"), "does not match"),
    "a number for a title": (
        ITEM.replace("title: A title", "title: 2026"),
        "2026 is not of type 'string'",
    ),
    "a word for a boolean": (ITEM + "  draft: maybe\n", "is not valid"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_schema_refuses_what_it_can_express_and_check_refuses_too(case: str, tmp_path: Path):
    text, reason = BROKEN[case]
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    broken = content / "items" / "broken.yaml"
    broken.write_text(text)
    result = check_jsonschema(broken)
    assert result.returncode == 1 and reason in result.stdout, result.stdout + result.stderr
    assert run("check", str(content)).returncode == 1


def test_syndicate_schema_prints_it_and_the_sample_holds_the_current_one(tmp_path: Path):
    printed = run("schema")
    assert printed.returncode == 0
    assert json.loads(printed.stdout) == content_schema()
    assert (SAMPLE / FILE_NAME).read_bytes() == content_schema_json(), "run `make schema`"
    assert run("schema", str(tmp_path / "s.json")).returncode == 0
    assert (tmp_path / "s.json").read_bytes() == content_schema_json()


def test_every_sample_file_names_the_schema_on_its_first_line():
    for path in yaml_files(SAMPLE):
        first = path.read_text().splitlines()[0]
        prefix = editor_schema.MODELINE.format("")
        assert first.startswith(prefix), path
        assert (path.parent / first.removeprefix(prefix)).resolve() == SAMPLE / FILE_NAME, path


def test_check_says_when_the_folders_schema_is_out_of_date(tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    (content / FILE_NAME).write_text('{"old": true}\n')
    result = run("check", str(content))
    assert result.returncode == 0
    assert f"Note: {content / FILE_NAME} is not this version's schema" in result.stdout
    (content / FILE_NAME).write_bytes(content_schema_json())
    assert "Note:" not in run("check", str(content)).stdout


async def test_the_service_serves_it(serve):
    from syndicate.settings import Settings

    client = await serve(Settings(config=CONTENT))
    response = await client.get("/schema/content.json")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/schema+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(await response.read()) == content_schema()


def test_the_in_process_check_agrees_with_check_jsonschema_on_the_fixtures():
    assert schema_errors(CONTENT) == [] and schema_errors(SAMPLE) == []
