"""The content definitions as a JSON Schema (draft 2020-12), for editors' editors and CI.

Generated from the tables `check` validates against (schema.py), so the two cannot drift:
every section's keys, which are required, and each value type as JSON Schema can say it
(patterns for slugs, URLs, language tags; enums for kinds and statuses; a mapping or its
one-line shorthand for people and programs; one value or a list for lists). Optional keys
may be left empty, as `check` allows. What needs the rest of the content (a type slug that
exists, event fields only on items of an event type, dates that parse, HTML that survives
sanitizing) stays with `check`: the schema catches typos as you type, `check` has the last
word.

yaml-language-server (VS Code's YAML extension and others) reads it from a modeline on a
file's first line, `# yaml-language-server: $schema=<path or URL>`; `check-jsonschema` runs
it in CI and pre-commit. `syndicate schema` prints it; the service serves it at
`/schema/content.json`.
"""

from __future__ import annotations

import json
from typing import Any, Final

from syndicate.model import EventStatus, Kind
from syndicate.schema import (
    CHANGE,
    CONTENT_TYPE,
    EVENT,
    FILE_KEYS,
    IMAGE,
    ITEM,
    MAX_FEED_SIZE,
    PERSON,
    PROGRAM,
    SITE,
    TOPIC,
    VALUE_TYPES,
    WITHDRAWAL,
    Field,
)

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
MEDIA_TYPE: Final = "application/schema+json"
FILE_NAME: Final = "syndicate.schema.json"  # beside the content, for modelines to name
MODELINE: Final = "# yaml-language-server: $schema={}"

# Patterns as the loader's (fields.py), in the ECMA-262 dialect JSON Schema uses.
_SLUG = "^[a-z0-9][a-z0-9-]{0,99}$"
_URL = "^https?://[^\\s/?#]+[^\\s]*$"
_LANGUAGE = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
_EMAIL = '^[^@\\s<>()\\[\\],;:"]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$'
_ZONE = "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"
_DOMAIN = "^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63}$"
_TAG_DATE = "^\\d{4}(-\\d{2}(-\\d{2})?)?$"


def _string(description: str, **more: Any) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "description": description, **more}


# Each value type of schema.VALUE_TYPES as JSON Schema ("list of X" is made from X).
_VALUE_SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "line": _string(VALUE_TYPES["line"], maxLength=300),
    "text": _string(VALUE_TYPES["text"], maxLength=100_000),
    "html": _string(VALUE_TYPES["html"], maxLength=100_000),
    "slug": _string(VALUE_TYPES["slug"], pattern=_SLUG),
    "url": _string(VALUE_TYPES["url"], pattern=_URL, maxLength=2000),
    "email": _string(VALUE_TYPES["email"], pattern=_EMAIL),
    "date": {
        "description": VALUE_TYPES["date"]
        + ": 2026-12-10, 2026-12-10T18:30 or 2026-12-10T18:30:00-05:00",
        "anyOf": [{"type": "string", "minLength": 1}, {"type": "integer"}],
    },
    "timezone": _string(VALUE_TYPES["timezone"], pattern=_ZONE),
    "language": _string(VALUE_TYPES["language"], pattern=_LANGUAGE),
    "boolean": {"type": "boolean", "description": VALUE_TYPES["boolean"]},
    "integer": {"type": "integer", "description": VALUE_TYPES["integer"]},
    "kind": {"enum": [kind.value for kind in Kind], "description": VALUE_TYPES["kind"]},
    "event-status": {
        "enum": [status.value for status in EventStatus],
        "description": VALUE_TYPES["event-status"],
    },
    "tag-authority": {
        "description": VALUE_TYPES["tag-authority"],
        "anyOf": [
            {"type": "string", "pattern": _DOMAIN},
            {"type": "string", "pattern": _EMAIL},
        ],
    },
    "weekday": {
        "description": VALUE_TYPES["weekday"],
        "enum": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    },
    "time-of-day": _string(VALUE_TYPES["time-of-day"], pattern="^([01]\\d|2[0-3]):[0-5]\\d$"),
    "tag-date": {
        "description": VALUE_TYPES["tag-date"],
        "anyOf": [{"type": "string", "pattern": _TAG_DATE}, {"type": "integer"}],
    },
}

