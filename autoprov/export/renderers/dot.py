"""A compact Graphviz DOT drawing of a run, written as text from the :class:`RunModel`.

``prov.dot.prov_to_dot`` turns every attribute into a node, and Graphviz could not lay out even a
200-element document of that kind in 90 s.  Here one activity or entity is one node, attributes
go into short labels and tooltips, every top-level activity is a cluster holding its nested calls,
top-level activities are chained in time order, and on large runs sibling calls of the same
function are collapsed into one ``name x N`` node (and the entities they share a role with into
one ``Type x N`` node), so the drawing grows with the shape of the analysis, not its length.
"""

from __future__ import annotations

import json
from collections import defaultdict
from os.path import basename
from typing import Any
from ...records import NamedTuple

from ..model import Activity, EntityKey, RunModel
from ..statements import printable

COLLAPSE_AT = 60  # activities above which repeated calls are collapsed
MAX_LABEL_PARAMS = 3
MAX_VALUE = 28
ACTIVITY_STYLE = 'shape=box, style="rounded,filled", fillcolor="#cfe2f3", color="#3d6d99"'
FILE_STYLE = 'shape=note, style=filled, fillcolor="#fff2cc", color="#b69b3a"'
OBJECT_STYLE = 'shape=ellipse, style=filled, fillcolor="#fdf6e3", color="#b0a080"'
PATH_STYLE = 'shape=folder, style=filled, fillcolor="#eeeeee", color="#888888"'
FAILED_STYLE = 'shape=box, style="rounded,filled", fillcolor="#f4cccc", color="#990000"'


