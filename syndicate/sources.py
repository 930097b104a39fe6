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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from syndicate.problems import Problem

MAX_FILE_BYTES = 1024 * 1024
MAX_NODES_PER_FILE = 200_000
# Content is a few levels deep (items -> item -> authors -> person); far deeper nesting is a
# mistake or an attack, and building it would exhaust Python's recursion limit.
MAX_DEPTH = 50
YAML_SUFFIXES = (".yaml", ".yml")

Scalar = str | int | float | bool | None


@dataclass(slots=True)
class Node:
    """A YAML value with the line it starts on (1-based).

    Nodes are short-lived and built by the hundred thousand for large folders, so they are
    plain slotted classes: frozen dataclasses are several times slower to create.
    """

    line: int


@dataclass(slots=True)
class ScalarNode(Node):
    value: Scalar


@dataclass(slots=True)
class SeqNode(Node):
    items: tuple[Node, ...]


@dataclass(slots=True)
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
    data: bytes = b""  # the bytes it was parsed from (see loader.LoadCache)


_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
_MERGE_TAG = "tag:yaml.org,2002:merge"

# libyaml's parser when PyYAML was built with it (it is ten times faster), else pure Python.
try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _Loader(_SafeLoader):
    """The safe loader without implicit timestamps: dates stay strings for `syndicate.dates`."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        # The same answers as yaml.resolver.Resolver.resolve, minus path resolvers (unused),
        # with the common cases first: it runs once per node.
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if regexp.match(value):
                        return str(tag)
            return _STR_TAG
        return _SEQ_TAG if kind is yaml.SequenceNode else _MAP_TAG


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Unparsed:
    """A file `read_config` did not parse because the caller already knows its bytes."""

    path: str
    data: bytes


def read_config(
    root: Path,
    known: Callable[[str, bytes], bool] | None = None,
    report: Callable[[str, int, int], None] | None = None,
) -> tuple[list[SourceFile | Unparsed], list[Problem]]:
    """Parse every YAML file under `root`, in a stable (sorted) order.

    Returns the files that parsed (or, where `known(path, data)` says so, were left
    unparsed) and a problem for each file that did not. `report(stage, done, total)` is
    told of each file.
    """
    files: list[SourceFile | Unparsed] = []
    problems: list[Problem] = []
    found = list(_walk(root, root.resolve(), set()))
    for done, (path, problem) in enumerate(found, 1):
        if report is not None:
            report("reading files", done, len(found))
        shown = _display(root, path)
        if problem:
            problems.append(Problem(shown, 0, "", problem))
            continue
        try:
            data = _read_file(path, shown)
            if isinstance(data, bytes) and known is not None and known(shown, data):
                files.append(Unparsed(shown, data))
                continue
            parsed = data if isinstance(data, Problem) else parse_data(data, shown)
        except Exception as error:  # a defect of ours: still a located problem, never a crash
            parsed = Problem(
                shown, 0, "", f"syndicate could not read this file ({type(error).__name__}: "
                f"{error}); this is a bug in syndicate, please report it with the file",
            )  # fmt: skip
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
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as error:
        yield folder, f"cannot read the folder: {error.strerror or error}"
        return
    for entry in entries:
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


def _read_file(path: Path, shown: str) -> bytes | Problem:
    try:
        size = path.stat().st_size
        data = path.read_bytes() if size <= MAX_FILE_BYTES else b""
    except OSError as error:
        return Problem(shown, 0, "", f"cannot read the file: {error.strerror or error}")
    if size > MAX_FILE_BYTES:
        return Problem(
            shown,
            0,
            "",
            f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit per file; "
            "split it into several files",
        )
    return data


def parse_data(data: bytes, shown: str) -> SourceFile | Problem | None:
    """A file's bytes, parsed (None: an empty file)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # Where an editor's editor shows it: the line, and the column counted in characters
        # of what decodes before the bad byte (a Latin-1 "é" is one byte, one character).
        line = data.count(b"\n", 0, error.start) + 1
        line_start = data.rfind(b"\n", 0, error.start) + 1
        column = len(data[line_start : error.start].decode("utf-8", "replace")) + 1
        return Problem(
            shown, line, "",
            f"column {column}: the file is not UTF-8 ({error.reason}: byte "
            f"0x{data[error.start]:02x}); save it as UTF-8 (most editors: Save with Encoding, "
            "UTF-8)",
        )  # fmt: skip
    parsed = parse_text(text, shown)
    return SourceFile(parsed.path, parsed.root, data) if isinstance(parsed, SourceFile) else parsed


