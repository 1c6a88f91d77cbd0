"""Lineage of a file across runs: what produced its current content, from what, recursively.

A file is identified by its current content digest (a file that is gone, by the last content a
run wrote at its path).  The run that generated that content (the latest, when several did) and
the activity in it are its origin.  Its inputs are the files that run's own record links it to:
backwards from the generated entity along ``wasGeneratedBy`` (what the generating activity had
used by then), ``wasDerivedFrom`` (object versions, copies) and ``hadMember`` (a collection comes
from its members), through object entities, stopping at files.  So a per-observation spectrum
written by one ``Datasets.write`` reaches its own observation's DL3 file, not the other three.
Where the record links a product to no file at all (a program whose filters record no call that
touches it), its inputs are the files the run had read by the time it wrote the file, marked
``inferred``.  Each input is then traced the same way, down to files no recorded run produced: raw
data, or a file whose content changed after a run wrote it (edited by hand), which breaks the chain
and is reported with the run that wrote the path last.  A copy (the same content read at another
path by the run that wrote it) leads to its source, whose own origin is looked for in the runs
before.  A content met twice is expanded once (``seen``), and so are the inputs of a call that
wrote several of the files (``repeated``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection

from . import schema
from .query import file_digests
from .steps import RunSteps, Step

MAX_DEPTH = 200


@dataclass
class Writer:
    """A run that wrote a path (with some content), for the broken-chain report."""

    run_id: str
    program: str | None
    digest: str | None
    time: datetime | None


@dataclass
class Generation:
    """Where a content came from: the run and activity that generated it."""

    run_id: str
    program: str | None
    status: str
    activity_id: str
    activity: str  # function name, or "run" for the script's own code (outside any recorded call)
    role: str | None
    time: datetime | None
    also: list[str] = field(default_factory=list)  # other runs that generated the very same content
    inputs: list[FileNode] = field(default_factory=list)
    repeated: bool = False  # this call's inputs were traced for another of its outputs above
    matched: str | None = None  # an imported ctapipe run: "activity-uuid", "path-and-time" or "path-only" (autoprov.interop)
    steps: list[Step] = field(default_factory=list)  # the calls between the inputs and this content (steps.py)


@dataclass
class FileNode:
    path: str
    digest: str | None
    role: str | None = None  # how the consumer used it
    used_by: str | None = None  # the consuming activity's function name ("run": the script itself)
    generation: Generation | None = None
    seen: bool = False  # expanded earlier in this tree
    changed_after: Writer | None = None  # produced by no run, but a run wrote this path with other content
    inferred: bool = False  # not linked to the product in the record: read by its run before it was written

    @property
    def source(self) -> bool:
        """No recorded run produced this content."""
        return self.generation is None and not self.seen


@dataclass
class Lineage:
    path: str
    exists: bool
    root: FileNode
    readers: list[str] = field(default_factory=list)  # when produced by no run: runs that read this content

    @property
    def produced(self) -> bool:
        return self.root.generation is not None


def trace(connection: Connection, path: Path, full: bool = False) -> Lineage:
    """The lineage tree of the file at ``path``, as it is now (``full``: every step, uncondensed)."""
    absolute = path.absolute()
    digests = file_digests(connection, absolute)
    tracer = _Tracer(connection, full)
    exists = absolute.exists()
    if not digests:  # gone (or unreadable): trace the last content a run wrote at this path
        writer = tracer.last_writer(str(absolute), None)
        if writer is None or writer.digest is None:
            return Lineage(str(absolute), exists, FileNode(str(absolute), None))
        digests = [writer.digest]
    root = tracer.node(str(absolute), digests, None, None, 0)
    lineage = Lineage(str(absolute), exists, root)
    if root.generation is None:
        lineage.readers = tracer.readers(digests)
    return lineage


def trace_content(connection: Connection, digests: list[str], path: str) -> Lineage:
    """The lineage tree of a content named by its digests (as recorded at ``path``), wherever the file is now."""
    tracer = _Tracer(connection)
    root = tracer.node(path, digests, None, None, 0)
    lineage = Lineage(path, Path(path).exists(), root)
    if root.generation is None:
        lineage.readers = tracer.readers(digests)
    return lineage


class Input(NamedTuple):
    """A file a product came from, as the consuming activity used it."""

    location: str
    digest: str
    role: str | None
    name: str | None  # the consuming activity's function name; None: reached through wasDerivedFrom
    seq: int  # 0: the script's own code
    inferred: bool = False


class RunGraph:
    """One run's record as backward edges, read from the index once per lineage query.

    An entity comes from the activities that generated it (from what each had used by the time it
    generated the entity), from the entities it was derived from, and, for a collection, from its
    members: the relations a reader of the PROV document follows (``wasStartedBy`` is not one of
    them: an enclosing call is not an input).
    """

    def __init__(self) -> None:
        self.generated_by: dict[str, list[tuple[str, datetime | None]]] = defaultdict(list)
        self.used: dict[str, list[tuple[str, str | None, datetime | None]]] = defaultdict(list)
        self.sources: dict[str, list[str]] = defaultdict(list)  # wasDerivedFrom and hadMember, backwards
        self.files: dict[str, tuple[str, str]] = {}  # file entity -> (location, digest)
        self.activities: dict[str, tuple[str, int]] = {}  # activity -> (name, seq)

    @classmethod
    def load(cls, connection: Connection, run_id: str) -> RunGraph:
        graph = cls()
        generated, used, derived, member = schema.wasgeneratedby.c, schema.used.c, schema.wasderivedfrom.c, schema.hadmember.c
        entity, activity = schema.entity.c, schema.activity.c
        for row in connection.execute(select(generated.entity_id, generated.activity_id, generated.time).where(generated.run_id == run_id)):
            graph.generated_by[row.entity_id].append((row.activity_id, row.time))
        for row in connection.execute(select(used.activity_id, used.entity_id, used.role, used.time).where(used.run_id == run_id)):
            graph.used[row.activity_id].append((row.entity_id, row.role, row.time))
        for row in connection.execute(select(derived.generated_entity_id, derived.used_entity_id).where(derived.run_id == run_id)):
            graph.sources[row.generated_entity_id].append(row.used_entity_id)
        for row in connection.execute(select(member.collection_id, member.entity_id).where(member.run_id == run_id)):
            graph.sources[row.collection_id].append(row.entity_id)
        files = select(entity.id, entity.location, entity.digest).where(
            entity.run_id == run_id, entity.kind == "file", entity.digest.is_not(None))
        graph.files = {row.id: (row.location, row.digest) for row in connection.execute(files)}
        for row in connection.execute(select(activity.id, activity.name, activity.seq).where(activity.run_id == run_id)):
            graph.activities[row.id] = (row.name, row.seq)
        return graph

    def files_behind(self, start: str, digest: str, through: set[str] | None = None) -> list[Input]:
        """The files the entity ``start`` reaches backwards, each once, the nearest use kept (the
        generating activities the walk goes through are added to ``through``).  A file with the
        start's own content is kept only at another path: the source of a copy."""
        found: dict[str, Input] = {}
        own = self.files[start][0] if start in self.files else None
        seen, todo = {start}, [start]
        while todo:
            current = todo.pop()
            reached: list[tuple[str, str | None, str | None]] = []  # (entity, role, consuming activity)
            for activity_id, generated_at in self.generated_by.get(current, ()):
                if through is not None:
                    through.add(activity_id)
                reached += [(used, role, activity_id) for used, role, used_at in self.used.get(activity_id, ())
                            if generated_at is None or used_at is None or used_at <= generated_at]
            reached += [(source, None, None) for source in self.sources.get(current, ())]
            for entity_id, role, activity_id in reached:
                if entity_id in seen:
                    continue
                seen.add(entity_id)
                file = self.files.get(entity_id)
                if file is None:
                    todo.append(entity_id)  # an object (or a path): follow it back
                elif file[1] not in found and (file[1] != digest or (own is not None and file[0] != own)):
                    name, seq = self.activities.get(activity_id, ("run", 0)) if activity_id else (None, -1)
                    found[file[1]] = Input(file[0], file[1], role, name, seq)
        return sorted(found.values(), key=lambda item: item.location)


