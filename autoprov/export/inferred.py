"""Inferred derivations: no written product is "derived from nothing" when the run read inputs.

A product whose recorded links reach no file the run read (written by the script's own code, or
by a call whose inputs no filter rule names) would stand in the record as if it came from nowhere,
although the program read its inputs first.  For such a product, each data file the run had read
by the time it wrote the product is given as a source, as a *typed* derivation
(``wasDerivedFrom`` with ``prov:type autoprov:InferredDerivation``), so every reader can tell it
from a recorded one: PROV readers by the type, the graph by its dashed edge, the report by its
label.  The program's own script and modules are not data (they are the plan and the code).

Recorded links are followed backwards as the index's lineage follows them (what a generating
activity used by then, derivations, revisions, collection members), so a product the record
links to any read file gets no inferred derivation at all.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

EntityKey = tuple
INFERRED_TYPE = "autoprov:InferredDerivation"


def _backward(model: Any) -> dict[EntityKey, list[EntityKey]]:
    """entity -> the entities it came from, along the record's own links."""
    used_by: dict[int | None, list[tuple[EntityKey, int | None]]] = defaultdict(list)
    for link in model.used:
        used_by[link.act].append((link.entity, link.time))
    back: dict[EntityKey, list[EntityKey]] = defaultdict(list)
    for link in model.generated:  # the script's own writes (act None) derive from its own reads
        back[link.entity] += [entity for entity, time in used_by[link.act]
                              if link.time is None or time is None or time <= link.time]
    for out, source, _ in (*model.derived, *model.revisions):
        back[out].append(source)
    for collection, member in model.members:
        back[("obj", collection)].append(("obj", member))
    return back


def _reaches_a_read_file(start: EntityKey, back: dict[EntityKey, list[EntityKey]], read: set[EntityKey]) -> bool:
    seen, todo = {start}, [start]
    while todo:
        for source in back.get(todo.pop(), ()):
            if source in read:
                return True
            if source not in seen:
                seen.add(source)
                todo.append(source)
    return False


def infer(model: Any) -> list[tuple[EntityKey, EntityKey, int | None]]:
    """(product, input file, the activity that wrote the product) for each written file version
    whose recorded links reach no file the run read: every data file read before it was written."""
    script = (model.environment or {}).get("script")
    plan = script.get("path") if isinstance(script, dict) else None
    not_data = set(model.modules) | ({plan} if plan else set())
    reads: dict[EntityKey, int | None] = {}
    for link in model.used:
        key = link.entity
        if key[0] == "file" and link.role != "module" and key[1] not in not_data and key not in reads:
            reads[key] = link.time
    if not reads:
        return []
    back = _backward(model)
    read = set(reads)
    inferred = []
    for link in model.generated:
        product = link.entity
        if product[0] != "file" or product in read or _reaches_a_read_file(product, back, read):
            continue
        for source, time in reads.items():
            if source[1] != product[1] and (time is None or link.time is None or time <= link.time):
                inferred.append((product, source, link.act))
    return inferred
