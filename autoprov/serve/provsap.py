"""IVOA ProvSAP over the index: the request's parameters, and the graph of processing steps it asks for.

``GET /provsap?ID=...&DEPTH=1|n|ALL&DIRECTION=BACK|FORWARD&RESPONSEFORMAT=...&MODEL=IVOA|W3C`` with
the flags ``AGENTS``, ``MEMBERS``, ``DESCRIPTIONS`` (0/1/2), ``CONFIGURATION``, ``ATTRIBUTES``.

``ID`` names a file content (``file:xxh3_128_<hex>``, a digest ``xxh3_128:<hex>``, or a path: the
file's current content on the service's machine, else the contents recorded at that path), an
activity (``urn:autoprov:run:<run-id>#act_<n>``, or ``<run-id>#act_<n>``) or a run (its id, a
unique prefix, ``latest``; ``<run-id>#session`` is the run's own activity).  The answer is the
cross-run graph the index records around it: files (content-addressed, one entity in every run)
and the processing steps that generated and used them.  ``BACK`` follows the links ``autoprov
lineage`` follows, ``FORWARD`` those of ``autoprov impact``, so the service and the command line
agree.  ``DEPTH`` counts processing steps from the ID (``ALL``: up to the bound, 200).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from ..errors import StoreError
from ..index import schema
from ..index.query import RunInfo, resolve_run
from .access import Bounds

FORMATS = {"PROV-JSON": "application/json", "PROV-XML": "application/xml", "PROV-SVG": "image/svg+xml", "PROV-PNG": "image/png"}
FLAGS = ("AGENTS", "MEMBERS", "CONFIGURATION", "ATTRIBUTES")
PARAMETERS = {"ID", "DEPTH", "DIRECTION", "RESPONSEFORMAT", "MODEL", "DESCRIPTIONS", *FLAGS}
NODE = re.compile(r"(?:urn:autoprov:run:)?([A-Za-z0-9._-]+)#([A-Za-z]+)_?(\d*)")
ENTITY_ID = re.compile(r"file:([a-z0-9]+_[0-9]+)_([0-9a-f]{16,})")
DIGEST = re.compile(r"[a-z0-9_]+:[0-9a-f]{16,}")


class BadRequest(Exception):
    """A parameter the service cannot answer (HTTP 400, with this reason)."""


class NotFound(Exception):
    """An ID the index does not hold (HTTP 404)."""


@dataclass(frozen=True)
class Query:
    id: str
    depth: int
    direction: str = "BACK"
    format: str = "PROV-JSON"
    model: str = "IVOA"
    descriptions: int = 0
    agents: bool = False
    members: bool = False
    configuration: bool = False
    attributes: bool = True


def parse(params: Any, bounds: Bounds) -> Query:
    """The query named by the request's parameters (names are case-insensitive, as in IVOA DALI)."""
    given: dict[str, str] = {}
    for name, value in params.multi_items():
        key = name.upper()
        if key not in PARAMETERS:
            raise BadRequest(f"unknown parameter {name!r}: ProvSAP takes {', '.join(sorted(PARAMETERS))}")
        if key in given:
            raise BadRequest(f"parameter {key} given twice")
        given[key] = value.strip()
    if not given.get("ID"):
        raise BadRequest("ID is required: an entity or activity id, a file digest or path, or a run id")
    depth_text = given.get("DEPTH", "1").upper()
    if depth_text == "ALL":
        depth = bounds.depth
    elif depth_text.isdigit() and int(depth_text) >= 1:
        depth = int(depth_text)
        if depth > bounds.depth:
            raise BadRequest(f"DEPTH={depth} is above this service's bound of {bounds.depth} steps: ask for ALL (bounded) or less")
    else:
        raise BadRequest(f"DEPTH={given['DEPTH']!r}: give a whole number of steps, 1 or more, or ALL")
    direction = _choice(given, "DIRECTION", ("BACK", "FORWARD"), "BACK")
    response = _choice(given, "RESPONSEFORMAT", tuple(FORMATS), "PROV-JSON")
    model = _choice(given, "MODEL", ("IVOA", "W3C"), "IVOA")
    descriptions = _choice(given, "DESCRIPTIONS", ("0", "1", "2"), "0")
    flags = {name: _choice(given, name, ("0", "1", "TRUE", "FALSE"), "1" if name == "ATTRIBUTES" else "0") in ("1", "TRUE") for name in FLAGS}
    return Query(given["ID"], depth, direction, response, model, int(descriptions), flags["AGENTS"], flags["MEMBERS"],
                 flags["CONFIGURATION"], flags["ATTRIBUTES"])


