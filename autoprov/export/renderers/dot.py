"""A compact Graphviz DOT drawing of a run, written as text from the :class:`RunModel`.

``prov.dot.prov_to_dot`` turns every attribute into a node, and Graphviz could not lay out even a
200-element document of that kind in 90 s.  Here one activity or entity is one node, attributes
go into short labels and tooltips, every top-level activity is a cluster holding its nested calls,
top-level activities are chained in time order, and the drawing grows with the shape of the
analysis, not its length:

* a loop (a repeated sequence of sibling calls, :mod:`..grouping` states the rule) is one group
  node, ``100 x (MapDataset.fake -> Fit.run)``, and the objects that only its own calls made and
  used are left out; an *expanded* group is a cluster holding one node per step of its body,
  each standing for all its repetitions (``MapDataset.fake x 100``);
* on large runs sibling calls of the same function are collapsed into one ``name x N`` node (and
  the entities they share a role with into one ``Type x N`` node).

``grouped=False`` (``autoprov graph --all``) draws every call.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from os.path import basename
from typing import Any
from ...records import NamedTuple

from ..grouping import Group, find_groups
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
GROUP_STYLE = 'shape=box, style="rounded,filled,bold", peripheries=2, fillcolor="#d9d2e9", color="#674ea7"'
MAX_GROUP_STEPS = 4  # steps of a loop's body named in its label


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


def group_label(model: RunModel, group: Group) -> str:
    """``100 x (MapDataset.fake -> Fit.run)``: the count and the steps of the loop's body."""
    steps = [short_name(model.activities[act].name) for act in group.first]
    if len(steps) > MAX_GROUP_STEPS:
        steps = steps[:MAX_GROUP_STEPS - 1] + [f"... ({len(group.first)} steps)"]
    return f"{group.count} x ({' -> '.join(steps)})"


