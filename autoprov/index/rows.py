"""A run's PROV record as rows of the index tables.

The rows are made from the very statements the run's documents are written from
(:func:`autoprov.export.statements.statements` over the :class:`RunModel`), so every id in the
index is the id in ``provenance.json`` and the index can never tell a different story than the
record.  The ``run`` row and the package versions come from the model's run information and
environment.  What ProvTAP has no table for is folded into columns: ``wasStartedBy`` is
``activity.parent_id``, ``wasInvalidatedBy`` is ``entity.invalidated_at_time``; ``actedOnBehalfOf``
(autoprov on behalf of the user) is left to the documents.  Two relations ProvTAP has and the
documents leave implicit are filled in: ``wasInformedBy`` (an activity used what another one of
the run generated) and ``wasAttributedTo`` (each file the run wrote, to the run's user).
"""

from __future__ import annotations

import json
import shlex
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..export.model import RunModel
from ..export.statements import statements
from ..redaction import redact_argv
from ..store.layout import RunFolder
from . import schema
from ..store.location import this_host

Rows = dict[str, list[dict[str, Any]]]  # table name -> rows
ENTITY_KINDS = {"autoprov:File": "file", "autoprov:Path": "path", "autoprov:PythonObject": "object",
                "autoprov:Environment": "environment", "prov:Plan": "plan"}


EPOCH = datetime(1970, 1, 1)  # naive UTC: the index stores UTC times without a zone