# Mapping value types: the section each is, and whether one line of text may stand for it.
_MAPPINGS: Final[dict[str, tuple[str, tuple[Field, ...], bool]]] = {
    "person": ("person", PERSON, True),
    "program": ("program", PROGRAM, True),
    "image": ("image", IMAGE, False),
    "withdrawal": ("withdrawal", WITHDRAWAL, False),
    "change": ("change", CHANGE, False),
}
_EMPTY: Final = {"enum": [None, ""]}  # an optional key left empty, which `check` skips


def value_schema(type_: str) -> dict[str, Any]:
    """The JSON Schema of one value of schema type `type_`."""
    if type_.startswith("list of "):
        one = value_schema(type_.removeprefix("list of "))
        return {"anyOf": [{"type": "array", "items": one}, one]}
    if type_ in _MAPPINGS:
        name, _, shorthand = _MAPPINGS[type_]
        mapping = {"$ref": f"#/$defs/{name}"}
        return {"anyOf": [mapping, _VALUE_SCHEMAS["line"]]} if shorthand else mapping
    return dict(_VALUE_SCHEMAS[type_])


def section_schema(
    fields: tuple[Field, ...], *, limits: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A mapping of `fields`: the required ones present and not empty, no other key."""
    properties: dict[str, Any] = {}
    for field in fields:
        value = {**value_schema(field.type), **(limits or {}).get(field.name, {})}
        value["description"] = field.help
        if not field.required:
            value = {"anyOf": [value, _EMPTY], "description": field.help}
        properties[field.name] = value
    return {
        "type": "object",
        "properties": properties,
        "required": [field.name for field in fields if field.required],
        "additionalProperties": False,
    }


def _item() -> dict[str, Any]:
    """An item: its own keys and an event's (which `check` allows on event types only);
    `summary` or `summary_html`, not both (the other `_html` pair at most one)."""
    schema = section_schema(ITEM + EVENT)
    schema["required"] = [name for name in schema["required"] if name != "start"]
    schema["allOf"] = [
        {"anyOf": [_given("summary"), _given("summary_html")]},
        {"not": {"allOf": [_given("summary"), _given("summary_html")]}},
        {"not": {"allOf": [_given("content"), _given("content_html")]}},
    ]
    return schema


def _given(key: str) -> dict[str, Any]:
    """`key` is there and not left empty."""
    return {"required": [key], "properties": {key: {"not": _EMPTY}}}


def _one_or_many(section: str, plural: bool) -> dict[str, Any]:
    ref = {"$ref": f"#/$defs/{section}"}
    return {"type": "array", "items": ref} if plural else ref


def content_schema() -> dict[str, Any]:
    """The schema of one content file (any of the keys site, type(s), topic(s), item(s))."""
    definitions: dict[str, Any] = {
        "site": section_schema(
            SITE, limits={"feed_size": {"minimum": 1, "maximum": MAX_FEED_SIZE}}
        ),
        "type": section_schema(CONTENT_TYPE),
        "topic": section_schema(TOPIC),
        "item": _item(),
    }
    for name, fields, _ in _MAPPINGS.values():
        definitions[name] = section_schema(fields)
    top = {
        key: _one_or_many(section, plural=key != section and key != "site")
        for key, section in FILE_KEYS.items()
    }
    return {
        "$schema": DIALECT,
        "title": "syndicate content definitions",
        "description": "One YAML file of a syndicate content folder: any of the keys site, "
        "type(s), topic(s), item(s). Made from the same tables as `syndicate check`, which "
        "has the last word (docs/content.md).",
        "type": "object",
        "properties": top,
        "additionalProperties": False,
        "$defs": definitions,
    }


def content_schema_json() -> bytes:
    """`content_schema()` as the bytes `syndicate schema` prints: stable, sorted, one
    trailing newline."""
    return (
        json.dumps(content_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    ).encode()
