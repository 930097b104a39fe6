"""Reading the config folder: safe file discovery and YAML parsed into located nodes.

This is the only module that imports `yaml` or touches the file system for content. It turns
every `.yaml`/`.yml` file under the config folder into a tree of `Node`s that remember their
line, so the loader can say *where* a mistake is. Reading is deliberately conservative:

* the safe loader only (no Python objects), with YAML's implicit timestamps switched off so
  that dates reach `syndicate.dates` as the text the editor wrote;
* one document per file, at most `MAX_FILE_BYTES` bytes, UTF-8;
* duplicate keys are errors (plain YAML silently keeps the last one);
* aliases are expanded with a node budget, so an "alias bomb" is an error, not an outage;
* hidden files and folders (editor swap files, `.git`) are skipped; symlinks are followed
  only while they stay inside the config folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from syndicate.problems import Problem

MAX_FILE_BYTES = 1024 * 1024
MAX_NODES_PER_FILE = 200_000
YAML_SUFFIXES = (".yaml", ".yml")

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Node:
    """A YAML value with the line it starts on (1-based)."""

    line: int


@dataclass(frozen=True)
class ScalarNode(Node):
    value: Scalar


@dataclass(frozen=True)
class SeqNode(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class MapNode(Node):
    """A mapping; `entries` keeps the editor's key order, each key with its own line."""

    entries: tuple[tuple[str, int, Node], ...]

    def get(self, key: str) -> Node | None:
        for name, _, value in self.entries:
            if name == key:
                return value
        return None


@dataclass(frozen=True)
class SourceFile:
    """One parsed file: its path as shown to editors, and its top-level node."""

    path: str
    root: Node


# libyaml's parser when PyYAML was built with it (it is ten times faster), else pure Python.
try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _Loader(_SafeLoader):
    """The safe loader without implicit timestamps: dates stay strings for `syndicate.dates`."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


class _TooManyNodes(Exception):
    pass


def read_config(root: Path) -> tuple[list[SourceFile], list[Problem]]:
    """Parse every YAML file under `root`, in a stable (sorted) order.

    Returns the files that parsed and a problem for each file that did not.
    """
    files: list[SourceFile] = []
    problems: list[Problem] = []
    for path, problem in _walk(root, root.resolve(), set()):
        shown = _display(root, path)
        if problem:
            problems.append(Problem(shown, 0, "", problem))
            continue
        parsed = _parse_file(path, shown)
        if isinstance(parsed, Problem):
            problems.append(parsed)
        elif parsed is not None:
            files.append(parsed)
    return files, problems


def _display(root: Path, path: Path) -> str:
    return str(root / path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _walk(folder: Path, top: Path, seen: set[Path]) -> Iterator[tuple[Path, str]]:
    """Yield (file, "") for each YAML file, or (path, reason) for one that is refused."""
    real = folder.resolve()
    if real in seen:
        return
    seen.add(real)
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            target = entry.resolve()
            if not target.is_relative_to(top):
                yield (
                    entry,
                    (
                        "symbolic link points outside the config folder, so it is not read; "
                        "copy the file into the folder instead"
                    ),
                )
                continue
        if entry.is_dir():
            yield from _walk(entry, top, seen)
        elif entry.is_file() and entry.suffix in YAML_SUFFIXES:
            yield entry, ""


def _parse_file(path: Path, shown: str) -> SourceFile | Problem | None:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return Problem(
            shown,
            0,
            "",
            f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit per file; "
            "split it into several files",
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return Problem(
            shown, 0, "", f"file is not valid UTF-8 ({error.reason} at byte {error.start})"
        )
    return parse_text(text, shown)


def _syntax_problem(error: yaml.MarkedYAMLError, text: str, shown: str) -> Problem:
    """A YAML syntax error, located where the parser noticed it, naming where it began."""
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark else 0
    context = error.context or ""
    if error.context_mark is not None and error.context_mark.line + 1 != line:
        context += f" (started on line {error.context_mark.line + 1})"
    what = " ".join(part for part in (context, error.problem) if part)
    lines = text.splitlines()
    if 0 < line <= len(lines) and "\t" in lines[line - 1]:
        what += "; YAML does not allow tabs for indentation, use spaces"
    return Problem(shown, line, "", f"YAML syntax error: {what}")


def parse_text(text: str, shown: str) -> SourceFile | Problem | None:
    """Parse one YAML document into located nodes; None for a file with no document."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        return _syntax_problem(error, text, shown)
    except yaml.YAMLError as error:
        return Problem(shown, 0, "", f"YAML syntax error: {error}")
    finally:
        loader.dispose()
    if node is None:
        return None
    budget = [MAX_NODES_PER_FILE]
    try:
        return SourceFile(shown, _convert(node, loader, budget))
    except _TooManyNodes:
        return Problem(
            shown,
            node.start_mark.line + 1,
            "",
            f"more than {MAX_NODES_PER_FILE} values once aliases are expanded; "
            "avoid deeply nested aliases",
        )
    except _DuplicateKey as duplicate:
        return Problem(shown, duplicate.line, duplicate.key, duplicate.message)
    except yaml.MarkedYAMLError as error:  # e.g. a tag the safe loader cannot construct
        mark = error.problem_mark or error.context_mark
        return Problem(shown, mark.line + 1 if mark else 0, "", f"YAML error: {error.problem}")


class _DuplicateKey(Exception):
    def __init__(self, line: int, key: str, message: str) -> None:
        super().__init__(message)
        self.line, self.key, self.message = line, key, message


def _convert(node: yaml.Node, loader: _Loader, budget: list[int]) -> Node:
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooManyNodes
    line = node.start_mark.line + 1
    if node.tag not in _PLAIN_TAGS and not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(
            None, None, f"the tag {node.tag!r} is not allowed; write plain YAML", node.start_mark
        )
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
        entries: list[tuple[str, int, Node]] = []
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            key: Any = loader.construct_object(key_node, deep=True)
            name = (
                str(key) if isinstance(key, str | int | float | bool) or key is None else repr(key)
            )
            if name in seen:
                raise _DuplicateKey(
                    key_line, name, f"duplicate key (first given on line {seen[name]}); keep one"
                )
            seen[name] = key_line
            entries.append((name, key_line, _convert(value_node, loader, budget)))
        return MapNode(line, tuple(entries))
    if isinstance(node, yaml.SequenceNode):
        return SeqNode(line, tuple(_convert(item, loader, budget) for item in node.value))
    value = loader.construct_object(node, deep=True)
    if not isinstance(value, str | int | float | bool) and value is not None:
        value = str(value)
    return ScalarNode(line, value)


def is_readable_dir(path: Path) -> bool:
    """True when `path` is a folder we can list (used by the CLI for usage errors)."""
    return path.is_dir() and os.access(path, os.R_OK | os.X_OK)