# libyaml's wording of the common indentation and quoting mistakes -> what the editor did and
# how to fix it. `{start}` is the line where the enclosing list, mapping or quote began.
_PLAIN_WORDS = (
    (
        "did not find expected '-' indicator",
        "this line is not lined up with the list that starts on line {start}: every item of a "
        "list starts with '-' in the same column, and the keys of an item line up with the "
        "first key after its '-'",
    ),
    (
        "did not find expected key",
        "this line is indented differently from the keys before it (the mapping starts on line "
        "{start}): keys of one mapping start in the same column; indent with spaces only",
    ),
    (
        "mapping values are not allowed",
        "YAML reads a key here ('name: value'), but one cannot start here: this line is "
        "indented more than the key before it, or a value holds ': ' and needs quotes",
    ),
    (
        "could not find expected ':'",
        "this key has no ':' after it (write 'key: value', with a space after the colon)",
    ),
    (
        "found unexpected end of stream",
        "the quote opened on this line is never closed",
    ),
    (
        "did not find expected ',' or",
        "the bracket opened on this line is not closed where it should be (or a ',' is missing "
        "between its values)",
    ),
)
# Mistakes the parser notices only after the offending line: point at where it began.
_AT_CONTEXT = (
    "could not find expected ':'",
    "found unexpected end of stream",
    "did not find expected ',' or",
)


def _syntax_problem(error: yaml.MarkedYAMLError, text: str, shown: str) -> Problem:
    """A YAML syntax error in plain words, located at the offending line."""
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark else 0
    start = error.context_mark.line + 1 if error.context_mark is not None else line
    problem = error.problem or ""
    raw = " ".join(part for part in (error.context, problem) if part)
    plain = next((words for known, words in _PLAIN_WORDS if known in problem), None)
    if any(known in problem for known in _AT_CONTEXT):
        line = start
    lines = text.splitlines()
    tab = 0 < line <= len(lines) and "\t" in lines[line - 1]
    if tab:
        what = "this line has a tab; YAML does not allow tabs for indentation, use spaces"
    elif plain:
        what = plain.format(start=start)
    else:
        return Problem(shown, line, "", f"YAML syntax error: {raw}")
    return Problem(shown, line, "", f"YAML syntax error: {what} (the parser said: {raw})")


def parse_text(text: str, shown: str) -> SourceFile | Problem | None:
    """Parse one YAML document into located nodes; None for a file with no document."""
    loader = _Loader(text)
    try:
        node = _Builder(loader).document()
    except yaml.MarkedYAMLError as error:
        return _syntax_problem(error, text, shown)
    except yaml.YAMLError as error:
        return Problem(shown, 0, "", f"YAML syntax error: {error}")
    except _TooManyNodes as error:
        return Problem(
            shown, error.line, "",
            f"more than {MAX_NODES_PER_FILE} values once aliases are expanded; "
            "avoid deeply nested aliases",
        )  # fmt: skip
    except _Refused as error:
        return Problem(shown, error.line, error.key, error.message)
    finally:
        loader.dispose()
    return None if node is None else SourceFile(shown, node)


@dataclass(slots=True)
class _MergeKey(ScalarNode):
    """YAML's merge key `<<` (unquoted), resolved by the builder."""


class _Refused(Exception):
    """Valid YAML we do not accept (a duplicate key, a tag), located."""

    def __init__(self, line: int, key: str, message: str) -> None:
        super().__init__(message)
        self.line, self.key, self.message = line, key, message


