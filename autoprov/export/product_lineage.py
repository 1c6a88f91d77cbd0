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
"""

from __future__ import annotations

import copy

from .model import EntityKey, RunModel
from .products import outputs


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