class _Tracer:
    def __init__(self, connection: Connection, full: bool = False) -> None:
        self.connection = connection
        self.full = full
        self.run_steps: dict[str, RunSteps] = {}  # run -> its calls, loaded once
        self.expanded: set[str] = set()  # contents traced
        self.calls: set[tuple[str, str]] = set()  # (run, activity) whose inputs were traced
        self.graphs: dict[str, RunGraph] = {}  # run -> its record's backward edges, loaded once

    def node(self, path: str, digests: list[str], role: str | None, used_by: str | None, depth: int,
             copied_by: Any = None) -> FileNode:
        """``copied_by``: the generation that copied this content (so only runs before it can have made it)."""
        node = FileNode(path, digests[0] if digests else None, role, used_by)
        generations = self.generations(digests, copied_by) or ([] if copied_by else self.imported_by_path(path))
        if not generations:
            node.changed_after = None if copied_by else self.last_writer(path, node.digest)
            return node
        chosen = generations[0]
        node.digest = chosen.digest or node.digest
        key = (chosen.digest or chosen.entity_id, chosen.run_id)  # an imported output known by path only has no digest
        if key in self.expanded or depth >= MAX_DEPTH:
            node.seen = True
            return node
        self.expanded.add(key)
        generation = Generation(
            chosen.run_id, chosen.program, chosen.status, chosen.activity_id,
            "run" if chosen.seq == 0 else chosen.name, chosen.role, chosen.time,
            also=sorted({row.run_id for row in generations if row.run_id != chosen.run_id}),
            matched=_imported_match(chosen.annotation),
        )
        node.generation = generation
        if (chosen.run_id, chosen.activity_id) in self.calls:
            generation.repeated = True
            return node
        self.calls.add((chosen.run_id, chosen.activity_id))
        through: set[str] = {chosen.activity_id}
        for item in self.inputs(chosen, through):
            copy = chosen if item.digest == chosen.digest else None  # the copy's source: made before this run, if by a run
            child = self.node(item.location, [item.digest], item.role, "run" if item.seq == 0 else item.name, depth + 1, copy)
            child.inferred = item.inferred
            generation.inputs.append(child)
        run_steps = self.run_steps.get(chosen.run_id)
        if run_steps is None:
            run_steps = self.run_steps[chosen.run_id] = RunSteps(self.connection, chosen.run_id)
        generation.steps = run_steps.steps(through, self.full)
        return node

    def generations(self, digests: list[str], before: Any = None) -> list[Any]:
        """Every (run, activity) that generated one of these contents: newest first, outermost call first
        (``before``: only runs that started before that generation's run)."""
        entity, generated, activity, run = schema.entity.c, schema.wasgeneratedby.c, schema.activity.c, schema.run.c
        query = (
            select(entity.run_id, entity.id.label("entity_id"), entity.digest, entity.annotation, generated.activity_id, generated.role,
                   generated.time, activity.name, activity.seq, run.program, run.status, run.start_time)
            .join(schema.wasgeneratedby, and_(generated.run_id == entity.run_id, generated.entity_id == entity.id))
            .join(schema.activity, and_(activity.run_id == generated.run_id, activity.id == generated.activity_id))
            .join(schema.run, run.run_id == entity.run_id)
            .where(entity.digest.in_(digests), entity.kind == "file")
        )
        rows = self.connection.execute(query).all()
        latest: dict[str, Any] = {}
        for row in rows:
            if before is not None and (row.run_id == before.run_id or (row.start_time or datetime.min) >= (before.start_time or datetime.min)):
                continue
            best = latest.get(row.run_id)
            if best is None or (row.seq == 0, row.seq) < (best.seq == 0, best.seq):
                latest[row.run_id] = row  # within a run: the outermost recorded call, the script last
        return sorted(latest.values(), key=lambda row: (row.start_time or datetime.min, row.run_id), reverse=True)

    def imported_by_path(self, path: str) -> list[Any]:
        """An imported ctapipe output at this path whose file was gone when its log was imported (so it
        has no digest): the last one, matched by path alone, which the answer says (autoprov.interop)."""
        entity, generated, activity, run = schema.entity.c, schema.wasgeneratedby.c, schema.activity.c, schema.run.c
        query = (
            select(entity.run_id, entity.id.label("entity_id"), entity.digest, entity.annotation, generated.activity_id, generated.role,
                   generated.time, activity.name, activity.seq, run.program, run.status, run.start_time)
            .join(schema.wasgeneratedby, and_(generated.run_id == entity.run_id, generated.entity_id == entity.id))
            .join(schema.activity, and_(activity.run_id == generated.run_id, activity.id == generated.activity_id))
            .join(schema.run, run.run_id == entity.run_id)
            .where(entity.location == path, entity.kind == "file", entity.digest.is_(None), entity.annotation.like('%"gone": true%'))
            .order_by(generated.time.desc()).limit(1)
        )
        return self.connection.execute(query).all()

    def inputs(self, generation: Any, through: set[str]) -> list[Input]:
        """The files this content came from: linked in its run's record, else read by the run before
        (the activities linking them are added to ``through``)."""
        graph = self.graphs.get(generation.run_id)
        if graph is None:
            graph = self.graphs[generation.run_id] = RunGraph.load(self.connection, generation.run_id)
        linked = graph.files_behind(generation.entity_id, generation.digest, through)
        return linked if linked else self.read_before(generation)

    def read_before(self, generation: Any) -> list[Input]:
        """Files the run had read when it generated this content: the activity's own first."""
        entity, used, activity = schema.entity.c, schema.used.c, schema.activity.c
        query = (
            select(entity.location, entity.digest, used.role, used.time, used.activity_id, activity.name, activity.seq)
            .join(schema.used, and_(used.run_id == entity.run_id, used.entity_id == entity.id))
            .join(schema.activity, and_(activity.run_id == used.run_id, activity.id == used.activity_id))
            .where(entity.run_id == generation.run_id, entity.kind == "file", entity.digest.is_not(None),
                   entity.digest != generation.digest)
        )
        if generation.time is not None:
            query = query.where(or_(used.time.is_(None), used.time <= generation.time))
        chosen: dict[str, Any] = {}
        for row in self.connection.execute(query):
            own = row.activity_id == generation.activity_id
            best = chosen.get(row.digest)
            if best is None or (own and best.activity_id != generation.activity_id):
                chosen[row.digest] = row
        rows = sorted(chosen.values(), key=lambda row: (row.activity_id != generation.activity_id, row.location))
        return [Input(row.location, row.digest, row.role, row.name, row.seq, True) for row in rows]

    def last_writer(self, path: str, digest: str | None) -> Writer | None:
        """The run that last wrote ``path`` with content other than ``digest`` (None: never written)."""
        entity, generated, run = schema.entity.c, schema.wasgeneratedby.c, schema.run.c
        query = (
            select(entity.run_id, entity.digest, generated.time, run.program)
            .join(schema.wasgeneratedby, and_(generated.run_id == entity.run_id, generated.entity_id == entity.id))
            .join(schema.run, run.run_id == entity.run_id)
            .where(entity.location == path, entity.kind == "file")
            .order_by(generated.time.desc()).limit(1)
        )
        row = self.connection.execute(query).first()
        if row is None or (digest is not None and row.digest == digest):
            return None
        return Writer(row.run_id, row.program, row.digest, row.time)

    def readers(self, digests: list[str]) -> list[str]:
        entity, used = schema.entity.c, schema.used.c
        query = (
            select(entity.run_id).distinct()
            .join(schema.used, and_(used.run_id == entity.run_id, used.entity_id == entity.id))
            .where(entity.digest.in_(digests), entity.kind == "file").order_by(entity.run_id)
        )
        return [row.run_id for row in self.connection.execute(query)]


