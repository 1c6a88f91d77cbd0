"""The data behind the HTML report: a :class:`RunModel` as one JSON-ready view for its script.

The report's script draws the timeline and fills the side panel from this view, and links the
graph's nodes back to what they draw (:class:`~.dot.Drawing`): ``nodes`` maps the node ids of
every layer of the graph (:class:`Layer`, ids unique across layers) to what they draw, and
``layers`` says which layer expands which loop.  Entities carry their PROV ids as
``provenance.json`` names them, so what the panel shows can be looked up in the documents.  Times
are milliseconds since the start of the run: nanoseconds since the epoch do not fit a JavaScript
number exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from os.path import basename
from typing import Any, NamedTuple

from .dot import Drawing, group_label, short_name
from ..model import EntityKey, RunModel
from ..names import utc
from ..lookup import entity_ids
from ..products import inputs, outputs


class Layer(NamedTuple):
    """One drawing of the report's graph: ``view`` is ``products`` or ``calls``; ``expands`` is
    the group node (of the view's first layer) that this layer draws expanded, or None."""

    id: str
    view: str
    drawing: Drawing
    expands: str | None


class ReportView:
    """Builds the view once; ``index`` then maps entity keys to their place in ``ents``.
    ``drawing`` gives each activity its timeline row."""

    def __init__(self, model: RunModel, drawing: Drawing | None, layers: list[Layer] = ()) -> None:
        self.model = model
        self.drawing = drawing
        self.layers = list(layers)
        self.t0 = model.start if model.start is not None else min((a.start for a in model.activities.values()), default=0)
        self.ids = entity_ids(model)
        self.index: dict[EntityKey, int] = {}
        self.entities: list[dict[str, Any]] = []
        self.inputs = inputs(model)
        self.outputs = outputs(model)

    def ms(self, t: int | None) -> float | None:
        return None if t is None else round((t - self.t0) / 1e6, 3)

    def entity(self, key: EntityKey) -> int:
        index = self.index.get(key)
        if index is None:
            index = self.index[key] = len(self.entities)
            self.entities.append(self._describe(key))
        return index

    def _describe(self, key: EntityKey) -> dict[str, Any]:
        node = self.drawing.entity_nodes.get(key) if self.drawing else None
        entry: dict[str, Any] = {"id": self.ids.get(key), "kind": key[0], "node": node, "gen": [], "used": [], "from": [], "to": [], "members": [], "in": [], "inferred": []}
        if key[0] == "obj":
            description = self.model.objects.get(key[1], {})
            python_type = str(description.get("type", "object"))
            entry.update(label=str(description.get("name") or python_type.rsplit(".", 1)[-1]), type=python_type, obj=description)
            return entry
        entry.update(label=basename(key[1]) or key[1], path=key[1])
        if key[0] == "file":
            algorithm, digest, size, mtime = self.model.digests.get((key[1], key[2]), (None, None, None, None))
            entry.update(version=key[2], alg=algorithm, digest=digest, size=size, mtime=utc(mtime).isoformat() if mtime else None)
        return entry

    def activities(self) -> Iterator[dict[str, Any]]:
        nodes = self.drawing.activity_nodes if self.drawing else {}
        children: dict[int, list[int]] = {}
        for activity in self.model.activities.values():
            if activity.parent is not None:
                children.setdefault(activity.parent, []).append(activity.act)
        for activity in self.model.activities.values():
            yield {
                "n": activity.act, "name": activity.name, "short": short_name(activity.name), "parent": activity.parent,
                "start": self.ms(activity.start), "end": self.ms(activity.end), "status": activity.status,
                "error": activity.error, "thread": activity.thread, "rule": activity.rule, "params": activity.params,
                "node": nodes.get(activity.act), "children": children.get(activity.act, []), "used": [], "gen": [],
            }

    def build(self) -> dict[str, Any]:
        model = self.model
        acts = list(self.activities())
        by_act = {act["n"]: act for act in acts}
        session: dict[str, Any] = {"used": [], "gen": []}
        for direction, links in (("used", model.used), ("gen", model.generated)):
            for link in links:
                index = self.entity(link.entity)
                owner = by_act.get(link.act, session) if link.act is not None else session
                owner[direction].append([index, link.role])
                self.entities[index][direction].append([link.act, link.role, self.ms(link.time)])
        for out, source, _ in model.derived:
            out_index, source_index = self.entity(out), self.entity(source)
            self.entities[out_index]["from"].append(source_index)
            self.entities[source_index]["to"].append(out_index)
        for new, previous, _ in model.revisions:  # an object's new version comes from its previous one
            self.entities[self.entity(new)].setdefault("prev", []).append(self.entity(previous))
        for out, source, _ in model.inferred:  # not recorded links: shown apart (export/inferred.py)
            self.entities[self.entity(out)]["inferred"].append(self.entity(source))
        for collection, member in model.members:
            collection_index, member_index = self.entity(("obj", collection)), self.entity(("obj", member))
            self.entities[collection_index]["members"].append(member_index)
            self.entities[member_index]["in"].append(collection_index)
        for entity, act, t in model.invalidated:
            self.entities[self.entity(entity)]["removed"] = [act, self.ms(t)]
        nodes: dict[str, dict[str, Any]] = {"session": {"kind": "session", "items": []}}
        for act in acts:
            if act["node"]:
                nodes.setdefault(act["node"], {"kind": "activity", "items": []})["items"].append(act["n"])
        for index, entity in enumerate(self.entities):
            if entity["node"]:
                nodes.setdefault(entity["node"], {"kind": "entity", "items": []})["items"].append(index)
        for node in nodes.values():
            node["layer"] = "t"
        layers = [self._layer_nodes(layer, nodes) for layer in self.layers]
        return {
            "run": {
                "id": model.run_id, "status": model.status, "t0": self.t0 // 1_000_000 if self.t0 else None,
                "duration": self.ms(model.end) if model.end is not None else max((a["end"] or a["start"] or 0 for a in acts), default=0),
                "used": session["used"], "gen": session["gen"],
            },
            "acts": acts,
            "ents": self.entities,
            "nodes": nodes,
            "inputs": [self.entity(item.key) for item in self.inputs],
            "outputs": [self.entity(item.key) for item in self.outputs],
            "descs": model.descriptions,
            "layers": layers,
        }

    def _layer_nodes(self, layer: Layer, nodes: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Adds the nodes of ``layer`` to ``nodes``; its entry in the view's ``layers``."""
        drawing = layer.drawing
        for act, node in drawing.activity_nodes.items():
            nodes.setdefault(node, {"kind": "activity", "items": [], "layer": layer.id})["items"].append(act)
        for key, node in drawing.entity_nodes.items():
            nodes.setdefault(node, {"kind": "entity", "items": [], "layer": layer.id})["items"].append(self.entity(key))
        for node, (group, expanded) in drawing.groups.items():
            entry = nodes.setdefault(node, {"items": [], "layer": layer.id})
            entry.update(kind="group", count=group.count, label=group_label(self.model, group), expanded=expanded,
                         steps=[[act for act in repetition] for repetition in group.repetitions])
        return {"id": layer.id, "view": layer.view, "expands": layer.expands}
