"""The processing steps between a product and its inputs, for ``autoprov lineage``.

A product's lineage walk (:mod:`.lineage`) follows ``wasGeneratedBy`` backwards through the calls
that made the objects in between; those calls, with the calls nested in them (a maker inside
``Analysis.get_datasets``, ``Fit.optimize`` inside ``Fit.run``) and the calls they are nested in, are
the product's *steps*.  They are told as a tree by nesting (``wasStartedBy``), in call order.

Condensed (the default), sibling calls of one function with the same key parameter values are one
step with a count (``SpectrumDatasetMaker.run x4``), and each step shows only its **key**
parameters: those whose ParameterDescription in the filter says ``key: true`` (docs/filters.md), so
what a scientist asks about (an estimator's energy edges, a fit's statistic, the safe-mask
criteria) is chosen where the calls are described, not here.  ``full`` gives every call with every
parameter.

Property reads (``dataset.models``) and library-internal commands are not steps: they are left out
unless ``full``, as the graph and the report leave them out (:mod:`autoprov.export.clutter`).  The
walk itself still goes through them, so the inputs behind a read are found all the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from . import schema


@dataclass
class Step:
    """One call, or (condensed) several calls of one function with the same key parameters."""

    name: str  # the qualified function name
    count: int
    parameters: dict[str, str | None]  # key parameters (condensed), every parameter (full)
    activities: list[str]  # the PROV ids of the calls (run:act_<n>)
    steps: list[Step] = field(default_factory=list)  # the calls nested in these
    failed: int = 0  # calls whose status is not "completed"


@dataclass
class _Call:
    id: str
    name: str
    seq: int
    parent: str | None
    status: str | None
    parameters: dict[str, str | None]
    key: dict[str, str | None]
    accessor: str | None
    hidden: bool = False  # left out unless full: a property read, a library-internal command, or inside one


class RunSteps:
    """One run's calls, their nesting and parameters (key ones marked), read from the index once."""

    def __init__(self, connection: Connection, run_id: str) -> None:
        activity, parameter, described = schema.activity.c, schema.parameter.c, schema.parameterdescription.c
        self.calls: dict[str, _Call] = {
            row.id: _Call(row.id, row.name, row.seq, row.parent_id, row.status, {}, {}, row.accessor)
            for row in connection.execute(select(activity.id, activity.name, activity.seq, activity.parent_id, activity.status,
                                                 activity.accessor)
                                          .where(activity.run_id == run_id, activity.seq > 0))
        }
        self.children: dict[str, list[str]] = {}
        for call in sorted(self.calls.values(), key=lambda item: item.seq):
            self.children.setdefault(call.parent or "", []).append(call.id)
        query = (
            select(parameter.activity_id, parameter.name, parameter.value, described.key, described.label)
            .outerjoin(schema.parameterdescription, and_(described.run_id == parameter.run_id,
                                                        described.id == parameter.parameter_description_id))
            .where(parameter.run_id == run_id)
        )
        for row in connection.execute(query):
            call = self.calls.get(row.activity_id)
            if call is None:
                continue
            name = row.label or row.name  # the filter's name for it (config.fit -> fit)
            call.parameters[name] = row.value
            if row.key:
                call.key[name] = row.value
        from ..export.clutter import reason_hidden

        for call in sorted(self.calls.values(), key=lambda item: item.seq):  # parents first
            parent = self.calls.get(call.parent or "")
            call.hidden = (parent is not None and parent.hidden) or reason_hidden(call.name, call.parameters, call.accessor) is not None

    def steps(self, through: set[str], full: bool = False) -> list[Step]:
        """The steps of the calls ``through`` (the walk went through them), with their nested and
        enclosing calls, as a tree in call order: condensed, or every call (``full``)."""
        chosen = self.closure(through)
        if not full:  # property reads and library-internal commands are not steps (the module's docstring)
            chosen = {activity_id for activity_id in chosen if not self.calls[activity_id].hidden}
        tops = [call for call in self.calls.values() if call.id in chosen and call.parent not in chosen]
        return self._level(sorted(tops, key=lambda call: call.seq), chosen, full)

    def closure(self, through: set[str]) -> set[str]:
        """The calls ``through``, every call nested in them, and the calls they are nested in."""
        known = [activity_id for activity_id in through if activity_id in self.calls]
        chosen: set[str] = set()
        todo = list(known)
        while todo:  # the calls and every call nested in them
            current = todo.pop()
            if current not in chosen:
                chosen.add(current)
                todo += self.children.get(current, ())
        for activity_id in known:  # then the calls they are nested in (not what else those contain)
            parent = self.calls[activity_id].parent
            while parent in self.calls and parent not in chosen:
                chosen.add(parent)
                parent = self.calls[parent].parent
        return chosen

    def _level(self, calls: list[_Call], chosen: set[str], full: bool) -> list[Step]:
        groups: dict[tuple, Step] = {}
        nested: dict[tuple, list[_Call]] = {}
        for call in calls:
            group = (call.id,) if full else (call.name, tuple(sorted(call.key.items())))
            step = groups.get(group)
            if step is None:
                step = groups[group] = Step(call.name, 0, dict(call.parameters if full else call.key), [])
                nested[group] = []
            step.count += 1
            step.activities.append(call.id)
            step.failed += call.status not in ("completed", None)
            nested[group] += [self.calls[child] for child in self.children.get(call.id, ()) if child in chosen]
        for group, step in groups.items():
            step.steps = self._level(sorted(nested[group], key=lambda call: call.seq), chosen, full)
        return list(groups.values())


def step_lines(steps: list[Step], indent: str, width: int = 100) -> list[str]:
    """The steps as indented text lines: ``SpectrumDatasetMaker.run x2  selection=[...]``."""
    from ..export.renderers.dot import short_name

    lines = []
    for step in steps:
        text = short_name(step.name) + (f" x{step.count}" if step.count > 1 else "")
        if step.failed:
            text += f" ({step.failed} failed)"
        values = [f"{name}={_short(value, width)}" for name, value in step.parameters.items()]
        lines.append(f"{indent}{'  '.join([text, *values])}")
        lines += step_lines(step.steps, indent + "  ", width)
    return lines


def _short(value: str | None, width: int) -> str:
    text = _readable(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _readable(value: str | None) -> str:
    """A recorded value as a scientist writes it: an array of numbers as ``[1, 3.162, 10] TeV``."""
    text = " ".join(str(value).split())
    if not text.startswith("{") or '"values"' not in text:
        return text
    try:
        array = json.loads(text)
        numbers = ", ".join(f"{number:.4g}" if isinstance(number, float) else str(number) for number in array["values"])
    except (ValueError, KeyError, TypeError):
        return text
    unit = f" {array['unit']}" if array.get("unit") else ""
    return f"[{numbers}]{unit}"