def _choice(given: dict[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = given.get(name, default).upper()
    if value not in allowed:
        raise BadRequest(f"{name}={given[name]!r}: give one of {', '.join(allowed)}")
    return value


@dataclass
class Step:
    """A processing step: an activity of a run."""

    run_id: str
    activity_id: str  # as in the index: run:act_<n>, run:session
    name: str  # the function's qualified name, "run" for the script's own code
    program: str | None
    time: datetime | None


@dataclass
class Graph:
    """An answer: files and steps, and the used / wasGeneratedBy links between them."""

    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # entity id -> (path, digest)
    steps: dict[tuple[str, str], Step] = field(default_factory=dict)  # (run, activity) -> step
    used: dict[tuple[tuple[str, str], str], str | None] = field(default_factory=dict)  # (step, file) -> role
    generated: dict[tuple[str, tuple[str, str]], str | None] = field(default_factory=dict)  # (file, step) -> role
    focus: str | None = None  # the node asked about (entity id, or "run|activity")
    bound: str | None = None  # the bound that cut the answer short
    limit: int = 5000
    depth: int = 1  # the steps asked for

    def file(self, path: str, digest: str) -> str | None:
        entity_id = "file:" + digest.replace(":", "_")
        if entity_id not in self.files:
            if self._full():
                return None
            self.files[entity_id] = (path, digest)
        return entity_id

    def step(self, step: Step) -> tuple[str, str] | None:
        key = (step.run_id, step.activity_id)
        if key not in self.steps:
            if self._full():
                return None
            self.steps[key] = step
        return key

    def _full(self) -> bool:
        if len(self.files) + len(self.steps) >= self.limit:
            self.bound = f"size: {self.limit} nodes"
            return True
        return False

    def runs(self) -> list[str]:
        return sorted({run_id for run_id, _ in self.steps})


def answer(connection: Connection, query: Query, bounds: Bounds) -> Graph:
    """The graph ProvSAP returns for ``query``: BACK as lineage traces, FORWARD as impact does."""
    graph = Graph(limit=bounds.nodes, depth=query.depth)
    kind, value = resolve(connection, query.id)
    if kind == "content":
        digests, path = value
        graph.focus = graph.file(path, digests[0])
        _from_content(connection, graph, digests, path, query.direction, query.depth)
    else:
        info, activity_id = value
        step = _step(connection, info, activity_id)
        key = graph.step(step)
        graph.focus = f"{key[0]}|{key[1]}" if key else None
        for path, digest in files_of(connection, info.run_id, activity_id, query.direction):
            entity_id = graph.file(path, digest)
            if key is None or entity_id is None:
                break
            if query.direction == "BACK":
                graph.used.setdefault((key, entity_id), None)
            else:
                graph.generated.setdefault((entity_id, key), None)
            if query.depth > 1:
                _from_content(connection, graph, [digest], path, query.direction, query.depth - 1)
            elif _continues(connection, digest, query.direction):
                graph.bound = f"depth: {query.depth} steps"
    return graph


def resolve(connection: Connection, text: str) -> tuple[str, Any]:
    """``("content", (digests, path))`` or ``("activity", (RunInfo, activity id))``; NotFound otherwise."""
    entity = ENTITY_ID.fullmatch(text)
    digest = f"{entity.group(1)}:{entity.group(2)}" if entity else (text if DIGEST.fullmatch(text) else None)
    if digest is not None:
        path = _recorded_path(connection, digest)
        if path is None:
            raise NotFound(f"ID {text!r}: no run in the index used or generated this content")
        return "content", ([digest], path)
    node = NODE.fullmatch(text)
    if node:
        info = _run(connection, node.group(1), text)
        kind, number = node.group(2), node.group(3)
        if kind == "session" and not number:
            return "activity", (info, "run:session")
        if kind == "act" and number:
            exists = connection.execute(select(schema.activity.c.id).where(
                schema.activity.c.run_id == info.run_id, schema.activity.c.id == f"run:act_{number}")).first()
            if exists is None:
                raise NotFound(f"ID {text!r}: run {info.run_id} has no activity act_{number}")
            return "activity", (info, f"run:act_{number}")
        raise BadRequest(f"ID {text!r}: ProvSAP here answers for files, activities (#act_<n>) and runs (#session), not {kind} entities")
    if text.startswith("/"):
        return "content", _path_content(connection, text)
    try:
        return "activity", (resolve_run(connection, text, "ID"), "run:session")
    except StoreError:
        raise NotFound(f"ID {text!r}: no run, activity or file content of the index has this id "
                       "(give a run id, an activity or entity id, a digest or an absolute path)") from None


def _run(connection: Connection, run_id: str, text: str) -> RunInfo:
    try:
        return resolve_run(connection, run_id, "ID")
    except StoreError:
        raise NotFound(f"ID {text!r}: no run {run_id} in the index") from None


def _recorded_path(connection: Connection, digest: str) -> str | None:
    """A path this content was recorded at (the latest), or None when the index never saw it."""
    entity = schema.entity.c
    row = connection.execute(select(entity.location).where(entity.digest == digest, entity.kind == "file")
                             .order_by(entity.generated_at_time.desc()).limit(1)).first()
    return row.location if row else None


def _path_content(connection: Connection, text: str) -> tuple[list[str], str]:
    from ..index.query import file_digests

    digests = file_digests(connection, Path(text))
    recorded = [d for d in digests if _recorded_path(connection, d)]
    if recorded:
        return recorded, text
    entity = schema.entity.c
    row = connection.execute(select(entity.digest).where(entity.location == text, entity.kind == "file", entity.digest.is_not(None))
                             .order_by(entity.generated_at_time.desc()).limit(1)).first()
    if row is None:
        raise NotFound(f"ID {text!r}: no run in the index read or wrote this file's content or path")
    return [row.digest], text


def _step(connection: Connection, info: RunInfo, activity_id: str) -> Step:
    activity = schema.activity.c
    row = connection.execute(select(activity.name, activity.seq, activity.start_time).where(
        activity.run_id == info.run_id, activity.id == activity_id)).first()
    name = "run" if row is None or row.seq == 0 else row.name
    return Step(info.run_id, activity_id, name, info.program, row.start_time if row else info.start_time)


def files_of(connection: Connection, run_id: str, activity_id: str, direction: str) -> list[tuple[str, str]]:
    """The files a step read (BACK: not written by its run before) or wrote (FORWARD); a run's
    session stands for the whole run."""
    entity = schema.entity.c
    table = schema.used if direction == "BACK" else schema.wasgeneratedby
    query = (select(entity.location, entity.digest).distinct()
             .join(table, and_(table.c.run_id == entity.run_id, table.c.entity_id == entity.id))
             .where(entity.run_id == run_id, entity.kind == "file", entity.digest.is_not(None)))
    if activity_id != "run:session":
        query = query.where(table.c.activity_id == activity_id)
    rows = connection.execute(query.order_by(entity.location)).all()
    if direction == "BACK":
        written = {row.digest for row in connection.execute(select(entity.digest).join(
            schema.wasgeneratedby, and_(schema.wasgeneratedby.c.run_id == entity.run_id, schema.wasgeneratedby.c.entity_id == entity.id))
            .where(entity.run_id == run_id))}
        rows = [row for row in rows if row.digest not in written]
    return [(row.location, row.digest) for row in rows]


def _continues(connection: Connection, digest: str, direction: str) -> bool:
    """Whether the walk would go on from this content (to say that a depth bound cut it)."""
    entity = schema.entity.c
    table = schema.wasgeneratedby if direction == "BACK" else schema.used
    return connection.execute(select(entity.run_id).join(table, and_(table.c.run_id == entity.run_id, table.c.entity_id == entity.id))
                              .where(entity.digest == digest, entity.kind == "file").limit(1)).first() is not None


def _from_content(connection: Connection, graph: Graph, digests: list[str], path: str, direction: str, depth: int) -> None:
    if direction == "BACK":
        from ..index.lineage import trace_content

        _add_lineage(graph, trace_content(connection, digests, path).root, depth)
    else:
        from ..index.impact import impact

        result = impact(connection, digests[0] if len(digests) == 1 else path, depth=depth, limit=graph.limit)
        _add_impact(graph, graph.file(path, digests[0]), result.products)
        if result.truncated and graph.bound is None:
            graph.bound = f"depth: {graph.depth} steps" if result.truncated.startswith("depth") else f"size: {graph.limit} nodes"


def _add_lineage(graph: Graph, node: Any, depth: int) -> None:
    entity_id = graph.file(node.path, node.digest) if node.digest else None
    generation = node.generation
    if entity_id is None or generation is None:
        return
    if depth == 0:
        graph.bound = f"depth: {graph.depth} steps"
        return
    key = graph.step(Step(generation.run_id, generation.activity_id, generation.activity, generation.program, generation.time))
    if key is None:
        return
    graph.generated.setdefault((entity_id, key), generation.role)
    for item in generation.inputs:
        source = graph.file(item.path, item.digest) if item.digest else None
        if source is None:
            continue
        graph.used.setdefault((key, source), item.role)
        _add_lineage(graph, item, depth - 1)


def _add_impact(graph: Graph, parent: str | None, products: list[Any]) -> None:
    for product in products:
        key = graph.step(Step(product.run_id, product.activity_id, product.activity, product.program, product.time))
        entity_id = graph.file(product.path, product.digest)
        if parent is None or key is None or entity_id is None:
            return
        graph.used.setdefault((key, parent), product.role)
        graph.generated.setdefault((entity_id, key), None)
        _add_impact(graph, entity_id, product.products)
