"""Outputs of two runs paired by what produced them, for ``autoprov diff``.

Two runs of one program that write into different folders share no output path, and when a
parameter changed they share no content either: matched by path and by content they are all
"only in A" and "only in B".  Yet each output is still the same *product*: the file that the same
call (function and occurrence, as activities are matched: the 2nd ``Fit.run`` with the 2nd) wrote
under the same role (``file``, ``models_file``), with the same file name when the call wrote
several.  Outputs left unpaired by path and content are paired so.

For each pair whose content differs, the parameter changes *upstream* of it are the changed
activities among the calls its record leads back to (``wasGeneratedBy``/``used``, derivations and
memberships, through objects and through the run's own files), with the calls nested in them and
the calls they are nested in: why this product differs, without the changes that did not reach it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from . import schema
from .lineage import RunGraph
from .steps import RunSteps


@dataclass
class ProductPair:
    """One product of both runs: the same call and role wrote it, at other paths."""

    producer: str  # "Datasets.write #1 datasets_file"
    a: str  # the paths in each run
    b: str
    digest_a: str | None
    digest_b: str | None
    upstream: list[Any] = field(default_factory=list)  # the ActivityChanges upstream of it (diff.py)

    @property
    def same_content(self) -> bool:
        return self.digest_a == self.digest_b


class _Outputs:
    """One run's outputs (final content of each path written) with the call and role that wrote them."""

    def __init__(self, connection: Connection, run_id: str) -> None:
        self.connection, self.run_id = connection, run_id
        entity, generated, activity = schema.entity.c, schema.wasgeneratedby.c, schema.activity.c
        rows = connection.execute(
            select(entity.id, entity.location, entity.version, generated.time, generated.role, activity.id.label("activity_id"),
                   activity.name, activity.seq)
            .join(schema.wasgeneratedby, and_(generated.run_id == entity.run_id, generated.entity_id == entity.id))
            .join(schema.activity, and_(activity.run_id == generated.run_id, activity.id == generated.activity_id))
            .where(entity.run_id == run_id, entity.kind == "file")).all()
        occurrence: dict[str, int] = {}
        seen: Counter[str] = Counter()
        for row in connection.execute(select(activity.id, activity.name).where(activity.run_id == run_id, activity.seq > 0)
                                      .order_by(activity.seq)):
            seen[row.name] += 1
            occurrence[row.id] = seen[row.name]
        self.final: dict[str, Any] = {}  # path -> the row of its final content's generation (innermost call kept)
        for row in sorted(rows, key=lambda r: (r.version or 0, str(r.time), -r.seq)):
            self.final[row.location] = row
        self.occurrence = occurrence
        self._graph: RunGraph | None = None
        self._steps: RunSteps | None = None

    def producer(self, path: str, with_name: bool) -> tuple | None:
        row = self.final.get(path)
        if row is None:
            return None
        call = ("script", 0) if row.seq == 0 else (row.name, self.occurrence.get(row.activity_id, 0))
        return (*call, row.role, PurePath(path).name if with_name else None)

    def upstream(self, path: str) -> set[str]:
        """The activities the final content of ``path`` leads back to in this run's record."""
        if self._graph is None:
            self._graph = RunGraph.load(self.connection, self.run_id)
            self._steps = RunSteps(self.connection, self.run_id)
        graph = self._graph
        start = self.final[path].id
        reached: set[str] = set()
        seen, todo = {start}, [start]
        while todo:
            current = todo.pop()
            nearby = list(graph.sources.get(current, ()))
            for activity_id, generated_at in graph.generated_by.get(current, ()):
                reached.add(activity_id)
                nearby += [used for used, _, used_at in graph.used.get(activity_id, ())
                           if generated_at is None or used_at is None or used_at <= generated_at]
            for entity_id in nearby:
                if entity_id not in seen:
                    seen.add(entity_id)
                    todo.append(entity_id)
        assert self._steps is not None
        return self._steps.closure(reached)


def pair_products(connection: Connection, run_a: str, run_b: str, outputs: Any, changed: list[Any]) -> None:
    """Pair the outputs ``outputs`` (a diff's FileChanges) left only in A and only in B by the call
    and role that wrote them, and give every pair that differs its upstream parameter changes."""
    left, right = _Outputs(connection, run_a), _Outputs(connection, run_b)
    for with_name in (True, False):  # the same file name first; then by order, when the call wrote several
        by_producer: dict[tuple, list[Any]] = {}
        for change in outputs.only_b:
            key = right.producer(change.name, with_name)
            if key is not None:
                by_producer.setdefault(key, []).append(change)
        kept = []
        for change in outputs.only_a:
            key = left.producer(change.name, with_name)
            candidates = by_producer.get(key) if key is not None else None
            if not candidates:
                kept.append(change)
                continue
            other = candidates.pop(0)
            outputs.only_b.remove(other)
            name, occurrence, role, _ = key
            producer = "the script itself" if name == "script" else f"{_short(name)} #{occurrence}"
            outputs.products.append(ProductPair(f"{producer} {role or 'generated'}", change.name, other.name, change.a, other.b))
        outputs.only_a = kept
    for pair in outputs.products:
        if not pair.same_content:
            pair.upstream = _upstream(changed, left.upstream(pair.a), right.upstream(pair.b))
    outputs.upstream = {change.name: _upstream(changed, left.upstream(change.name), right.upstream(change.name))
                        for change in outputs.content if change.name in left.final and change.name in right.final}


def _upstream(changed: list[Any], a: set[str], b: set[str]) -> list[Any]:
    return [change for change in changed if change.a in a or change.b in b]


def _short(name: str) -> str:
    from ..export.renderers.dot import short_name

    return short_name(name)
