"""Invariants of the content model that hold whatever an editor writes in any field.

The model is the boundary: renderers trust that no string in a `Catalog` holds a character
XML 1.0 forbids, so every field of every section is tried with such characters written
directly (as YAML escapes) and as HTML character references.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping

import pytest
import yaml

from syndicate.loader import load_catalog
from syndicate.problems import ContentError
from syndicate.schema import (
    CONTENT_TYPE,
    EVENT,
    IMAGE,
    ITEM,
    PERSON,
    PROGRAM,
    SITE,
    TOPIC,
    WITHDRAWAL,
    Field,
)
from tests.conftest import MINIMAL, write_config

# XML 1.0's Char production (https://www.w3.org/TR/xml/#charsets), written independently of
# syndicate.sanitize.
XML_CHAR = re.compile("^[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")
FORBIDDEN = "\x00\x01\x08\x0b\x0c\x1f\x7f\x85\ufffe\uffff"
REFERENCES = "&#x1;&#xB;&#x1F;&#xFFFE;&#xFFFF;&#0;&#xD800;&#1;&#11;"
HOSTILE = f"x{FORBIDDEN}<b>{REFERENCES}</b>y"


def strings_in(value: object) -> Iterator[str]:
    """Every string reachable from `value` through dataclasses, mappings and tuples."""
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from strings_in(getattr(value, field.name))
    elif isinstance(value, Mapping):
        for key, child in value.items():
            yield from strings_in(key)
            yield from strings_in(child)
    elif isinstance(value, tuple | list):
        for child in value:
            yield from strings_in(child)


def hostile_value(field: Field) -> object:
    if field.type == "url":
        return "https://example.org/" + HOSTILE
    if field.type.startswith("list of"):
        return [HOSTILE]
    if field.type in ("person", "image", "program", "withdrawal"):
        return None  # their own fields are tried one by one below
    return HOSTILE


def base() -> dict[str, dict]:
    data = {name: yaml.safe_load(text) for name, text in MINIMAL.items()}
    event = data["items.yaml"]["items"][0]
    event.update(
        authors=[{"name": "A", "url": "https://example.org/a", "email": "a@example.org"}],
        image={"url": "https://example.org/a.png", "alt": "Alt"},
        withdrawn={"date": "2026-11-20", "reason": "Because."},
    )
    data["topics.yaml"]["topics"][0]["programs"] = [{"title": "P", "url": "https://e.org/p"}]
    data["site.yaml"]["site"]["publisher"] = {"name": "P", "email": "p@example.org"}
    return data


# (where the mapping is in `base()`, its schema)
PLACES = [
    (("site.yaml", "site"), SITE),
    (("types.yaml", "types", 0), CONTENT_TYPE),
    (("topics.yaml", "topics", 0), TOPIC),
    (("topics.yaml", "topics", 0, "programs", 0), PROGRAM),
    (("items.yaml", "items", 0), ITEM + EVENT),
    (("items.yaml", "items", 1), ITEM),
    (("site.yaml", "site", "publisher"), PERSON),
    (("items.yaml", "items", 0, "authors", 0), PERSON),
    (("items.yaml", "items", 0, "image"), IMAGE),
    (("items.yaml", "items", 0, "withdrawn"), WITHDRAWAL),
]
CASES = [
    pytest.param(place, field, id=f"{'.'.join(map(str, place[1:]))}.{field.name}")
    for place, spec in PLACES
    for field in spec
    if hostile_value(field) is not None
]


@pytest.mark.parametrize(("place", "field"), CASES)
def test_no_string_leaving_the_loader_holds_a_character_xml_forbids(tmp_path, place, field):
    data = base()
    mapping = data[place[0]]
    for step in place[1:]:
        mapping = mapping[step]
    mapping[field.name] = hostile_value(field)
    if field.name == "summary_html":
        mapping.pop("summary", None)
    if field.name == "content_html":
        mapping.pop("content", None)
    config = write_config(tmp_path, {})
    for name, content in data.items():
        (config / name).write_text(yaml.safe_dump(content, allow_unicode=False), encoding="utf-8")
    try:
        catalog = load_catalog(config)
    except ContentError as error:
        assert error.problems and all(p.file for p in error.problems), error
        return
    bad = [s for s in strings_in(catalog) if not XML_CHAR.match(s)]
    assert not bad, f"{field.name}: {bad[:3]!r}"


def test_every_declared_field_is_tried_except_nested_mappings():
    tried = {(c.values[0], c.values[1].name) for c in CASES}
    skipped = {(place, field.name) for place, spec in PLACES for field in spec} - tried
    # nested mappings are tried field by field through their own PLACES entries
    assert {name for _, name in skipped} == {"publisher", "image", "withdrawn"}
