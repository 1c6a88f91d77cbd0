"""What differs between two runs: status, command, script, environment, activities, files.

Activities are matched by function and occurrence (the 2nd call of ``Fit.run`` in one run with the
2nd in the other), so an extra call shows as added without shifting every later match; a matched
pair differs when a parameter value or its status does.  Files are matched by path first (same
path, other content), then by content (same content, other path); what is left is only in one run.
A run's inputs are the files it read that it had not written itself; its outputs are the final
content of each file it wrote.  Times, durations and run ids always differ and are not compared.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from . import schema
from .query import RunInfo

ENVIRONMENT_FIELDS = (("python", "python_version"), ("python implementation", "python_implementation"),
                      ("platform", "platform"), ("autoprov", "autoprov_version"), ("engine", "engine"))


@dataclass
class Change:
    """One compared value: what it is, in run A and in run B (None: absent there)."""

    name: str
    a: Any
    b: Any


@dataclass
class ActivityChange:
    name: str
    occurrence: int  # 1 for the first call of this function in the run
    a: str  # activity ids in each run
    b: str
    changes: list[Change] = field(default_factory=list)


@dataclass
class FileChanges:
    """Files compared by path, then by content."""

    same: int = 0
    content: list[Change] = field(default_factory=list)  # name = path; a, b = digests
    moved: list[Change] = field(default_factory=list)  # name = digest; a, b = paths
    only_a: list[Change] = field(default_factory=list)  # name = path; a = digest
    only_b: list[Change] = field(default_factory=list)  # name = path; b = digest
    products: list[Any] = field(default_factory=list)  # outputs: pairing.ProductPair, by the call and role that wrote them
    upstream: dict[str, list[ActivityChange]] = field(default_factory=dict)  # outputs: path of a content change -> changes upstream

    @property
    def equal(self) -> bool:
        return not (self.content or self.moved or self.only_a or self.only_b or self.products)


@dataclass
class RunDiff:
    a: RunInfo
    b: RunInfo
    run: list[Change] = field(default_factory=list)  # status, exit code, command, script
    environment: list[Change] = field(default_factory=list)  # python, platform, packages
    activities: dict[str, int] = field(default_factory=dict)  # counts in a and b
    added: list[tuple[str, int]] = field(default_factory=list)  # (name, occurrence) only in b
    removed: list[tuple[str, int]] = field(default_factory=list)  # only in a
    changed: list[ActivityChange] = field(default_factory=list)
    inputs: FileChanges = field(default_factory=FileChanges)
    outputs: FileChanges = field(default_factory=FileChanges)

    @property
    def equal(self) -> bool:
        return not (self.run or self.environment or self.added or self.removed or self.changed) and self.inputs.equal and self.outputs.equal


class _Snapshot:
    """The rows of one run that a diff compares."""

    def __init__(self, connection: Connection, info: RunInfo) -> None:
        run_id = info.run_id
        self.info = info
        self.row = connection.execute(select(schema.run).where(schema.run.c.run_id == run_id)).one()
        self.packages = dict(connection.execute(
            select(schema.run_package.c.name, schema.run_package.c.version).where(schema.run_package.c.run_id == run_id)).all())
        activity = schema.activity.c
        self.activities = connection.execute(
            select(activity.id, activity.name, activity.status).where(activity.run_id == run_id, activity.seq > 0).order_by(activity.seq)).all()
        self.parameters: dict[str, dict[str, str | None]] = {}
        parameter = schema.parameter.c
        for row in connection.execute(select(parameter.activity_id, parameter.name, parameter.value).where(parameter.run_id == run_id)):
            self.parameters.setdefault(row.activity_id, {})[row.name] = row.value
        self.inputs, self.outputs = self._files(connection, run_id)

    @staticmethod
    def _files(connection: Connection, run_id: str) -> tuple[dict[str, str | None], dict[str, str | None]]:
        entity = schema.entity.c
        def links(table: Any) -> list[Any]:
            return connection.execute(
                select(entity.id, entity.location, entity.digest, entity.version, table.c.time)
                .join(table, (table.c.run_id == entity.run_id) & (table.c.entity_id == entity.id))
                .where(entity.run_id == run_id, entity.kind == "file")).all()
        generated = links(schema.wasgeneratedby)
        written = {row.id for row in generated}
        inputs: dict[str, str | None] = {}
        for row in sorted(links(schema.used), key=lambda r: (r.version or 0, str(r.time))):
            if row.id not in written:
                inputs.setdefault(row.location, row.digest)  # the content as found
        outputs: dict[str, str | None] = {}
        for row in sorted(generated, key=lambda r: (r.version or 0, str(r.time))):
            outputs[row.location] = row.digest  # the final content
        return inputs, outputs


def diff_runs(connection: Connection, a: RunInfo, b: RunInfo) -> RunDiff:
    left, right = _Snapshot(connection, a), _Snapshot(connection, b)
    result = RunDiff(a, b)
    for name, column in (("status", "status"), ("exit code", "exit_code"), ("command", "command"), ("script", "script_digest")):
        _compare(result.run, name, getattr(left.row, column), getattr(right.row, column))
    for name, column in ENVIRONMENT_FIELDS:
        _compare(result.environment, name, getattr(left.row, column), getattr(right.row, column))
    for package in sorted(set(left.packages) | set(right.packages), key=str.lower):
        _compare(result.environment, package, left.packages.get(package), right.packages.get(package))
    result.activities = {"a": len(left.activities), "b": len(right.activities)}
    _compare_activities(result, left, right)
    result.inputs = compare_files(left.inputs, right.inputs)
    result.outputs = compare_files(left.outputs, right.outputs)
    from .pairing import pair_products

    pair_products(connection, a.run_id, b.run_id, result.outputs, result.changed)
    return result


def _compare(into: list[Change], name: str, a: Any, b: Any) -> None:
    if a != b:
        into.append(Change(name, a, b))


def _occurrences(snapshot: _Snapshot) -> dict[tuple[str, int], Any]:
    seen: Counter[str] = Counter()
    keyed = {}
    for row in snapshot.activities:
        seen[row.name] += 1
        keyed[(row.name, seen[row.name])] = row
    return keyed


def _compare_activities(result: RunDiff, left: _Snapshot, right: _Snapshot) -> None:
    a, b = _occurrences(left), _occurrences(right)
    result.removed = [key for key in a if key not in b]
    result.added = [key for key in b if key not in a]
    for key, row_a in a.items():
        row_b = b.get(key)
        if row_b is None:
            continue
        change = ActivityChange(key[0], key[1], row_a.id, row_b.id)
        _compare(change.changes, "status", row_a.status, row_b.status)
        params_a, params_b = left.parameters.get(row_a.id, {}), right.parameters.get(row_b.id, {})
        for name in [*params_a, *(n for n in params_b if n not in params_a)]:
            _compare(change.changes, name, params_a.get(name), params_b.get(name))
        if change.changes:
            result.changed.append(change)


def compare_files(a: dict[str, str | None], b: dict[str, str | None]) -> FileChanges:
    changes = FileChanges()
    for path in sorted(set(a) & set(b)):
        if a[path] == b[path]:
            changes.same += 1
        else:
            changes.content.append(Change(path, a[path], b[path]))
    only_a = {path: a[path] for path in sorted(set(a) - set(b))}
    only_b = {path: b[path] for path in sorted(set(b) - set(a))}
    by_content: dict[str, list[str]] = {}
    for path, digest in only_b.items():
        if digest is not None:
            by_content.setdefault(digest, []).append(path)
    for path, digest in list(only_a.items()):
        candidates = by_content.get(digest or "")
        if candidates:
            other = candidates.pop(0)
            changes.moved.append(Change(str(digest), path, other))
            del only_a[path], only_b[other]
    changes.only_a = [Change(path, digest, None) for path, digest in only_a.items()]
    changes.only_b = [Change(path, None, digest) for path, digest in only_b.items()]
    return changes
