"""The content files as `check` reads them, checked against the JSON Schema in-process (the
`jsonschema` library check-jsonschema is built on), for the property tests."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema

from syndicate.editor_schema import content_schema
from syndicate.sources import (
    YAML_SUFFIXES,
    MapNode,
    Node,
    ScalarNode,
    SeqNode,
    SourceFile,
    parse_data,
)


@functools.cache
def validator() -> jsonschema.Draft202012Validator:
    schema = content_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def plain(node: Node) -> Any:
    """A parsed node as JSON-like data (what yaml-language-server sees)."""
    if isinstance(node, MapNode):
        return {key: plain(value) for key, _, value in node.entries}
    if isinstance(node, SeqNode):
        return [plain(child) for child in node.items]
    assert isinstance(node, ScalarNode)
    return node.value


def schema_errors(folder: Path) -> list[str]:
    """Every schema error of every content file in `folder` (empty files have none)."""
    errors = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix in YAML_SUFFIXES):
        parsed = parse_data(path.read_bytes(), str(path))
        if isinstance(parsed, SourceFile):
            data = plain(parsed.root)
            errors += [f"{path}: {e.json_path}: {e.message}" for e in validator().iter_errors(data)]
    return errors
