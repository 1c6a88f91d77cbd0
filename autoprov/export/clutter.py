"""What the graph, the summary, the report and the lineage steps leave out by default.

Two kinds of recorded call are not steps of the analysis, and the views a scientist reads first
show the program's own work without them:

* **library-internal commands**: a command a library started for itself (matplotlib's ``fc-list``
  while it builds its font cache, a package probing the system with a compiler), marked
  ``internal`` when it is recorded (:mod:`autoprov.children.internal` states the rule);
* **property reads**: a call of a property's getter (``dataset.models``, ``observation.events``),
  marked ``autoprov:accessor getter`` when its code is first met
  (:func:`autoprov.filtering.compiler.reads_property`).  A property's setter changes the object
  and stays shown.

Both, and the calls nested in them, stay in the record (the event log and every PROV document);
the views are drawn from a model without them (:func:`quiet`).  An entity a hidden read returned
keeps its lineage there: it is *derived from* what the read used (the models from the dataset whose
``.models`` they are, the events from the observation and the file they were loaded from), so a
product's lineage in the graph and the report still reaches its inputs.  ``autoprov graph --all``,
``autoprov report --all`` and ``autoprov lineage --full`` show everything.
"""

from __future__ import annotations

import copy
from typing import Any

from .model import EntityKey, RunModel

INTERNAL = "library-internal"
READ = "property read"


def reason_hidden(name: str, params: dict[str, Any], accessor: str | None) -> str | None:
    """Why the activity ``name`` is left out of the views by default (:data:`INTERNAL`, :data:`READ`),
    or None.  Only a command carries ``internal`` as a mark; a function's argument of that name is not one."""
    if accessor == "getter":
        return READ
    return INTERNAL if name == "command" and params.get("internal") else None


def hidden_activities(model: RunModel) -> dict[int, str]:
    """The activities left out by default, each with its reason; calls nested in one share it."""
    hidden: dict[int, str] = {}
    for act, activity in model.activities.items():  # parents come first (act order)
        reason = hidden.get(activity.parent) if activity.parent is not None else None
        reason = reason or reason_hidden(activity.name, activity.params, activity.accessor)
        if reason is not None:
            hidden[act] = reason
    return hidden


def quiet(model: RunModel) -> RunModel:
    """``model`` without the activities left out by default (the model itself unchanged): their
    links go, and what a hidden property read returned is derived from what it used."""
    hidden = hidden_activities(model)
    if not hidden:
        return model
    view = copy.copy(model)
    view.activities = {act: activity for act, activity in model.activities.items() if act not in hidden}
    view.used = [link for link in model.used if link.act not in hidden]
    view.generated = [link for link in model.generated if link.act not in hidden]
    view.derived = [item for item in model.derived if item[2] not in hidden] + _read_through(model, hidden, view)
    # a new version of an object made during a read (a lazy load) is still a version of it
    view.revisions = [item for item in model.revisions if hidden.get(item[2]) != INTERNAL]  # type: ignore[arg-type]
    view.invalidated = [item for item in model.invalidated if item[1] not in hidden]
    view.informed = [item for item in model.informed if item[0] not in hidden and item[1] not in hidden]
    view.left_out = {act: model.activities[act] for act in hidden}
    return view


def _read_through(model: RunModel, hidden: dict[int, str], view: RunModel) -> list[tuple[EntityKey, EntityKey, int]]:
    """(entity, source, read) for each entity a hidden property read (or a call nested in it)
    returned that the view shows, and each entity the read used; a source that is itself only the
    result of another hidden read is followed back to what that read used."""
    reads: dict[int, int] = {}  # hidden act -> the outermost property read it belongs to
    for act in hidden:
        if hidden[act] == READ:
            parent = model.activities[act].parent
            reads[act] = reads.get(parent, act) if parent is not None else act
    if not reads:
        return []
    sources: dict[int, list[EntityKey]] = {}
    results: dict[EntityKey, int] = {}  # entity -> the read that made it
    for link in model.used:
        if link.act in reads:
            sources.setdefault(reads[link.act], []).append(link.entity)
    for link in model.generated:
        if link.act in reads:
            results.setdefault(link.entity, reads[link.act])
    made_in_view = {link.entity for link in view.generated}
    shown = {link.entity for link in (*view.used, *view.generated)}
    shown.update(key for new, previous, _ in view.revisions for key in (new, previous))

    def origins(entity: EntityKey, seen: set[EntityKey]) -> list[EntityKey]:
        read = results.get(entity)
        if read is None or entity in made_in_view or entity in seen:
            return [entity]
        seen.add(entity)
        return [found for source in sources.get(read, ()) for found in origins(source, seen)]

    derived: dict[tuple[EntityKey, EntityKey, int], None] = {}
    for entity, read in results.items():
        if entity in shown and entity not in made_in_view:
            for source in sources.get(read, ()):
                for origin in origins(source, {entity}):
                    if origin != entity:
                        derived[(entity, origin, read)] = None
    return list(derived)