def _imported_match(annotation: str | None) -> str | None:
    """How an imported run's output was tied to the file's content (None for autoprov's own runs)."""
    if not annotation or "ctapipe_match" not in annotation:
        return None
    try:
        values = json.loads(annotation)
        return "path-only" if values.get("gone") else values.get("ctapipe_match")
    except (ValueError, AttributeError):
        return None


def lineage_dot(lineage: Lineage) -> str:
    """The cross-run chain as DOT: files (by content), the generating calls grouped by run."""
    from ..export.renderers.dot import quote, short_name
    from .steps import step_lines

    files: dict[str, str] = {}  # node key -> DOT line
    runs: dict[str, dict[str, str]] = {}  # run id -> activity node -> label
    programs: dict[str, str] = {}  # run id -> script file name
    calls: dict[tuple[str, str], str] = {}  # (run, activity) -> node: one node per call, however many files it wrote
    edges: dict[str, None] = {}

    def file_node(node: FileNode) -> str:
        key = f"f_{len(files)}" if node.digest is None else "f_" + node.digest.replace(":", "_")
        if key not in files:
            label = f"{Path(node.path).name}\n{(node.digest or 'no digest')[:24]}"
            if node.changed_after is not None:
                style, label = 'style=filled, fillcolor="#f4cccc", color="#990000"', label + "\nchanged after a run wrote it"
            elif node.generation is None and not node.seen:
                style = 'style=filled, fillcolor="#eeeeee", color="#888888"'
            else:
                style = 'style=filled, fillcolor="#fdf6e3", color="#b0a080"'
            files[key] = f"  {key} [shape=note, {style}, label={quote(label)}, tooltip={quote(node.path)}];"
        return key

    def walk(node: FileNode) -> str:
        key = file_node(node)
        generation = node.generation
        if generation is not None:
            activity = calls.setdefault((generation.run_id, generation.activity_id), f"a_{len(calls)}")
            name = "script (outside recorded calls)" if generation.activity == "run" else short_name(generation.activity)
            runs.setdefault(generation.run_id, {})[activity] = name
            if generation.steps:  # the calls between its inputs and it, as one box under the call
                steps_node = f"{activity}_steps"
                runs[generation.run_id][steps_node] = "\n".join(["steps:", *step_lines(generation.steps, "", 48)])
                edges[f"  {activity} -> {steps_node} [style=dashed, arrowhead=none];"] = None
            programs[generation.run_id] = Path(generation.program or "").name
            edges[f"  {key} -> {activity} [label=wasGeneratedBy];"] = None
            for item in generation.inputs:
                if item.inferred:  # not linked in the record: read by the run before it wrote the product
                    label = quote(f"inferred: {item.role or 'read'} before")
                    edges[f"  {activity} -> {walk(item)} [label={label}, style=dotted, color=\"#cc6633\"];"] = None
                else:
                    edges[f"  {activity} -> {walk(item)} [label={quote(item.role or 'used')}];"] = None
        return key

    walk(lineage.root)
    lines = ["digraph lineage {", "  rankdir=TB;", '  graph [fontname="Helvetica", fontsize=11];',
             '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=8];']
    lines += files.values()
    for number, (run_id, activities) in enumerate(runs.items()):
        lines.append(f"  subgraph cluster_{number} {{")
        lines.append(f"    label={quote(f'run {run_id} ({programs[run_id]})')}; style=dashed;")
        lines += [f'    {node} [shape=box, style="rounded,filled", fillcolor="#dae8fc", label={quote(label)}];' if not node.endswith("_steps")
                  else f'    {node} [shape=box, style=filled, fillcolor="#f5f9ff", color="#8faadc", fontsize=9, label={_left(quote, label)}];'
                  for node, label in activities.items()]
        lines.append("  }")
    lines += edges
    lines.append("}")
    return "\n".join(lines) + "\n"


def _left(quote: Any, text: str) -> str:
    """A DOT label of left-justified lines (``\\l``), so the indentation of nested steps shows."""
    mark = "\ue000"  # a private-use character stands for the line ends while the text is quoted
    return quote(text.replace("\n", mark) + mark).replace(mark, "\\l")