def quote(text: str) -> str:
    """A DOT string of ``text`` (any file name: bytes that are not UTF-8 are escaped)."""
    return '"' + printable(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _short(value: Any, limit: int = MAX_VALUE) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=repr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short_name(name: str) -> str:
    """``gammapy.makers.spectrum.SpectrumDatasetMaker.run`` -> ``SpectrumDatasetMaker.run``."""
    parts = name.split(".")
    for index, part in enumerate(parts):
        if part[:1].isupper():
            return ".".join(parts[index:])
    return ".".join(parts[-2:])


class _Graph:
    def __init__(self, model: RunModel, collapse: bool) -> None:
        self.model = model
        self.collapse = collapse
        self.node_of: dict[int, str] = {}  # act -> node id
        self.members: dict[str, list[Activity]] = defaultdict(list)  # activity node -> its calls
        self.parent_node: dict[str, str | None] = {}
        self.entity_nodes: dict[EntityKey, str] = {}
        self.entity_members: dict[str, list[EntityKey]] = defaultdict(list)
        self._names: dict[tuple, str] = {}  # collapse signature -> node id (deterministic, unlike hash())

    def _name(self, prefix: str, signature: tuple) -> str:
        name = self._names.get(signature)
        if name is None:
            name = self._names[signature] = f"{prefix}{len(self._names)}"
        return name

    def assign_activities(self) -> None:
        for activity in self.model.activities.values():  # in start order: parents come first
            parent = self.node_of.get(activity.parent) if activity.parent is not None else None
            node = self._name("a", (parent, activity.name) if self.collapse else (activity.act,))
            self.node_of[activity.act] = node
            self.members[node].append(activity)
            self.parent_node[node] = parent

    def edges(self) -> list[tuple[EntityKey, str, str, str]]:
        """(entity, activity node, role, "used" | "gen") without repeats."""
        seen: dict[tuple, None] = {}
        for direction, links in (("used", self.model.used), ("gen", self.model.generated)):
            for link in links:
                node = self.node_of.get(link.act, "session") if link.act is not None else "session"
                seen[(link.entity, node, link.role, direction)] = None
        return list(seen)

    def assign_entities(self, edges: list[tuple[EntityKey, str, str, str]]) -> None:
        pattern: dict[EntityKey, list] = defaultdict(list)
        for entity, node, role, direction in edges:
            pattern[entity].append((node, role, direction))
        for collection, member in self.model.members:
            pattern[("obj", collection)]
            pattern[("obj", member)].append((f"obj{collection}", "", "member"))
        for entity, links in pattern.items():
            signature = (self.entity_kind(entity), tuple(sorted(set(links)))) if self.collapse else (entity,)
            node = self._name("e", ("entity", signature))
            self.entity_nodes[entity] = node
            self.entity_members[node].append(entity)

    def entity_kind(self, entity: EntityKey) -> str:
        if entity[0] == "obj":
            return str(self.model.objects.get(entity[1], {}).get("type", "object"))
        return entity[0]

    # -- labels --------------------------------------------------------------------------------

    def activity_node(self, node: str) -> str:
        calls = self.members[node]
        first = calls[0]
        label = short_name(first.name) + (f" x {len(calls)}" if len(calls) > 1 else "")
        params = list(first.params.items())
        lines = [f"{key}={_short(value)}" for key, value in params[:MAX_LABEL_PARAMS]]
        if len(params) > MAX_LABEL_PARAMS:
            lines.append(f"(+{len(params) - MAX_LABEL_PARAMS} parameters)")
        failed = [call for call in calls if call.status != "completed"]
        if failed:
            lines.append(f"{failed[0].status}" + (f": {_short(failed[0].error, 40)}" if failed[0].error else ""))
        tooltip = first.name + "\n" + "\n".join(f"{key} = {_short(value, 200)}" for key, value in params)
        style = FAILED_STYLE if failed else ACTIVITY_STYLE
        return f"{node} [{style}, label={quote(chr(10).join([label, *lines]))}, tooltip={quote(tooltip)}];"

    def entity_node(self, node: str) -> str:
        entities = self.entity_members[node]
        entity = entities[0]
        count = f" x {len(entities)}" if len(entities) > 1 else ""
        if entity[0] == "obj":
            description = self.model.objects.get(entity[1], {})
            kind = str(description.get("type", "object")).rsplit(".", 1)[-1]
            name = description.get("name")
            label = f"{kind}{count}" + (f"\n{_short(name)}" if name and not count else "")
            tooltip = str(description.get("repr", kind))
            return f"{node} [{OBJECT_STYLE}, label={quote(label)}, tooltip={quote(tooltip)}];"
        path = entity[1]
        if entity[0] == "path":
            return f"{node} [{PATH_STYLE}, label={quote((basename(path) or path) + count)}, tooltip={quote(path)}];"
        digest = self.model.digests.get((path, entity[2]))
        tooltip = path + (f"\n{digest[0]} {digest[1]}\n{digest[2]} bytes" if digest and digest[1] else "")
        label = (basename(path) if not count else f"{basename(path)}{count}") + (f" (v{entity[2]})" if entity[2] > 1 and not count else "")
        return f"{node} [{FILE_STYLE}, label={quote(label)}, tooltip={quote(tooltip)}];"


class Drawing(NamedTuple):
    """The DOT text and which node draws which activity and entity (the HTML report links them)."""

    text: str
    activity_nodes: dict[int, str]
    entity_nodes: dict[EntityKey, str]


def to_dot(model: RunModel, collapse: bool | None = None, complete: bool = False) -> str:
    """The DOT text of the run's graph (collapse: None = automatic above :data:`COLLAPSE_AT`;
    ``complete``: with the library-internal commands, see :mod:`.clutter`)."""
    return drawing(model, collapse, complete).text


def drawing(model: RunModel, collapse: bool | None = None, complete: bool = False) -> Drawing:
    """The run's graph as DOT, with the node of every activity and entity (library-internal
    commands left out unless ``complete``)."""
    if not complete:
        from ..clutter import without_internal

        model = without_internal(model)
    graph = _Graph(model, len(model.activities) > COLLAPSE_AT if collapse is None else collapse)
    graph.assign_activities()
    edges = graph.edges()
    graph.assign_entities(edges)
    program = basename(str(model.info.get("program") or "session"))
    lines = [
        "digraph provenance {",
        '  graph [rankdir=TB, fontname="Helvetica", fontsize=11, nodesep=0.25, ranksep=0.35, newrank=true];',
        '  node [fontname="Helvetica", fontsize=10, margin="0.08,0.04", height=0.3];',
        '  edge [fontname="Helvetica", fontsize=8, color="#666666", arrowsize=0.6];',
        f"  session [shape=box, style=\"bold,filled\", fillcolor=\"#d9ead3\", label={quote(f'run of {program}' + chr(10) + model.status)}, tooltip={quote(model.run_id)}];",
    ]
    children: dict[str | None, list[str]] = defaultdict(list)
    for node, parent in graph.parent_node.items():
        children[parent].append(node)

    def emit(node: str, depth: int) -> None:
        indent = "  " * depth
        if children.get(node):
            lines.append(f"{indent}subgraph cluster_{node} {{")
            lines.append(f'{indent}  style="rounded,dashed"; color="#9fb7cc"; label="";')
            lines.append(indent + "  " + graph.activity_node(node))
            for child in children[node]:
                emit(child, depth + 1)
            lines.append(f"{indent}}}")
        else:
            lines.append(indent + graph.activity_node(node))

    top = children.get(None, [])
    for node in top:
        emit(node, 1)
    for node in graph.entity_members:
        lines.append("  " + graph.entity_node(node))
    for previous, following in zip(["session", *top], top):  # time order of the top-level steps
        lines.append(f'  {previous} -> {following} [style=dotted, color="#aaaaaa", arrowhead=none, weight=4];')
    for node, nested in children.items():  # and of the calls inside each of them
        if node is not None:
            for previous, following in zip([node, *nested], nested):
                lines.append(f"  {previous} -> {following} [style=invis, weight=2];")
    informed = {(graph.node_of.get(informant, "session"), graph.node_of.get(act)) for act, informant in model.informed}
    for informant, task in sorted(pair for pair in informed if pair[1] is not None and pair[0] != pair[1]):
        lines.append(f'  {informant} -> {task} [style=dotted, color="#8e7cc3", label="submitted", constraint=false];')
    members = {(graph.entity_nodes.get(("obj", c)), graph.entity_nodes.get(("obj", m))) for c, m in graph.model.members}
    for collection, member in sorted(pair for pair in members if None not in pair):
        lines.append(f'  {member} -> {collection} [style=dashed, color="#b0a080", label="member"];')
    revisions = {(graph.entity_nodes.get(previous), graph.entity_nodes.get(new)) for new, previous, _ in graph.model.revisions}
    for previous, new in sorted(pair for pair in revisions if None not in pair and pair[0] != pair[1]):
        lines.append(f'  {previous} -> {new} [style=dashed, color="#999999", label="revised"];')  # a new version
    inferred = {(graph.entity_nodes.get(source), graph.entity_nodes.get(out)) for out, source, _ in graph.model.inferred}
    for source, out in sorted(pair for pair in inferred if None not in pair and pair[0] != pair[1]):
        lines.append(f'  {source} -> {out} [style=dotted, color="#cc6633", label="inferred", constraint=false];')  # not recorded
    drawn: set[tuple[str, str, str]] = set()
    with_calls = {entity for entity, node, _, _ in edges if node != "session"}
    for entity, node, role, direction in edges:
        entity_node = graph.entity_nodes[entity]
        pair = (entity_node, node, direction)
        if pair in drawn or (node == "session" and entity in with_calls):
            continue  # a file the run read at top level and a call read too: the call's edge says it
        drawn.add(pair)
        attributes = f"label={quote(_short(role, 20))}" if role not in ("result", "read", "write") else ""
        if node == "session":
            # Files the script itself touched hang below the run: a file it read is drawn as an
            # edge from the run with the arrow reversed.  (constraint=false would do the same, but
            # Graphviz loses edges of such two-way pairs: "lost edge" on a copy-then-rename.)
            attributes = (attributes + ", " if attributes else "") + "style=dashed"
            if direction == "used":
                lines.append(f"  session -> {entity_node} [dir=back, {attributes}];")
            else:
                lines.append(f'  session -> {entity_node} [color="#3d6d99", {attributes}];')
        elif direction == "used":
            lines.append(f"  {entity_node} -> {node} [{attributes}];")
        else:
            lines.append(f'  {node} -> {entity_node} [color="#3d6d99", {attributes}];'.replace(", ]", "]"))
    lines.append("}")
    return Drawing("\n".join(lines) + "\n", graph.node_of, graph.entity_nodes)
