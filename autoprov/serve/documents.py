"""A ProvSAP answer as a document: PROV-JSON, PROV-XML (through ``prov``), SVG and PNG (Graphviz).

Ids are the ids of the runs' own documents: files are ``file:<algorithm>_<hex>`` in every run, and
a run's activities live in its namespace ``urn:autoprov:run:<run-id>#``, here under a prefix per
run (``r<run-id>``).  ``MODEL=IVOA`` adds the voprov terms (activity descriptions as
``voprov:ActivityDescription``, ``voprov:activityDescription`` links); ``MODEL=W3C`` keeps to PROV.
The flags add what the index holds beside the graph: ``CONFIGURATION`` the parameters
(``param:<name>``), ``AGENTS`` each run's agents and ``wasAssociatedWith``, ``MEMBERS`` collections'
members (``hadMember``), ``DESCRIPTIONS`` 1 the description ids, 2 their text; ``ATTRIBUTES=0``
leaves out everything but labels.  Images are drawn by :func:`autoprov.export.renderers.images.render`, the
renderer the run's own graphs use.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from ..export.renderers.dot import quote, short_name
from ..export.names import NAMESPACES, local, run_namespace
from ..index import schema
from .provsap import Graph, Query


def prefix(run_id: str) -> str:
    return local("r" + run_id)


def activity_id(run_id: str, activity: str) -> str:
    return f"{prefix(run_id)}:{activity.split(':', 1)[1]}"


def prov_json(connection: Connection, graph: Graph, query: Query) -> dict[str, Any]:
    """The answer as a PROV-JSON document (a dict)."""
    names = {key: uri for key, uri in NAMESPACES.items() if query.model == "IVOA" or key != "voprov"}
    names.update({prefix(run_id): run_namespace(run_id) for run_id in graph.runs()})
    document: dict[str, Any] = {"prefix": names, "entity": {}, "activity": {}}
    for entity_id, (path, digest) in graph.files.items():
        record: dict[str, Any] = {"prov:label": Path(path).name}
        if query.attributes:
            record.update({"prov:location": path, "autoprov:digest": digest, "prov:type": {"$": "autoprov:File", "type": "prov:QUALIFIED_NAME"}})
        document["entity"][entity_id] = record
    for (run_id, activity), step in graph.steps.items():
        record = {"prov:label": "script (outside recorded calls)" if step.name == "run" else step.name}
        if query.attributes:
            record.update({"autoprov:run": run_id, "autoprov:program": step.program or ""})
            if step.time is not None:
                record["prov:startTime"] = step.time.isoformat() + "Z" if step.time.tzinfo is None else step.time.isoformat()
        document["activity"][activity_id(run_id, activity)] = record
    relations: dict[str, dict[str, Any]] = defaultdict(dict)
    for number, ((step, entity_id), role) in enumerate(graph.used.items()):
        relations["used"][f"_:u{number}"] = {"prov:activity": activity_id(*step), "prov:entity": entity_id, **_role(role)}
    for number, ((entity_id, step), role) in enumerate(graph.generated.items()):
        relations["wasGeneratedBy"][f"_:g{number}"] = {"prov:entity": entity_id, "prov:activity": activity_id(*step), **_role(role)}
    if query.configuration:
        _parameters(connection, graph, document)
    if query.descriptions:
        _descriptions(connection, graph, document, query)
    if query.agents:
        _agents(connection, graph, document, relations)
    if query.members:
        _members(connection, graph, document, relations)
    if graph.bound:
        document["entity"]["autoprov:answer"] = {"prov:label": "ProvSAP answer", "autoprov:bound": graph.bound}
    document.update(relations)
    return {key: value for key, value in document.items() if value}


def _role(role: str | None) -> dict[str, str]:
    return {"prov:role": role} if role else {}


def _in_runs(column: Any, graph: Graph) -> Any:
    return column.in_(graph.runs())


def _parameters(connection: Connection, graph: Graph, document: dict) -> None:
    parameter = schema.parameter.c
    rows = connection.execute(select(parameter.run_id, parameter.activity_id, parameter.name, parameter.value)
                              .where(_in_runs(parameter.run_id, graph)))
    for row in rows:
        if (row.run_id, row.activity_id) in graph.steps:
            document["activity"][activity_id(row.run_id, row.activity_id)]["param:" + local(row.name)] = row.value or ""


def _descriptions(connection: Connection, graph: Graph, document: dict, query: Query) -> None:
    activity, description = schema.activity.c, schema.activitydescription.c
    rows = connection.execute(select(activity.run_id, activity.id, activity.activity_description_id).where(
        _in_runs(activity.run_id, graph), activity.activity_description_id.is_not(None)))
    used: set[tuple[str, str]] = set()
    link = "voprov:activityDescription" if query.model == "IVOA" else "autoprov:description"
    for row in rows:
        if (row.run_id, row.id) in graph.steps:
            document["activity"][activity_id(row.run_id, row.id)][link] = {"$": row.activity_description_id, "type": "prov:QUALIFIED_NAME"}
            used.add((row.run_id, row.activity_description_id))
    kind = "voprov:ActivityDescription" if query.model == "IVOA" else "autoprov:ActivityDescription"
    for row in connection.execute(select(description).where(_in_runs(description.run_id, graph))):
        if (row.run_id, row.id) not in used or row.id in document["entity"]:
            continue
        record = {"prov:type": {"$": kind, "type": "prov:QUALIFIED_NAME"}, "prov:label": row.name or row.id}
        if query.descriptions == 2:
            ns = "voprov" if query.model == "IVOA" else "autoprov"
            for column in ("description", "docurl", "type", "subtype"):
                value = getattr(row, column)
                if value:
                    record[f"{ns}:{'doculink' if column == 'docurl' else column}"] = str(value)
        document["entity"][row.id] = record


def _agents(connection: Connection, graph: Graph, document: dict, relations: dict) -> None:
    agent, associated = schema.agent.c, schema.wasassociatedwith.c
    document["agent"] = {}
    for row in connection.execute(select(agent.id, agent.name, agent.type).where(_in_runs(agent.run_id, graph))):
        document["agent"][row.id] = {"prov:label": row.name or row.id, "prov:type": {"$": f"prov:{row.type or 'Agent'}", "type": "prov:QUALIFIED_NAME"}}
    runs_agents: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for row in connection.execute(select(associated.run_id, associated.agent_id, associated.role).where(_in_runs(associated.run_id, graph))):
        runs_agents[row.run_id].append((row.agent_id, row.role))
    number = 0
    for run_id, activity in graph.steps:  # each step, with the agents of its run
        for agent_id, role in runs_agents.get(run_id, ()):
            relations["wasAssociatedWith"][f"_:a{number}"] = {"prov:activity": activity_id(run_id, activity), "prov:agent": agent_id, **_role(role)}
            number += 1


def _members(connection: Connection, graph: Graph, document: dict, relations: dict) -> None:
    member, entity = schema.hadmember.c, schema.entity.c
    rows = connection.execute(select(member.run_id, member.collection_id, member.entity_id, entity.name, entity.location)
                              .join(schema.entity, and_(entity.run_id == member.run_id, entity.id == member.entity_id))
                              .where(_in_runs(member.run_id, graph), member.collection_id.in_(list(graph.files))))
    for number, row in enumerate(rows):
        member_id = row.entity_id if row.entity_id.startswith("file:") else f"{prefix(row.run_id)}:{row.entity_id.split(':', 1)[1]}"
        document["entity"].setdefault(member_id, {"prov:label": row.name or Path(row.location or member_id).name})
        relations["hadMember"][f"_:m{number}"] = {"prov:collection": row.collection_id, "prov:entity": member_id}


def prov_xml(document: dict[str, Any]) -> str:
    from prov.model import ProvDocument

    return ProvDocument.deserialize(content=json.dumps(document), format="json").serialize(format="xml")


def dot(graph: Graph, query: Query) -> str:
    """The answer drawn: files (by content) and steps, grouped by run, the ID highlighted."""
    lines = ["digraph provsap {", "  rankdir=BT;", '  graph [fontname="Helvetica", fontsize=11];',
             '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=8];']
    names = {entity_id: f"f{number}" for number, entity_id in enumerate(graph.files)}
    steps = {key: f"a{number}" for number, key in enumerate(graph.steps)}
    for entity_id, (path, digest) in graph.files.items():
        colour = "#ffe599" if graph.focus == entity_id else "#fdf6e3"
        label = f"{Path(path).name}\n{digest[:24]}" if query.attributes else Path(path).name
        lines.append(f"  {names[entity_id]} [shape=note, style=filled, fillcolor={quote(colour)}, label={quote(label)}, tooltip={quote(path)}];")
    by_run: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key, step in graph.steps.items():
        by_run[key[0]].append((key, "script (outside recorded calls)" if step.name == "run" else short_name(step.name)))
    for number, (run_id, items) in enumerate(by_run.items()):
        program = Path(graph.steps[items[0][0]].program or "").name
        lines.append(f"  subgraph cluster_{number} {{")
        lines.append(f"    label={quote(f'run {run_id} ({program})')}; style=dashed;")
        for key, label in items:
            colour = "#ffe599" if graph.focus == f"{key[0]}|{key[1]}" else "#dae8fc"
            lines.append(f'    {steps[key]} [shape=box, style="rounded,filled", fillcolor={quote(colour)}, label={quote(label)}];')
        lines.append("  }")
    for (step, entity_id), role in graph.used.items():
        lines.append(f"  {steps[step]} -> {names[entity_id]} [label={quote(role or 'used')}];")
    for (entity_id, step), _role_name in graph.generated.items():
        lines.append(f"  {names[entity_id]} -> {steps[step]} [label=wasGeneratedBy];")
    if graph.bound:
        lines.append(f"  label={quote(f'cut short at the bound of {graph.bound}')}; labelloc=t;")
    lines.append("}")
    return "\n".join(lines) + "\n"


def image(graph: Graph, query: Query, fmt: str, timeout: float) -> bytes:
    from ..export.renderers.images import render

    return render(dot(graph, query), fmt, timeout=timeout)
