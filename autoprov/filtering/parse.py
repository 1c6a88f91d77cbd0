"""Read one filter file safely: bounded size, text only, no aliases, a mapping at the top.

Filter files may come from anywhere (a colleague's repository, an environment variable), so they
are parsed with PyYAML's safe loader only, aliases are refused outright (so "billion laughs"
expansion cannot happen), nesting is bounded before PyYAML sees the text (its scanner is quadratic
in the depth of flow brackets, 40 KB of ``[[[`` cost 20 s, and its composer recurses, ending in a
RecursionError), and the composed node tree is kept so every later error can name the line and
column of the offending key or value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from .diagnostics import MAX_BYTES, Mark, fail

Location = tuple[Any, ...]
MAX_DEPTH = 32  # a filter nests five or six levels; anything this deep is not a filter
# What PyYAML's scanner would read as flow brackets: quoted scalars and comments are skipped.
_FLOW = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"\\]|\\.)*\"|#[^\n]*|[\[\]{}]")


@dataclass
class FilterText:
    """The parsed content of one filter file, with where each key and value sits in it."""

    label: str  # how messages name the file (shipped name or path)
    data: dict[str, Any]
    marks: dict[Location, Mark]  # path of a value -> its position
    key_marks: dict[Location, Mark]  # path of a mapping key -> the key's position

    def mark_of(self, location: Location, key: bool = False) -> Mark:
        """The closest known position of ``location`` (its nearest ancestor when unknown)."""
        table = self.key_marks if key else self.marks
        while location:
            if location in table:
                return table[location]
            if location in self.marks:
                return self.marks[location]
            location = location[:-1]
        return self.marks.get((), Mark(1, 1))


def _mark(node_mark: yaml.Mark) -> Mark:
    return Mark(node_mark.line + 1, node_mark.column + 1)


def parse(raw: bytes, label: str) -> FilterText:
    """Decode, parse and compose ``raw``; refuse anything that is not a small YAML mapping."""
    if len(raw) > MAX_BYTES:
        raise fail(label, None, f"file is {len(raw)} bytes, more than the {MAX_BYTES} bytes a filter may have")
    if b"\0" in raw:
        raise fail(label, None, "binary file (contains NUL bytes), not a YAML filter")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise fail(label, None, f"not UTF-8 text (byte {error.start}), not a YAML filter") from None
    _bound_flow_nesting(text, label)
    try:
        depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise fail(label, _mark(event.start_mark), f"YAML alias '*{event.anchor}' is not allowed in filters (write the value out)")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise fail(label, _mark(event.start_mark), f"nested more than {MAX_DEPTH} levels deep; a filter nests a few levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = _mark(error.problem_mark) if error.problem_mark else None
        raise fail(label, mark, f"invalid YAML: {error.problem}") from None
    except yaml.reader.ReaderError as error:  # a character YAML does not allow (control characters)
        code = ord(error.character) if isinstance(error.character, str) else int(error.character)
        raise fail(label, None, f"invalid YAML: {error.reason} (#x{code:04x} at character {error.position + 1})") from None
    except yaml.YAMLError as error:
        raise fail(label, None, "invalid YAML: " + " ".join(str(error).split())) from None
    except RecursionError:  # not reached within MAX_DEPTH; kept so no input can ever end in a traceback
        raise fail(label, None, f"nested too deeply for YAML (more than {MAX_DEPTH} levels)") from None
    if node is None:
        raise fail(label, None, "empty file: a filter is a mapping with 'activities' (see docs/filters.md)")
    if not isinstance(node, yaml.MappingNode):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
        raise fail(label, _mark(node.start_mark), f"the file holds {kind}; a filter is a mapping with 'activities'")
    marks: dict[Location, Mark] = {}
    key_marks: dict[Location, Mark] = {}
    _walk(node, (), marks, key_marks, label)
    try:
        data = yaml.SafeLoader(text).construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = _mark(error.problem_mark) if error.problem_mark else None
        raise fail(label, mark, f"invalid YAML: {error.problem}") from None
    return FilterText(label, data, marks, key_marks)


def _bound_flow_nesting(text: str, label: str) -> None:
    """Refuse flow brackets nested deeper than :data:`MAX_DEPTH` (counted in one regex pass)."""
    if "[" not in text and "{" not in text:
        return
    depth = 0
    for match in _FLOW.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, match.start()) + 1
                column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
                raise fail(label, Mark(line, column), f"brackets nested more than {MAX_DEPTH} levels deep; a filter nests a few levels")
        elif token in ("]", "}"):
            depth = max(0, depth - 1)


def _walk(node: yaml.Node, location: Location, marks: dict, key_marks: dict, label: str) -> None:
    marks[location] = _mark(node.start_mark)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise fail(label, _mark(key_node.start_mark), "a mapping key must be a plain name")
            key = key_node.value
            if key in seen:
                raise fail(label, _mark(key_node.start_mark), f"key '{key}' appears twice in the same mapping")
            seen.add(key)
            key_marks[location + (key,)] = _mark(key_node.start_mark)
            _walk(value_node, location + (key,), marks, key_marks, label)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, location + (index,), marks, key_marks, label)