class _Graph:
    def __init__(self, model: RunModel, collapse: bool, groups: list[Group], expanded: frozenset[int], prefix: str) -> None:
        self.model = model
        self.collapse = collapse
        self.groups = groups
        self.expanded = expanded
        self.prefix = prefix  # node ids unique across the drawings of one report
        self.label_params = MAX_LABEL_PARAMS
        self.place = {act: (index, step) for index, group in enumerate(groups) for repetition in group.repetitions for step, act in enumerate(repetition)}
        self.group_nodes: dict[str, int] = {}  # group node -> index in groups
        self.folded: set[str] = set()  # collapsed group nodes: every call inside them is drawn by them
        self.merged: set[str] = set()  # nodes of an expanded group: each stands for one step of every repetition
        self.node_of: dict[int, str] = {}  # act -> node id
        self.members: dict[str, list[Activity]] = defaultdict(list)  # activity node -> its calls
        self.parent_node: dict[str, str | None] = {}
        self.entity_nodes: dict[EntityKey, str] = {}
        self.entity_members: dict[str, list[EntityKey]] = defaultdict(list)
        self._names: dict[tuple, str] = {}  # collapse signature -> node id (deterministic, unlike hash())

    def _name(self, prefix: str, signature: tuple) -> str:
        name = self._names.get(signature)
        if name is None:
            name = self._names[signature] = f"{self.prefix}{prefix}{len(self._names)}"
        return name

    def assign_activities(self) -> None:
        for activity in self.model.activities.values():  # in start order: parents come first
            parent = self.node_of.get(activity.parent) if activity.parent is not None else None
            place = self.place.get(activity.act)
            if parent in self.folded:
                node = parent
            elif place is not None and parent not in self.merged:  # a step of an outermost loop
                index, step = place
                group_node = self._name("g", ("group", index))
                if group_node not in self.group_nodes:
                    self.group_nodes[group_node] = index
                    self.parent_node[group_node] = parent
                if index in self.expanded:
                    node = self._name("a", ("group", index, step))
                    self.merged.add(node)
                    parent = group_node
                else:
                    node = group_node
                    self.folded.add(node)
            elif parent in self.merged:  # nested in a step of an expanded loop
                node = self._name("a", (parent, activity.name))
                self.merged.add(node)
            else:
                node = self._name("a", (parent, activity.name) if self.collapse else (activity.act,))
            self.node_of[activity.act] = node
            self.members[node].append(activity)
            self.parent_node.setdefault(node, parent)

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
        partners: dict[EntityKey, list[EntityKey]] = defaultdict(list)  # hadMember, both ways
        for entity, node, role, direction in edges:
            pattern[entity].append((node, role, direction))
        for collection, member in self.model.members:
            pattern[("obj", collection)]
            pattern[("obj", member)].append((self.entity_kind(("obj", collection)), "", "member"))
            partners[("obj", collection)].append(("obj", member))
            partners[("obj", member)].append(("obj", collection))
        for out, source, act in self.model.derived:  # read through a property the view leaves out (.clutter)
            if act in self.model.left_out:
                pattern[source]
                pattern[out].append((self.model.left_out[act].name, "", "read"))
        callers_of = {entity: {node for node, _, direction in links if direction != "member"} for entity, links in pattern.items()}
        inside = self.folded | self.merged
        # a version whose other version is drawn outside the loops stays drawn, so the chain of revisions shows
        versions: dict[EntityKey, list[EntityKey]] = defaultdict(list)
        for new, previous, _ in self.model.revisions:
            versions[new].append(previous)
            versions[previous].append(new)
        outside = {entity for entity, nodes in callers_of.items() if nodes and not nodes <= inside}
        for entity, links in pattern.items():
            callers = callers_of[entity]
            if (entity[0] == "obj" and outside.isdisjoint(versions.get(entity, ()))
                    and self.looped(callers, callers_of, partners.get(entity, ()), inside)):
                continue
            merge = self.collapse or not callers.isdisjoint(self.merged) or not callers.isdisjoint(self.folded)
            signature = (self.entity_kind(entity), tuple(sorted(set(links)))) if merge else (entity,)
            node = self._name("e", ("entity", signature))
            self.entity_nodes[entity] = node
            self.entity_members[node].append(entity)

    def looped(self, callers: set[str], callers_of: dict, partners: Iterable[EntityKey], inside: set[str]) -> bool:
        """Whether an object is a loop's own business, left out of the drawing: one collapsed loop
        made and used it, or it is linked to calls only as a member (or collection) of objects
        that only loops' calls touched."""
        if callers:
            return len(callers) == 1 and callers <= self.folded
        linked = [callers_of.get(partner) for partner in partners]
        return bool(linked) and all(nodes and nodes <= inside for nodes in linked)

    def entity_kind(self, entity: EntityKey) -> str:
        if entity[0] == "obj":
            return str(self.model.objects.get(entity[1], {}).get("type", "object"))
        return entity[0]

    # -- labels --------------------------------------------------------------------------------

    def group_node(self, node: str) -> str:
        group = self.groups[self.group_nodes[node]]
        calls = self.members.get(node) or []
        failed = sum(call.status != "completed" for call in calls)
        label = group_label(self.model, group) + (f"\n{failed} not completed" if failed else "")
        tooltip = f"{group.count} repetitions of:\n" + "\n".join(self.model.activities[act].name for act in group.first)
        return f"{node} [{GROUP_STYLE}, label={quote(label)}, tooltip={quote(tooltip)}];"

    def activity_node(self, node: str) -> str:
        if node in self.group_nodes:
            return self.group_node(node)
        calls = self.members[node]
        first = calls[0]
        label = short_name(first.name) + (f" x {len(calls)}" if len(calls) > 1 else "")
        params = list(first.params.items())
        shown = self.label_params
        lines = [f"{key}={_short(value)}" for key, value in params[:shown]]
        if len(params) > shown and shown:
            lines.append(f"(+{len(params) - shown} parameters)")
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
    """The DOT text and which node draws which activity and entity (the HTML report links them);
    ``groups``: group node -> (the loop, whether it is drawn expanded)."""

    text: str
    activity_nodes: dict[int, str]
    entity_nodes: dict[EntityKey, str]
    groups: dict[str, tuple[Group, bool]] = {}


