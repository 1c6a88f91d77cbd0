"""The part of a run that made its products: what the report's graph shows first.

A scientist opening a report asks "where did my files come from?" before "what did the program
call?".  This view keeps the products (the files the run left, :func:`.products.outputs`) and
walks back from each, as ``autoprov lineage`` does: the activity that generated an entity, what
that activity used, the previous version of a revised object, the members of a collection, the
file an output was copied from or (marked) inferred from; a file found before the run comes with
the calls that read it.  The activities met on the way, with
the calls they were made in (so nesting is drawn as in the full graph), and the entities met
form a smaller :class:`RunModel`; every other part of the record is one click away in the
report's call tree.

:func:`file_lineage` goes one step further for the report's products view: an analysis passes
Python objects from step to step (a ``SpectrumDataset`` from the maker to the fit), and drawn as
nodes they make a chain too tall to read at "fit".  It keeps the files and the activities and
folds each object into a :class:`Pass`, an edge from the activity that made it to each activity
that used it, named by its type; an object reached through a new version or a collection (the
list it was appended to) is passed on by the activity that made the first one.
"""

from __future__ import annotations

import copy

from ..records import NamedTuple
from .model import EntityKey, RunModel
from .products import outputs


class Pass(NamedTuple):
    """An object handed from one activity (``source``; None: the script) to another (``target``),
    drawn as one edge named by the object's ``kind`` (its type's short name)."""

    source: int | None
    target: int
    kind: str


def product_lineage(model: RunModel) -> RunModel | None:
    """``model`` reduced to its products and their lineage (None when the run left no file)."""
    products = [item.key for item in outputs(model)]
    if not products:
        return None
    generated_by: dict[EntityKey, list] = {}
    for link in model.generated:
        generated_by.setdefault(link.entity, []).append(link.act)
    used_by_act: dict[int | None, list[EntityKey]] = {}
    for link in model.used:
        used_by_act.setdefault(link.act, []).append(link.entity)
    sources: dict[EntityKey, list[EntityKey]] = {}
    for out, source, _ in (*model.derived, *model.revisions, *model.inferred):
        sources.setdefault(out, []).append(source)
    for collection, member in model.members:
        sources.setdefault(("obj", collection), []).append(("obj", member))
    entities: set[EntityKey] = set()
    acts: set[int | None] = set()
    todo = list(products)
    while todo:  # backwards, each entity and activity once
        entity = todo.pop()
        if entity in entities:
            continue
        entities.add(entity)
        todo += sources.get(entity, ())
        for act in generated_by.get(entity, ()):
            if act not in acts:
                acts.add(act)
                todo += used_by_act.get(act, ())
    readers: dict[EntityKey, list[int | None]] = {}
    for link in model.used:
        readers.setdefault(link.entity, []).append(link.act)
    for entity in list(entities):  # a file found before the run is drawn with the calls that read it
        if entity[0] == "file" and entity not in generated_by:
            acts.update(readers.get(entity, ()))
    for act in list(acts):  # the calls they were made in
        parent = model.activities[act].parent if act in model.activities else None
        while parent is not None and parent not in acts and parent in model.activities:
            acts.add(parent)
            parent = model.activities[parent].parent
    view = copy.copy(model)
    view.activities = {act: activity for act, activity in model.activities.items() if act in acts}
    view.used = [link for link in model.used if link.act in acts and link.entity in entities]
    view.generated = [link for link in model.generated if link.act in acts and link.entity in entities]
    view.derived = [item for item in model.derived if item[0] in entities and item[1] in entities]
    view.revisions = [item for item in model.revisions if item[0] in entities and item[1] in entities]
    view.inferred = [item for item in model.inferred if item[0] in entities and item[1] in entities]
    view.members = [pair for pair in model.members if ("obj", pair[0]) in entities and ("obj", pair[1]) in entities]
    view.invalidated = [item for item in model.invalidated if item[0] in entities]
    view.informed = [pair for pair in model.informed if pair[0] in acts and pair[1] in acts]
    return view


def file_lineage(model: RunModel) -> tuple[RunModel, list[Pass]] | None:
    """:func:`product_lineage` with its Python objects folded into :class:`Pass` edges (None when
    the run left no file)."""
    view = product_lineage(model)
    if view is None:
        return None
    made_by: dict[EntityKey, list[int | None]] = {}
    for link in view.generated:
        made_by.setdefault(link.entity, []).append(link.act)
    earlier: dict[EntityKey, list[EntityKey]] = {}  # an object's previous version, or the members put into a collection
    for new, previous, _ in view.revisions:
        earlier.setdefault(new, []).append(previous)
    for collection, member in view.members:
        earlier.setdefault(("obj", collection), []).append(("obj", member))

    def makers(entity: EntityKey) -> list[tuple[int | None, EntityKey]]:
        """The activities that made ``entity`` or, failing that, the objects it came from."""
        found, todo, seen = [], [entity], set()
        while todo:
            key = todo.pop()
            if key in seen or key[0] != "obj":
                continue
            seen.add(key)
            if key in made_by:
                found += [(act, key) for act in made_by[key]]
            else:
                todo += earlier.get(key, ())
        return found

    passes: dict[Pass, None] = {}
    for link in view.used:
        if link.entity[0] == "obj" and link.act is not None:
            for source, key in makers(link.entity):
                if source != link.act:
                    kind = str(view.objects.get(key[1], {}).get("type", "object")).rsplit(".", 1)[-1]
                    passes[Pass(source, link.act, kind)] = None

    def handed_to_caller(item: Pass) -> bool:
        """Whether a call that ``item.target`` was made in got the same object from the same step
        (the nested call's edge would repeat it: the call tree shows it)."""
        parent = view.activities[item.target].parent
        while parent is not None and parent in view.activities:
            if Pass(item.source, parent, item.kind) in passes:
                return True
            parent = view.activities[parent].parent
        return False

    folded = copy.copy(view)
    folded.used = [link for link in view.used if link.entity[0] != "obj"]
    folded.generated = [link for link in view.generated if link.entity[0] != "obj"]
    folded.derived = [item for item in view.derived if item[0][0] != "obj" and item[1][0] != "obj"]
    folded.revisions = [item for item in view.revisions if item[0][0] != "obj"]
    folded.inferred = [item for item in view.inferred if item[0][0] != "obj" and item[1][0] != "obj"]
    folded.members = []
    folded.invalidated = [item for item in view.invalidated if item[0][0] != "obj"]
    return folded, [item for item in passes if not handed_to_caller(item)]
