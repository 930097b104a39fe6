"""docs/content.md documents exactly the keys the loader accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from syndicate.schema import FILE_KEYS, SECTIONS, VALUE_TYPES

DOC = Path(__file__).resolve().parent.parent / "docs" / "content.md"


def documented_tables() -> dict[str, dict[str, tuple[str, str]]]:
    """Section name -> key -> (type, required) from the docs' `## section` tables."""
    tables: dict[str, dict[str, tuple[str, str]]] = {}
    section = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^## (\w+)$", line)
        if heading:
            section = heading.group(1)
            continue
        row = re.match(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \|", line)
        if row and section in SECTIONS:
            tables.setdefault(section, {})[row.group(1)] = (
                row.group(2).strip(),
                row.group(3).strip(),
            )
    return tables


@pytest.mark.parametrize("section", list(SECTIONS))
def test_every_accepted_key_is_documented_and_every_documented_key_accepted(section):
    documented = documented_tables().get(section, {})
    assert set(documented) == {f.name for f in SECTIONS[section]}


@pytest.mark.parametrize("section", list(SECTIONS))
def test_documented_types_and_required_flags_match_the_schema(section):
    documented = documented_tables()[section]
    for field in SECTIONS[section]:
        doc_type, doc_required = documented[field.name]
        assert doc_type == field.type, field.name
        if field.required:
            assert doc_required == "yes", field.name
        else:
            assert doc_required != "yes", field.name


def test_every_value_type_is_explained():
    text = DOC.read_text(encoding="utf-8")
    for type_name in VALUE_TYPES:
        if not type_name.startswith("list of ") and type_name not in SECTIONS:
            assert f"- **{type_name}**" in text, type_name


def test_every_top_level_key_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for key in FILE_KEYS:
        assert f"`{key}`" in text


def test_every_reserved_type_slug_is_documented_with_its_reason():
    from syndicate.urls import RESERVED_NAMES

    text = DOC.read_text(encoding="utf-8").split("## type\n", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([a-z]+)` \| (.+) \|$", text, flags=re.MULTILINE))
    assert set(RESERVED_NAMES) <= set(rows)
    for name in RESERVED_NAMES:
        assert rows[name].startswith("`"), name