def to_dot(model: RunModel, collapse: bool | None = None, complete: bool = False, grouped: bool = True) -> str:
    """The DOT text of the run's graph (collapse: None = automatic above :data:`COLLAPSE_AT`;
    ``complete``: with the calls left out by default, see :mod:`.clutter`; ``grouped``: loops
    drawn as one node each)."""
    return drawing(model, collapse, complete, grouped).text


def drawing(model: RunModel, collapse: bool | None = None, complete: bool = False, grouped: bool = True,
            expanded: frozenset[int] = frozenset(), prefix: str = "", groups: list[Group] | None = None,
            label_params: int = MAX_LABEL_PARAMS, passes: Iterable[tuple[int | None, int, str]] = (),
            chained: bool = True) -> Drawing:
    """The run's graph as DOT, with the node of every activity and entity (property reads and
    library-internal commands left out unless ``complete``; loops as group nodes unless not ``grouped``, those in
    ``expanded`` (indexes into ``groups``, found here when not given) drawn step by step;
    ``label_params``: parameters written into an activity's label; ``passes``: (activity or None for
    the script, activity, type) objects drawn as edges between the calls, not as nodes, see
    :func:`..product_lineage.file_lineage`; ``chained``: top-level steps held in time order, which
    without it follow the data, a shorter drawing when the steps hand each other objects)."""
    if not complete:
        from ..clutter import quiet

        model = quiet(model)
    if groups is None:
        groups = find_groups(model) if grouped else []
    graph = _Graph(model, len(model.activities) > COLLAPSE_AT if collapse is None else collapse, groups, expanded, prefix)
    graph.label_params = label_params
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
    for previous, following in zip(["session", *top], top if chained else []):  # time order of the top-level steps
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
    reads = {(graph.entity_nodes.get(source), graph.entity_nodes.get(out), "." + model.left_out[act].name.rsplit(".", 1)[-1])
             for out, source, act in model.derived if act in model.left_out}
    for source, out, name in sorted(item for item in reads if None not in item and item[0] != item[1]):
        lines.append(f'  {source} -> {out} [style=dashed, color="#999999", label={quote(name)}];')  # a property read, not drawn
    inferred = {(graph.entity_nodes.get(source), graph.entity_nodes.get(out)) for out, source, _ in graph.model.inferred}
    for source, out in sorted(pair for pair in inferred if None not in pair and pair[0] != pair[1]):
        lines.append(f'  {source} -> {out} [style=dotted, color="#cc6633", label="inferred", constraint=false];')  # not recorded
    handed: dict[tuple[str, str], dict[str, None]] = defaultdict(dict)
    for source, target, kind in passes:
        pair = (graph.node_of.get(source, "session") if source is not None else "session", graph.node_of.get(target))
        if pair[1] is not None and pair[0] != pair[1]:
            handed[pair][kind] = None
    for (source, target), kinds in handed.items():
        lines.append(f'  {source} -> {target} [color="#b0a080", label={quote(chr(10).join(kinds))}];')
    drawn: set[tuple[str, str, str]] = set()
    with_calls = {entity for entity, node, _, _ in edges if node != "session"}
    for entity, node, role, direction in edges:
        entity_node = graph.entity_nodes.get(entity)
        pair = (entity_node, node, direction)
        if entity_node is None or pair in drawn or (node == "session" and entity in with_calls):
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
    drawn_groups = {node: (groups[index], index in expanded) for node, index in graph.group_nodes.items()}
    return Drawing("\n".join(lines) + "\n", graph.node_of, graph.entity_nodes, drawn_groups)
