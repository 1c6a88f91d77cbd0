"""Impact, the forward question: which products, in every indexed run, descend from this content?

When an IRF or a calibration file turns out wrong, a pipeline engineer needs every product made
from it, however many runs away, and the runs to redo.  This is :mod:`.lineage` read the other way,
with the same links, so that a product lies in the impact of a file exactly when the file lies in
the product's lineage: within a run, a product comes from the files its record links it to
backwards (``wasGeneratedBy`` and what the generating call had used by then, ``wasDerivedFrom``,
``hadMember``, through objects, stopping at files: :meth:`.RunGraph.files_behind`), and a product
linked to no file at all comes from every file the run had read before it was written (marked
``inferred``).  Each run that used the content contributes its products; each product's own content
is then followed into the runs that used it, and so on.  A content met twice is expanded once
(``seen``).  ``depth`` counts runs: 1 gives the products of the runs that used the content itself.

Cost: one pass over each affected run's rows (the run graph lineage loads), plus one indexed
query per content followed: 5.4 s for 152 affected runs of the 10,000-run index benchmark, on
shared cores at a load average near 20 (docs/serve.md).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from ..errors import StoreError
from . import schema
from .lineage import MAX_DEPTH, Input, RunGraph
from .query import file_digests

DIGEST = re.compile(r"[a-z0-9_]+:[0-9a-f]{16,}")
ENTITY_ID = re.compile(r"file:([a-z0-9]+_[0-9]+)_([0-9a-f]{16,})")  # file:xxh3_128_<hex>, the PROV id of a content


@dataclass
class Product:
    """A file a run generated from the content above it in the tree, and what was made from it in turn."""

    path: str
    digest: str
    run_id: str
    program: str | None
    activity_id: str
    activity: str  # the generating function's name, or "run" for the script's own code
    time: datetime | None
    role: str | None = None  # how the run used the content above (None: reached through wasDerivedFrom)
    used_by: str | None = None  # the function that used it ("run": the script itself)
    inferred: bool = False  # not linked in the record: the run had read the content before writing this
    seen: bool = False  # this content's descendants are listed earlier in the tree
    products: list[Product] = field(default_factory=list)


@dataclass
class RunToRedo:
    """A run that read affected content: redo it once the runs before it in :attr:`Impact.runs` are redone."""

    run_id: str
    program: str | None
    status: str
    start_time: datetime | None
    read: list[str] = field(default_factory=list)  # the affected files it read (paths as it read them)
    products: int = 0  # how many of its products descend from the content


@dataclass
class Impact:
    """The forward tree of a content: :attr:`products` (each with its own products), :attr:`runs` to redo."""

    target: str  # the path or digest asked about
    digests: list[str]
    exists: bool  # False: a path that is no longer there, followed by the contents recorded at it
    products: list[Product] = field(default_factory=list)
    runs: list[RunToRedo] = field(default_factory=list)  # oldest first: an order in which to redo them
    truncated: str | None = None  # the bound that cut the walk short (depth or size), when one did

    @property
    def affected(self) -> bool:
        """Some recorded run read this content."""
        return bool(self.runs)

    def count(self) -> int:
        """Products in the tree (each content once)."""
        def walk(items: list[Product]) -> int:
            return sum(1 + walk(item.products) for item in items if not item.seen)

        return walk(self.products)


def impact(connection: Connection, target: str | os.PathLike, depth: int | None = None, limit: int | None = None) -> Impact:
    """The impact of ``target``: a file path (its current content; a gone file, the contents
    recorded at its path), a digest ``<algorithm>:<hex>`` or a file entity id ``file:<algorithm>_<hex>``.

    ``depth`` bounds the runs followed (None: all, up to :data:`.lineage.MAX_DEPTH`); ``limit``
    bounds the products listed; a bound that cut the tree is named in :attr:`Impact.truncated`.
    """
    text = os.fspath(target)
    digests, exists = _digests(connection, text)
    walker = _Walker(connection, depth if depth is not None else MAX_DEPTH, limit)
    result = Impact(text, digests, exists)
    result.products = walker.products(digests, 1)
    result.runs = walker.runs_to_redo()
    result.truncated = walker.truncated
    return result


def _digests(connection: Connection, text: str) -> tuple[list[str], bool]:
    """The contents asked about, and whether a path names an existing file."""
    entity = ENTITY_ID.fullmatch(text)
    if entity:
        return [f"{entity.group(1)}:{entity.group(2)}"], False
    path = Path(text)
    if DIGEST.fullmatch(text) and not path.exists():
        return [text], False
    absolute = path.absolute()
    digests = file_digests(connection, absolute)
    if digests:
        return digests, True
    if absolute.exists():
        raise StoreError(f"{text}: cannot read this file to hash it")
    # Gone: every content recorded at this path (a raw file deleted since, or a product overwritten).
    column = schema.entity.c
    rows = connection.execute(select(column.digest).distinct().where(
        column.location == str(absolute), column.kind == "file", column.digest.is_not(None)).order_by(column.digest))
    return [row.digest for row in rows], False


class _RunProducts:
    """One run's file products, each with the contents it comes from (as lineage would trace it back)."""

    def __init__(self, connection: Connection, run_id: str) -> None:
        graph = RunGraph.load(connection, run_id)
        reads = [(entity_id, role, used_at, activity_id) for activity_id, uses in graph.used.items()
                 for entity_id, role, used_at in uses if entity_id in graph.files]
        self.by_input: dict[str, list[tuple[str, Input]]] = {}  # input digest -> [(product entity, how it was used)]
        self.generation: dict[str, tuple[str, datetime | None]] = {}  # product entity -> (activity, time)
        self.files = graph.files
        self.activities = graph.activities
        for entity_id, (location, digest) in graph.files.items():
            generations = graph.generated_by.get(entity_id)
            if not generations:
                continue
            activity_id, generated_at = min(generations, key=lambda item: self._outermost(item[0]))
            self.generation[entity_id] = (activity_id, generated_at)
            inputs = graph.files_behind(entity_id, digest) or self._read_before(reads, graph, digest, activity_id, generated_at)
            for item in inputs:
                self.by_input.setdefault(item.digest, []).append((entity_id, item))

    def _outermost(self, activity_id: str) -> tuple[bool, int]:
        """Lineage names the outermost recorded call that generated a file, the script's own code last."""
        seq = self.activities.get(activity_id, ("run", 0))[1]
        return seq == 0, seq

    def _read_before(self, reads: list, graph: RunGraph, digest: str, activity_id: str, generated_at: datetime | None) -> list[Input]:
        """The files the run had read by the time it wrote the product (lineage's ``read_before``)."""
        found: dict[str, Input] = {}
        for entity_id, role, used_at, reader in sorted(reads, key=lambda read: read[3] != activity_id):
            location, content = graph.files[entity_id]
            if content == digest or content in found or (generated_at is not None and used_at is not None and used_at > generated_at):
                continue
            name, seq = graph.activities.get(reader, ("run", 0))
            found[content] = Input(location, content, role, name, seq, True)
        return list(found.values())


