"""What the graph, the summary and the report leave out by default: library-internal commands.

A command a library started for itself (matplotlib's ``fc-list`` while it builds its font cache, a
package probing the system with a compiler) is marked ``internal`` when it is recorded
(:mod:`autoprov.children.internal` states the rule).  It stays in the record (the event log and
every PROV document), but the views a scientist reads first show the program's own work: such
commands, and the calls nested in them, are dropped from the model the graph and the report are
drawn from.  ``autoprov graph --all`` and ``autoprov report --all`` show them.
"""

from __future__ import annotations

import copy

from .model import RunModel


def internal_activities(model: RunModel) -> set[int]:
    """The library-internal commands of the run and every activity nested in them."""
    hidden = {act for act, activity in model.activities.items() if activity.params.get("internal")}
    if not hidden:
        return hidden
    for act, activity in model.activities.items():  # nested ones: their parents come first (act order)
        if activity.parent in hidden:
            hidden.add(act)
    return hidden


def without_internal(model: RunModel) -> RunModel:
    """``model`` without its library-internal activities and their links (the model itself unchanged)."""
    hidden = internal_activities(model)
    if not hidden:
        return model
    quiet = copy.copy(model)
    quiet.activities = {act: activity for act, activity in model.activities.items() if act not in hidden}
    quiet.used = [link for link in model.used if link.act not in hidden]
    quiet.generated = [link for link in model.generated if link.act not in hidden]
    quiet.derived = [item for item in model.derived if item[2] not in hidden]
    quiet.revisions = [item for item in model.revisions if item[2] not in hidden]
    quiet.invalidated = [item for item in model.invalidated if item[1] not in hidden]
    quiet.informed = [item for item in model.informed if item[0] not in hidden and item[1] not in hidden]
    return quiet