def _time(value: Any) -> datetime | None:
    return None if value is None else EPOCH + timedelta(microseconds=int(value) // 1000)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def _parsed(value: Any) -> Any:
    """A description attribute back from its JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def run_rows(model: RunModel, run_dir: Path) -> Rows:
    """Every row of the run, by table name."""
    builder = _RowBuilder(model)
    for statement in statements(model):
        handler = builder.handlers.get(statement[0])
        if handler is not None:
            handler(*statement[1:])
    builder.finish()
    builder.rows[schema.run.name] = [run_row(model, run_dir, builder)]
    builder.rows[schema.run_package.name] = [
        {"name": name, "version": _text(version)} for name, version in sorted(_packages(model).items())
    ]
    run_id = Path(run_dir).name  # the folder's name is the run's identity in its store (a copied log keeps its old id)
    for table_rows in builder.rows.values():
        for row in table_rows:
            row["run_id"] = run_id
    return builder.rows


def _packages(model: RunModel) -> dict[str, Any]:
    packages = (model.environment or {}).get("packages")
    return packages if isinstance(packages, dict) and "error" not in packages else {}


def run_row(model: RunModel, run_dir: Path, builder: _RowBuilder) -> dict[str, Any]:
    info, environment = model.info, model.environment or {}
    script = environment.get("script") if isinstance(environment.get("script"), dict) else {}
    python = environment.get("python") if isinstance(environment.get("python"), dict) else {}
    platform = environment.get("platform") if isinstance(environment.get("platform"), dict) else {}
    git = environment.get("git") if isinstance(environment.get("git"), dict) else {}
    program = str(info.get("program") or "")
    arguments = [str(arg) for arg in info.get("program_args") or []]
    log = RunFolder(run_dir).events.stat()
    return {
        "status": model.status,
        "exit_code": model.exit_code,
        "program": program or None,
        "command": shlex.join(redact_argv([program, *arguments])) if program else None,
        "script_path": script.get("path"),
        "script_digest": f"{script['algorithm']}:{script['digest']}" if script.get("digest") else None,
        "start_time": _time(model.start),
        "end_time": _time(model.end),
        "duration": model.exit_info.get("duration"),
        "cpu_time": model.exit_info.get("cpu_time"),
        "peak_rss": model.exit_info.get("peak_rss"),
        "user_name": environment.get("user") if isinstance(environment.get("user"), str) else None,
        "host": environment.get("hostname") if isinstance(environment.get("hostname"), str) else this_host(),
        "cwd": info.get("cwd"),
        "folder": str(Path(run_dir).absolute()),
        "engine": info.get("engine"),
        "hash_algorithm": info.get("hash_algorithm"),
        "autoprov_version": info.get("autoprov_version"),
        "python_version": python.get("version") or info.get("python"),
        "python_implementation": python.get("implementation"),
        "platform": " ".join(str(platform[key]) for key in ("system", "release", "machine") if platform.get(key)) or None,
        "git_commit": git.get("commit"),
        "git_dirty": git.get("dirty"),
        "activity_count": len(model.activities),
        "entity_count": model.entity_count,
        "log_size": log.st_size,
        "log_mtime": log.st_mtime_ns,
        "indexed_at": datetime.now(timezone.utc).replace(tzinfo=None),
    }


class _RowBuilder:
    """Folds the statement stream into rows; a few relations need the whole run (finish)."""

    def __init__(self, model: RunModel) -> None:
        self.model = model
        self.rows: Rows = {table.name: [] for table in schema.RUN_TABLES}
        self.entities: dict[str, dict[str, Any]] = {}
        self.activities: dict[str, dict[str, Any]] = {}
        self.described: dict[str, dict[str, dict[str, str]]] = {}  # desc id -> "used"/"generated"/"parameters" -> key -> row id
        self.generated: dict[str, list[str]] = {}  # entity id -> generating activity ids
        self.user: str | None = None
        self.handlers = {
            "entity": self.entity, "activity": self.activity, "agent": self.agent, "used": self.used,
            "wasGeneratedBy": self.generation, "wasStartedBy": self.started, "wasAssociatedWith": self.association,
            "wasDerivedFrom": self.derivation, "wasInvalidatedBy": self.invalidation, "hadMember": self.member,
        }

    # -- elements ------------------------------------------------------------------------------

    def entity(self, identifier: str, formal: dict, attributes: list[tuple[str, Any]]) -> None:
        types = [str(value) for name, value in attributes if name == "prov:type"]
        values = {name: value for name, value in attributes if name != "prov:type"}
        if "voprov:ActivityDescription" in types:
            self.description(str(identifier), values)
            return
        kind = next((ENTITY_KINDS[t] for t in ("prov:Plan", *types) if t in types and t in ENTITY_KINDS), "entity")
        digest = values.get("autoprov:digest")
        extra = {name.split(":", 1)[1]: value for name, value in values.items()
                 if name.startswith("autoprov:") and name not in FILE_ATTRIBUTES}
        row = {
            "id": str(identifier), "kind": kind, "name": _text(values.get("prov:label")),
            "location": _text(values.get("prov:location")),
            "digest": f"{values.get('autoprov:digest_type')}:{digest}" if digest else None,
            "size": values.get("autoprov:size"), "mtime": _time(values.get("autoprov:mtime")),
            "version": values.get("autoprov:version"),
            "python_type": _text(extra.pop("python_type", None)),
            "annotation": json.dumps(extra, sort_keys=True, default=str) if extra else None,
            "generated_at_time": None, "invalidated_at_time": None, "entity_description_id": None,
        }
        self.entities[row["id"]] = row
        self.rows[schema.entity.name].append(row)

    def description(self, identifier: str, values: dict[str, Any]) -> None:
        self.rows[schema.activitydescription.name].append({
            "id": identifier, "name": _text(values.get("voprov:name")) or identifier, "label": _text(values.get("prov:label")),
            "description": _text(values.get("voprov:description")), "docurl": _text(values.get("voprov:doculink")),
            "type": _text(values.get("voprov:type")), "subtype": _text(values.get("voprov:subtype")),
            "origin": _text(values.get("autoprov:filter")),
        })
        parts: dict[str, dict[str, str]] = {"used": {}, "generated": {}, "parameters": {}}
        for kind, attribute, table in (("used", "voprov:usageDescriptions", schema.usagedescription),
                                       ("generated", "voprov:generationDescriptions", schema.generationdescription)):
            described = _parsed(values.get(attribute))
            for role, usage in (described.items() if isinstance(described, dict) else ()):
                usage = usage if isinstance(usage, dict) else {}
                row_id = f"{identifier}#{kind}.{role}"
                parts[kind][str(role)] = row_id
                self.rows[table.name].append({
                    "id": row_id, "activity_description_id": identifier, "role": str(role),
                    "description": _text(usage.get("description")), "multiplicity": _text(usage.get("multiplicity")),
                    "entity_description_id": self.entity_description(usage.get("entity")),
                })
        parameters = _parsed(values.get("voprov:parameterDescriptions"))
        results = _parsed(values.get("autoprov:resultDescriptions"))  # results are recorded as parameters too
        described = {**(results if isinstance(results, dict) else {}), **(parameters if isinstance(parameters, dict) else {})}
        for name, spec in described.items():
            spec = spec if isinstance(spec, dict) else {}
            row_id = f"{identifier}#parameter.{name}"
            parts["parameters"][str(name)] = row_id
            self.rows[schema.parameterdescription.name].append({
                "id": row_id, "activity_description_id": identifier, "name": str(name), "label": _text(spec.get("name")),
                **{key: _text(spec.get(key)) for key in ("description", "unit", "ucd", "min", "max", "options", "default")},
                "key": spec.get("key") is True,
            })
        self.described[identifier] = parts

    def entity_description(self, entity: Any) -> str | None:
        if not isinstance(entity, dict) or not entity.get("name"):
            return None
        row_id = f"desc:entity.{entity['name']}"
        table = self.rows[schema.entitydescription.name]
        if not any(row["id"] == row_id for row in table):
            table.append({"id": row_id, "name": str(entity["name"]), "description": _text(entity.get("description")),
                          "docurl": _text(entity.get("docurl")), "content_type": _text(entity.get("contentType"))})
        return row_id

    def activity(self, identifier: str, formal: dict, attributes: list[tuple[str, Any]]) -> None:
        values = dict(attributes)
        identifier = str(identifier)
        description = values.get("voprov:activityDescription")
        row = {
            "id": identifier, "seq": int(identifier.rsplit("_", 1)[1]) if identifier.startswith("run:act_") else 0,
            "name": _text(values.get("prov:label")) or identifier,
            "start_time": _time(formal.get("prov:startTime")), "end_time": _time(formal.get("prov:endTime")),
            "status": _text(values.get("autoprov:status")), "error": _text(values.get("autoprov:error")),
            "thread": _text(values.get("autoprov:thread")), "rule": _text(values.get("autoprov:rule")),
            "parent_id": None, "activity_description_id": None if description is None else str(description),
            "accessor": _text(values.get("autoprov:accessor")),
        }
        self.activities[identifier] = row
        self.rows[schema.activity.name].append(row)
        for name, value in attributes:
            if name.startswith("param:"):
                key = name[len("param:"):]
                self.rows[schema.parameter.name].append({
                    "activity_id": identifier, "name": key, "value": _text(value),
                    "parameter_description_id": self._described(row["activity_description_id"], "parameters", key),
                })

    def agent(self, identifier: str, formal: dict, attributes: list[tuple[str, Any]]) -> None:
        values = dict(attributes)
        kind = str(values.get("prov:type", "")).split(":")[-1] or None
        self.rows[schema.agent.name].append({"id": str(identifier), "name": _text(values.get("prov:label")), "type": kind, "comment": None})

    def _described(self, description: str | None, part: str, key: str) -> str | None:
        return self.described.get(description or "", {}).get(part, {}).get(key)

    # -- relations -----------------------------------------------------------------------------

    def used(self, _: None, formal: dict, attributes: list[tuple[str, Any]]) -> None:
        activity, role = str(formal["prov:activity"]), _text(dict(attributes).get("prov:role"))
        description = self.activities.get(activity, {}).get("activity_description_id")
        self.rows[schema.used.name].append({
            "activity_id": activity, "entity_id": str(formal["prov:entity"]), "role": role,
            "time": _time(formal.get("prov:time")), "usage_description_id": self._described(description, "used", role or ""),
        })

    def generation(self, _: None, formal: dict, attributes: list[tuple[str, Any]]) -> None:
        activity, entity, role = str(formal["prov:activity"]), str(formal["prov:entity"]), _text(dict(attributes).get("prov:role"))
        description = self.activities.get(activity, {}).get("activity_description_id")
        time = _time(formal.get("prov:time"))
        self.rows[schema.wasgeneratedby.name].append({
            "entity_id": entity, "activity_id": activity, "role": role, "time": time,
            "generation_description_id": self._described(description, "generated", role or ""),
        })
        self.generated.setdefault(entity, []).append(activity)
        row = self.entities.get(entity)
        if row is not None:
            if row["generated_at_time"] is None:
                row["generated_at_time"] = time
            usage = self._described(description, "generated", role or "")
            if usage is not None and row["entity_description_id"] is None:
                row["entity_description_id"] = next(
                    (r["entity_description_id"] for r in self.rows[schema.generationdescription.name] if r["id"] == usage), None)

    def started(self, _: None, formal: dict, attributes: list[tuple[str, Any]]) -> None:
        row = self.activities.get(str(formal["prov:activity"]))
        if row is not None and formal.get("prov:starter") is not None:
            row["parent_id"] = str(formal["prov:starter"])

    def association(self, _: None, formal: dict, attributes: list[tuple[str, Any]]) -> None:
        role = _text(dict(attributes).get("prov:role"))
        agent = str(formal["prov:agent"])
        if role == "user":
            self.user = agent
        plan = formal.get("prov:plan")
        self.rows[schema.wasassociatedwith.name].append({
            "activity_id": str(formal["prov:activity"]), "agent_id": agent, "role": role, "plan_id": None if plan is None else str(plan),
        })

    def derivation(self, _: None, formal: dict, attributes: list[tuple[str, Any]]) -> None:
        if any(name == "prov:type" and str(value) == "autoprov:InferredDerivation" for name, value in attributes):
            return  # not a recorded link: the lineage infers it again, marked (index/lineage.py)
        self.rows[schema.wasderivedfrom.name].append({
            "generated_entity_id": str(formal["prov:generatedEntity"]), "used_entity_id": str(formal["prov:usedEntity"]),
            "activity_id": None if formal.get("prov:activity") is None else str(formal["prov:activity"]),
        })

    def invalidation(self, _: None, formal: dict, attributes: list[tuple[str, Any]]) -> None:
        row = self.entities.get(str(formal["prov:entity"]))
        if row is not None:
            row["invalidated_at_time"] = _time(formal.get("prov:time"))

    def member(self, _: None, formal: dict, attributes: list[tuple[str, Any]]) -> None:
        self.rows[schema.hadmember.name].append({"collection_id": str(formal["prov:collection"]), "entity_id": str(formal["prov:entity"])})

    def finish(self) -> None:
        """wasInformedBy and wasAttributedTo, then duplicates out (the tables have primary keys)."""
        informed = {
            (link["activity_id"], source)
            for link in self.rows[schema.used.name]
            for source in self.generated.get(link["entity_id"], ())
            if source != link["activity_id"]
        }
        self.rows[schema.wasinformedby.name] = [{"informed_id": a, "informant_id": b} for a, b in sorted(informed)]
        if self.user is not None:
            self.rows[schema.wasattributedto.name] = [
                {"entity_id": entity, "agent_id": self.user, "role": "author"}
                for entity in self.generated if self.entities.get(entity, {}).get("kind") == "file"
            ]
        for table in schema.RUN_TABLES:
            rows = self.rows.get(table.name)
            if not rows:
                continue
            keys = [column.name for column in table.primary_key.columns if column.name != "run_id"]
            unique: dict[tuple, dict[str, Any]] = {}
            for row in rows:
                unique.setdefault(tuple(row[key] for key in keys), row)
            self.rows[table.name] = list(unique.values())


FILE_ATTRIBUTES = frozenset({"autoprov:digest", "autoprov:digest_type", "autoprov:size", "autoprov:mtime", "autoprov:version"})
