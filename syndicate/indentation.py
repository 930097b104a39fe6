"""Keys an editor forgot to indent: at a file's top level, under the definition they belong to.

```yaml
item:
id: x            # meant as item.id
type: voices
```

YAML reads that as an empty `item` and top-level keys `id`, `type`..., and checking it key by
key gives one message per line, none saying what happened. `adopt_strays` finds the keys
after a definition that are that definition's fields and cannot be top-level keys (`id`,
`title`; `type: voices`, which is not a type's definition), reports them once ("indent
these under 'item:'"), and hands them to the definition as if they were indented, so the
definition is checked as the editor meant it and nothing else is reported for them.
"""

from __future__ import annotations

from syndicate.problems import Problem
from syndicate.schema import CONTENT_TYPE, EVENT, FILE_KEYS, ITEM, SITE, TOPIC
from syndicate.sources import MapNode, Node, ScalarNode, SeqNode

Entry = tuple[str, int, Node]
_FIELDS = {
    "item": {f.name for f in ITEM + EVENT},
    "type": {f.name for f in CONTENT_TYPE},
    "topic": {f.name for f in TOPIC},
    "site": {f.name for f in SITE},
}


def _is_definition(node: Node) -> bool:
    """What a top-level key of FILE_KEYS holds: a mapping, or a list of mappings."""
    if isinstance(node, MapNode):
        return True
    return (
        isinstance(node, SeqNode)
        and bool(node.items)
        and all(isinstance(child, MapNode) for child in node.items)
    )


def _stray(entry: Entry, section: str) -> bool:
    name, _, node = entry
    return name in _FIELDS[section] and (name not in FILE_KEYS or not _is_definition(node))


def _adopt(node: Node, strays: list[Entry]) -> Node | None:
    """`node` with `strays` as its last keys; None when it cannot take them."""
    if isinstance(node, ScalarNode) and node.value in (None, ""):
        return MapNode(strays[0][1], tuple(strays))
    if isinstance(node, MapNode):
        return MapNode(node.line, (*node.entries, *strays))
    if isinstance(node, SeqNode) and node.items and isinstance(node.items[-1], MapNode):
        last = node.items[-1]
        return SeqNode(node.line, (*node.items[:-1], MapNode(last.line, (*last.entries, *strays))))
    return None


def adopt_strays(file: str, entries: tuple[Entry, ...]) -> tuple[list[Entry], list[Problem]]:
    """The top-level entries of a file with each run of stray keys given to the definition
    above it, and one problem per run."""
    kept: list[Entry] = []
    problems: list[Problem] = []
    index = 0
    while index < len(entries):
        key, line, node = entries[index]
        index += 1
        section = FILE_KEYS.get(key)
        if section is None or _stray((key, line, node), section):
            kept.append((key, line, node))
            continue
        strays: list[Entry] = []
        while index < len(entries) and _stray(entries[index], section):
            strays.append(entries[index])
            index += 1
        adopted = _adopt(node, strays) if strays else None
        if adopted is None:
            kept.append((key, line, node))
            kept.extend(strays)
            continue
        kept.append((key, line, adopted))
        problems.append(Problem(file, strays[0][1], key, _message(key, line, node, strays)))
    return kept, problems


def _message(key: str, line: int, node: Node, strays: list[Entry]) -> str:
    names = ", ".join(name for name, _, _ in strays)
    lines = f"line {strays[0][1]}" if len(strays) == 1 else f"lines {strays[0][1]}-{strays[-1][1]}"
    how = (
        "line them up with the first key after the '-' above them"
        if isinstance(node, SeqNode)
        else "indent them by two spaces, like the keys of the other definitions"
    )
    one = len(strays) == 1
    return (
        f"{names} ({lines}) {'belongs' if one else 'belong'} to '{key}:' on line {line} but "
        f"{'is' if one else 'are'} not indented under it: {how if not one else _one(how)}. "
        f"{'It is' if one else 'They are'} checked as if {'it was' if one else 'they were'}."
    )


def _one(how: str) -> str:
    return how.replace("them", "it")
