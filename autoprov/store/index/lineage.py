"""Lineage of a file across runs: what produced its current content, from what, recursively.

A file is identified by its current content digest (a file that is gone, by the last content a
run wrote at its path).  The run that generated that content (the
latest, when several did) and the activity in it are its origin; its inputs are the files that run
had read by the time it wrote the file (the generating activity's own inputs first, then what the
run read before, such as DL3 files that gammapy opens lazily outside any recorded call).  Each input
is then traced the same way, down to files no recorded run produced: raw data, or a file whose
content changed after a run wrote it (edited by hand), which breaks the chain and is reported with
the run that wrote the path last.  A content met twice is expanded once (``seen``), and so are the
inputs of a call that wrote several of the files (``repeated``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection

from . import schema
from .query import file_digests

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


@dataclass
class FileNode:
    path: str
    digest: str | None
    role: str | None = None  # how the consumer used it
    used_by: str | None = None  # the consuming activity's function name ("run": the script itself)
    generation: Generation | None = None
    seen: bool = False  # expanded earlier in this tree
    changed_after: Writer | None = None  # produced by no run, but a run wrote this path with other content

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


def trace(connection: Connection, path: Path) -> Lineage:
    """The lineage tree of the file at ``path``, as it is now."""
    absolute = path.absolute()
    digests = file_digests(connection, absolute)
    tracer = _Tracer(connection)
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


class _Tracer:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.expanded: set[str] = set()  # contents traced
        self.calls: set[tuple[str, str]] = set()  # (run, activity) whose inputs were traced

    def node(self, path: str, digests: list[str], role: str | None, used_by: str | None, depth: int) -> FileNode:
        node = FileNode(path, digests[0] if digests else None, role, used_by)
        generations = self.generations(digests)
        if not generations:
            node.changed_after = self.last_writer(path, node.digest)
            return node
        chosen = generations[0]
        node.digest = chosen.digest
        if chosen.digest in self.expanded or depth >= MAX_DEPTH:
            node.seen = True
            return node
        self.expanded.add(chosen.digest)
        generation = Generation(
            chosen.run_id, chosen.program, chosen.status, chosen.activity_id,
            "run" if chosen.seq == 0 else chosen.name, chosen.role, chosen.time,
            also=sorted({row.run_id for row in generations if row.run_id != chosen.run_id}),
        )
        node.generation = generation
        if (chosen.run_id, chosen.activity_id) in self.calls:
            generation.repeated = True
            return node
        self.calls.add((chosen.run_id, chosen.activity_id))
        for item in self.inputs(chosen):
            generation.inputs.append(self.node(item.location, [item.digest], item.role, "run" if item.seq == 0 else item.name, depth + 1))
        return node

    def generations(self, digests: list[str]) -> list[Any]:
        """Every (run, activity) that generated one of these contents: newest first, outermost call first."""
        entity, generated, activity, run = schema.entity.c, schema.wasgeneratedby.c, schema.activity.c, schema.run.c
        query = (
            select(entity.run_id, entity.id.label("entity_id"), entity.digest, generated.activity_id, generated.role,
                   generated.time, activity.name, activity.seq, run.program, run.status, run.start_time)
            .join(schema.wasgeneratedby, and_(generated.run_id == entity.run_id, generated.entity_id == entity.id))
            .join(schema.activity, and_(activity.run_id == generated.run_id, activity.id == generated.activity_id))
            .join(schema.run, run.run_id == entity.run_id)
            .where(entity.digest.in_(digests), entity.kind == "file")
        )
        rows = self.connection.execute(query).all()
        latest: dict[str, Any] = {}
        for row in rows:
            best = latest.get(row.run_id)
            if best is None or (row.seq == 0, row.seq) < (best.seq == 0, best.seq):
                latest[row.run_id] = row  # within a run: the outermost recorded call, the script last
        return sorted(latest.values(), key=lambda row: (row.start_time or datetime.min, row.run_id), reverse=True)

    def inputs(self, generation: Any) -> list[Any]:
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
        return sorted(chosen.values(), key=lambda row: (row.activity_id != generation.activity_id, row.location))

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


def lineage_dot(lineage: Lineage) -> str:
    """The cross-run chain as DOT: files (by content), the generating calls grouped by run."""
    from ...export.dot import quote, short_name

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
            programs[generation.run_id] = Path(generation.program or "").name
            edges[f"  {key} -> {activity} [label=wasGeneratedBy];"] = None
            for item in generation.inputs:
                edges[f"  {activity} -> {walk(item)} [label={quote(item.role or 'used')}];"] = None
        return key

    walk(lineage.root)
    lines = ["digraph lineage {", "  rankdir=TB;", '  graph [fontname="Helvetica", fontsize=11];',
             '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=8];']
    lines += files.values()
    for number, (run_id, activities) in enumerate(runs.items()):
        lines.append(f"  subgraph cluster_{number} {{")
        lines.append(f"    label={quote(f'run {run_id} ({programs[run_id]})')}; style=dashed;")
        lines += [f'    {node} [shape=box, style="rounded,filled", fillcolor="#dae8fc", label={quote(label)}];' for node, label in activities.items()]
        lines.append("  }")
    lines += edges
    lines.append("}")
    return "\n".join(lines) + "\n"
