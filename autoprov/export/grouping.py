"""Repeated structure of a run: the loops a scientist wrote, found so that views draw each as one node.

A simulation loop of 100 fake-and-fit iterations records some 500 activities; drawn one by one
they make a graph no screen can show legibly.  The loop is one thing to the scientist, so the
graph, the DOT/SVG outputs and the report draw it as one *group* node, ``100 x
(MapDataset.fake -> Fit.run)``, that the report expands on a click.

**The rule.**  Under one parent activity (or at the top level of the run), at least
:data:`MIN_REPEATS` back-to-back repetitions of the same sequence of sibling activities, at most
:data:`MAX_PERIOD` activities long, form a group.  Two activities are alike when they:

* call the same function and both completed (or both did not);
* have the same shape of links: the same set of (used or generated, role, kind of entity), where
  the kind is ``file``, ``path`` or the Python type of an object;
* have alike nested calls in the same order, where a nested call repeated back to back counts
  once (a fit whose optimiser looped 5 times is the same step as one that looped 7 times).

A loop's first or last pass often differs from the others only in what it links to (the first
pass creates what later passes update), so repetitions just before or after a group that differ
from its body only in the shape of their links join it.

Scanning the siblings left to right, at each position the sequence length that covers the most
activities wins (the shortest on ties), and the scan continues after the group.  Groups nested
inside another group's activities are found too; views draw only the outermost ones.

**Cost.**  Linear in the size of the run.  A first pass keeps only the stretches of siblings
whose function names recur within :data:`MAX_PERIOD` places (cheap list comparisons); only the
activities there, and the calls nested in them, get a signature: one pass over the links and
one over the activities (in reverse start order, so nested calls are summarised before their
callers) intern it as an integer, and the scan compares integers, at most :data:`MAX_PERIOD`
squared per sibling.
"""

from __future__ import annotations

from itertools import compress
from operator import eq

from ..records import NamedTuple
from .model import RunModel

MIN_REPEATS = 3  # two in a row is a coincidence as often as a loop; three is a loop
MAX_PERIOD = 8  # the longest loop body looked for, in sibling activities


class Group(NamedTuple):
    """``count`` repetitions of ``period`` sibling activities under ``parent`` (None: the run)."""

    parent: int | None
    repetitions: list[list[int]]  # each repetition: its sibling activities, in order

    @property
    def count(self) -> int:
        return len(self.repetitions)

    @property
    def first(self) -> list[int]:
        return self.repetitions[0]


def _link_shapes(model: RunModel, acts: set[int]) -> dict[int, frozenset]:
    """Per activity of ``acts``, the set of (direction, role, kind of entity) of its links."""
    objects = model.objects
    shapes: dict[int, set] = {}
    for direction, links in (("used", model.used), ("gen", model.generated)):
        for link in links:
            if link.act not in acts:
                continue
            entity = link.entity
            kind = str(objects.get(entity[1], {}).get("type", "object")) if entity[0] == "obj" else entity[0]
            shapes.setdefault(link.act, set()).add((direction, link.role, kind))
    return {act: frozenset(shape) for act, shape in shapes.items()}


def _signatures(model: RunModel, acts: set[int], children: dict[int | None, list[int]]) -> tuple[dict[int, int], dict[int, int]]:
    """(activity -> interned signature, activity -> the same without the links' shape) for
    ``acts``, which holds every call nested in each of its activities."""
    shapes = _link_shapes(model, acts)
    interned: dict[tuple, int] = {}
    signature: dict[int, int] = {}
    loose: dict[int, int] = {}
    empty: frozenset = frozenset()
    for act in reversed(model.activities):  # nested calls start after their caller
        if act not in acts:
            continue
        activity = model.activities[act]
        nested: list[int] = []
        nested_loose: list[int] = []
        for child in children.get(act, ()):
            if not nested or nested[-1] != signature[child]:
                nested.append(signature[child])
            if not nested_loose or nested_loose[-1] != loose[child]:
                nested_loose.append(loose[child])
        call = (activity.name, activity.status == "completed")
        signature[act] = interned.setdefault((*call, shapes.get(act, empty), tuple(nested)), len(interned))
        loose[act] = interned.setdefault((*call, tuple(nested_loose)), len(interned))
    return signature, loose