class _TooManyNodes(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _Builder:
    """Builds located nodes straight from the parser's events.

    Skipping PyYAML's composer (its node and mark objects) halves the cost of reading large
    folders. Anchors, aliases and merge keys (`<<`) are handled here; aliases count against
    the node budget each time they are expanded, so an "alias bomb" is refused.
    """

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader
        self.anchors: dict[str, tuple[Node, int]] = {}
        self.budget = MAX_NODES_PER_FILE
        self.depth = 0

    def document(self) -> Node | None:
        loader = self.loader
        loader.get_event()  # stream start
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # document start
        node, _ = self.node()
        loader.get_event()  # document end
        if not loader.check_event(yaml.StreamEndEvent):
            event: Any = loader.get_event()
            raise yaml.composer.ComposerError(
                "expected a single document in the file", None,
                "but found another document (---); use one file per document",
                event.start_mark,
            )  # fmt: skip
        return node

    def _spend(self, count: int, line: int) -> None:
        self.budget -= count
        if self.budget < 0:
            raise _TooManyNodes(line)

    def node(self) -> tuple[Node, int]:
        """The next node and how many values it holds (for the alias budget)."""
        event: Any = self.loader.get_event()  # libyaml's events are untyped
        line = event.start_mark.line + 1
        if type(event) is yaml.ScalarEvent:
            self._spend(1, line)
            built: Node = self._scalar(event, line)
            size = 1
        elif type(event) is yaml.AliasEvent:
            if event.anchor not in self.anchors:
                raise _Refused(
                    line, "", f"the alias *{event.anchor} names no anchor defined before it"
                )
            built, size = self.anchors[event.anchor]
            self._spend(size, line)
            return built, size
        elif type(event) is yaml.SequenceStartEvent:
            self._check_tag(event.tag, _SEQ_TAG, line)
            self._enter(line)
            items, size = [], 1
            while not self.loader.check_event(yaml.SequenceEndEvent):
                child, child_size = self.node()
                items.append(child)
                size += child_size
            self.loader.get_event()
            self._spend(1, line)
            self.depth -= 1
            built = SeqNode(line, tuple(items))
        else:
            assert type(event) is yaml.MappingStartEvent
            self._check_tag(event.tag, _MAP_TAG, line)
            self._enter(line)
            built, size = self._mapping(line)
            self.depth -= 1
        if event.anchor is not None:
            self.anchors[event.anchor] = (built, size)
        return built, size

    def _enter(self, line: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Refused(
                line, "", f"lists and mappings are nested more than {MAX_DEPTH} levels deep here; "
                "check the brackets and indentation",
            )  # fmt: skip

    def _check_tag(self, tag: str | None, plain: str, line: int) -> None:
        if tag not in (None, "!", plain):
            raise _Refused(line, "", f"the tag {tag!r} is not allowed; write plain YAML")

    def _scalar(self, event: yaml.ScalarEvent, line: int) -> ScalarNode:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR_TAG:
            return ScalarNode(line, event.value)
        if tag == _MERGE_TAG:
            return _MergeKey(line, "<<")
        node = yaml.ScalarNode(tag, event.value, style=event.style)
        try:
            value: Any = self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as error:
            raise _Refused(line, "", f"the tag {tag!r} is not allowed; write plain YAML") from error
        if not isinstance(value, str | int | float | bool) and value is not None:
            value = str(value)
        return ScalarNode(line, value)

    def _mapping(self, line: int) -> tuple[MapNode, int]:
        entries: list[tuple[str, int, Node]] = []
        merged: list[tuple[str, int, Node]] = []
        seen: dict[str, int] = {}
        size = 1
        while not self.loader.check_event(yaml.MappingEndEvent):
            key_node, _ = self.node()
            key_line = key_node.line
            value, value_size = self.node()
            size += value_size
            if type(key_node) is _MergeKey:
                merged.extend(self._merge(value, key_line))
                continue
            name = self._key_name(key_node)
            if name in seen:
                raise _Refused(
                    key_line, name, f"duplicate key (first given on line {seen[name]}); keep one"
                )
            seen[name] = key_line
            entries.append((name, key_line, value))
        self.loader.get_event()
        self._spend(1, line)
        # Merged keys (YAML's <<) come after, and never override, the mapping's own keys.
        for name, key_line, value in merged:
            if name not in seen:
                seen[name] = key_line
                entries.append((name, key_line, value))
        return MapNode(line, tuple(entries)), size

    @staticmethod
    def _key_name(key: Node) -> str:
        if isinstance(key, ScalarNode):
            return str(key.value) if key.value is not None else "null"
        raise _Refused(key.line, "", "keys must be plain text, not lists or mappings")

    @staticmethod
    def _merge(value: Node, line: int) -> list[tuple[str, int, Node]]:
        sources = value.items if isinstance(value, SeqNode) else (value,)
        merged: list[tuple[str, int, Node]] = []
        for source in sources:
            if not isinstance(source, MapNode):
                raise _Refused(line, "<<", "a merge key (<<) takes a mapping or a list of mappings")
            merged.extend(source.entries)
        return merged


def is_readable_dir(path: Path) -> bool:
    """True when `path` is a folder we can list (used by the CLI for usage errors)."""
    return path.is_dir() and os.access(path, os.R_OK | os.X_OK)