class _Walker:
    def __init__(self, connection: Connection, depth: int, limit: int | None) -> None:
        self.connection = connection
        self.depth = depth
        self.limit = limit
        self.listed = 0
        self.truncated: str | None = None
        self.expanded: set[str] = set()  # contents whose products are in the tree
        self.runs: dict[str, _RunProducts] = {}
        self.readers: dict[str, RunToRedo] = {}

    def products(self, digests: list[str], level: int) -> list[Product]:
        """The products of every run that used one of these contents, each followed further."""
        if self.limit is not None and self.listed >= self.limit:
            self.truncated = f"{self.limit} products"
            return []
        self.expanded.update(digests)
        found: list[Product] = []
        visited: set[tuple[str, str]] = set()  # (run, content): a content read under two paths counts once
        for row in self._users(digests):
            redo = self.readers.setdefault(row.run_id, RunToRedo(row.run_id, row.program, row.status, row.start_time))
            if row.location not in redo.read:
                redo.read.append(row.location)
            if (row.run_id, row.digest) in visited:
                continue
            visited.add((row.run_id, row.digest))
            run = self.runs.get(row.run_id)
            if run is None:
                run = self.runs[row.run_id] = _RunProducts(self.connection, row.run_id)
            for entity_id, used in run.by_input.get(row.digest, ()):
                if self.limit is not None and self.listed >= self.limit:
                    self.truncated = f"{self.limit} products"
                    return found
                found.append(self._product(run, row, entity_id, used))
        for product in found:
            if product.digest in self.expanded:
                product.seen = True
            elif level < self.depth:
                product.products = self.products([product.digest], level + 1)
            elif self._users([product.digest]):
                self.truncated = f"depth {self.depth}"
        return found

    def _product(self, run: _RunProducts, row, entity_id: str, used: Input) -> Product:
        location, digest = run.files[entity_id]
        activity_id, generated_at = run.generation[entity_id]
        name, seq = run.activities.get(activity_id, ("run", 0))
        self.listed += 1
        self.readers[row.run_id].products += 1
        return Product(location, digest, row.run_id, row.program, activity_id, "run" if seq == 0 else name, generated_at,
                       used.role, None if used.seq < 0 else ("run" if used.seq == 0 else used.name), used.inferred)

    def _users(self, digests: list[str]) -> list:
        """Each (run, content) where a run used one of these contents: oldest run first."""
        entity, used, run = schema.entity.c, schema.used.c, schema.run.c
        query = (
            select(entity.run_id, entity.digest, entity.location, run.program, run.status, run.start_time).distinct()
            .join(schema.used, and_(used.run_id == entity.run_id, used.entity_id == entity.id))
            .join(schema.run, run.run_id == entity.run_id)
            .where(entity.digest.in_(digests), entity.kind == "file")
            .order_by(run.start_time, entity.run_id, entity.location)
        )
        return list(self.connection.execute(query))

    def runs_to_redo(self) -> list[RunToRedo]:
        return sorted(self.readers.values(), key=lambda item: (item.start_time or datetime.min, item.run_id))