def _periodic_stretches(names: list[str]) -> list[tuple[int, int]]:
    """(start, end) of the stretches of ``names`` where every name recurs at most
    :data:`MAX_PERIOD` places before or after it: only there can a loop be.  A few C-speed
    passes over the list, so runs without loops pay almost nothing for the search."""
    length = len(names)
    marked = [False] * length
    for period in range(1, MAX_PERIOD + 1):
        for i in compress(range(length), map(eq, names, names[period:])):
            marked[i] = marked[i + period] = True
    stretches = []
    i = 0
    while i < length:
        if not marked[i]:
            i += 1
            continue
        start = i
        while i < length and marked[i]:
            i += 1
        if i - start >= MIN_REPEATS:
            stretches.append((start, i))
    return stretches


def _runs(sequence: list[int], loose: list[int]) -> list[tuple[int, int, int]]:
    """(start, period, repetitions) of the repeated runs in ``sequence``, left to right, each
    widened by the repetitions around it that match it in ``loose``."""
    found: list[tuple[int, int, int]] = []
    length = len(sequence)
    i = 0
    while i < length - 1:
        best = None  # (covered, period, repetitions)
        for period in range(1, min(MAX_PERIOD, (length - i) // MIN_REPEATS) + 1):
            if sequence[i + period] != sequence[i]:  # cheap test before comparing whole blocks
                continue
            block = sequence[i:i + period]
            repetitions = 1
            while sequence[i + repetitions * period:i + (repetitions + 1) * period] == block:
                repetitions += 1
            if repetitions >= MIN_REPEATS and (best is None or repetitions * period > best[0]):
                best = (repetitions * period, period, repetitions)
        if best is None:
            i += 1
            continue
        covered, period, repetitions = best
        previous_end = found[-1][0] + found[-1][1] * found[-1][2] if found else 0
        shift = next((s for s in range(period - 1, 0, -1) if i - s >= previous_end and loose[i - s:i] == loose[i + period - s:i + period]), 0)
        start = i - shift  # the loop's body begins where its first pass begins, even when that pass differs
        end = start + (i + covered - start) // period * period
        body = loose[start:start + period]
        while start - period >= previous_end and loose[start - period:start] == body:
            start -= period
        while loose[end:end + period] == body:
            end += period
        found.append((start, period, (end - start) // period))
        i = end
    return found


def find_groups(model: RunModel) -> list[Group]:
    """Every group of the run (the rule above), nested ones included."""
    children: dict[int | None, list[int]] = {}
    for activity in model.activities.values():
        children.setdefault(activity.parent if activity.parent in model.activities else None, []).append(activity.act)
    activities = model.activities
    candidates = []  # (parent, siblings that may hold a loop)
    for parent, siblings in children.items():
        if len(siblings) >= MIN_REPEATS:
            names = [activities[act].name for act in siblings]
            if len(set(names)) < len(names) - 1:  # a loop repeats at least two names
                candidates += [(parent, siblings[start:end]) for start, end in _periodic_stretches(names)]
    if not candidates:
        return []
    acts: set[int] = set()
    todo = [act for _, stretch in candidates for act in stretch]
    while todo:  # the candidates and every call nested in them
        act = todo.pop()
        if act not in acts:
            acts.add(act)
            todo += children.get(act, ())
    signature, loose = _signatures(model, acts, children)
    groups = []
    for parent, stretch in candidates:
        sequence = [signature[act] for act in stretch]
        for start, period, repetitions in _runs(sequence, [loose[act] for act in stretch]):
            body = stretch[start:start + period * repetitions]
            groups.append(Group(parent, [body[k * period:(k + 1) * period] for k in range(repetitions)]))
    return groups
