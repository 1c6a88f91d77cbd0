"""Read the PIG 17 prototype's ``definition.yaml`` and convert it to the native filter form.

The prototype (a decorator on gammapy's ``Analysis``) described each decorated method by its
bare name and pointed at values with "Python variable" paths evaluated on the ``Analysis``
object: ``settings.X`` for the configuration, ``kwargs.X`` / ``args.X`` for arguments, bare
names (``observations``, ``datasets``) for attributes.  Those map onto native rules for the
methods of ``gammapy.analysis.Analysis``: ``settings.`` becomes ``self.config.``, YAML-style
hyphens become underscores, and attributes become ``self.`` paths.  ``agents`` and ``contact``
have no native counterpart (autoprov records its own agents) and are accepted and ignored.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PIG17_KEYS = frozenset({"activity_descriptions", "entity_descriptions", "agents"})
ANALYSIS_METHODS = "gammapy.analysis.*:Analysis.{name}"
# Attributes of the prototype's Analysis that gammapy 2.x renamed.
RENAMED_ATTRIBUTES = {"model": "models", "settings": "config"}
RENAMED_METHODS = {"set_model": "set_models"}
_CALL = re.compile(r"[()\[\]]")


class _Open(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Pig17Members(_Open):
    list: str | None = None
    entityType: str | None = None
    entityName: str | None = Field(default=None, alias="entity_description")
    location: str | None = None
    value: str | None = None
    id: str | None = None
    namespace: str | None = None


class Pig17Usage(_Open):
    role: str
    description: str | None = None
    entityType: str | None = None
    entityName: str | None = Field(default=None, alias="entity_description")
    multiplicity: str | int | None = None
    location: str | None = None
    value: str | None = None
    id: str | None = None
    has_members: Pig17Members | None = None
    has_progenitors: Pig17Members | None = None


class Pig17Parameter(_Open):
    name: str
    description: str | None = None
    value: str | None = None
    datatype: str | None = None
    arraysize: str | int | None = None
    xtype: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    min: Any = None
    max: Any = None
    options: list[Any] | None = None
    default: Any = None


class Pig17Activity(_Open):
    description: str | None = None
    contact: Any = None
    parameters: list[Pig17Parameter] = []
    usage: list[Pig17Usage] = []
    generation: list[Pig17Usage] = []


class Pig17Entity(_Open):
    description: str | None = None
    docurl: str | None = None
    contentType: str | None = None
    type: Literal["PythonObject", "File", "FileCollection", "Collection"] = "PythonObject"
    index: str | None = None


class Pig17File(_Open):
    activities: dict[str, Pig17Activity] = Field(default={}, alias="activity_descriptions")
    entities: dict[str, Pig17Entity] = Field(default={}, alias="entity_descriptions")
    agents: dict[str, Any] = {}


def is_pig17(data: dict[str, Any]) -> bool:
    """The prototype's files key activities by name (a mapping); native files list them."""
    return isinstance(data.get("activities"), dict) or bool(PIG17_KEYS & data.keys())


def variable_path(path: str) -> str | None:
    """A prototype "Python variable" as a native source path; None when it calls something."""
    if _CALL.search(path):
        return None
    head, _, rest = path.partition(".")
    rest = rest.replace("-", "_")
    if head in ("kwargs", "args"):
        return rest or None
    head = RENAMED_ATTRIBUTES.get(head, head)
    return "self." + head + ("." + rest if rest else "")


def convert(definition: Pig17File) -> dict[str, Any]:
    """The native filter (as plain data, ready for :class:`~.schema.FilterFile`)."""
    entities = {
        name: {
            "description": entity.description,
            "docurl": entity.docurl,
            "content_type": entity.contentType,
            "kind": entity.type,
            "index": entity.index,
        }
        for name, entity in definition.entities.items()
    }
    activities = []
    for name, activity in definition.activities.items():
        parameters = []
        for parameter in activity.parameters:
            source = variable_path(parameter.value) if parameter.value else None
            if source is None:
                continue
            spec = {"value": source, "name": parameter.name, "description": parameter.description, "unit": parameter.unit, "ucd": parameter.ucd,
                    "min": parameter.min, "max": parameter.max, "options": parameter.options, "default": parameter.default}
            parameters.append({k: v for k, v in spec.items() if v is not None})
        activities.append({
            "function": [ANALYSIS_METHODS.format(name=RENAMED_METHODS.get(name, name))],
            "name": name,
            "description": " ".join(activity.description.split()) if activity.description else None,
            "parameters": parameters,
            "used": [spec for usage in activity.usage for spec in _entities(usage, definition)],
            "generated": [spec for usage in activity.generation for spec in _entities(usage, definition)],
        })
    return {"description": "converted from a PIG 17 prototype definition", "entities": entities, "activities": activities}


def _entities(usage: Pig17Usage, definition: Pig17File) -> list[dict[str, Any]]:
    """One native entity spec for the value, one for the location (a file), as given."""
    entity = usage.entityName or usage.entityType
    described = definition.entities.get(entity) if entity else None
    kind = described.type if described else None
    common = {"description": usage.description, "multiplicity": usage.multiplicity}
    if entity in definition.entities:
        common["entity"] = entity
    specs = []
    value = variable_path(usage.value) if usage.value else None
    if value:
        spec = {"role": usage.role, "source": value, **common}
        if usage.has_members is not None:
            spec["kind"] = "Collection"
            members = usage.has_members.list or ""
            prefix = (usage.value or "") + "."
            if members.startswith(prefix) and variable_path(members):
                spec["members"] = members[len(prefix):]
        elif kind in ("File", "FileCollection"):
            spec["kind"] = "PythonObject"  # the value is the in-memory object, its file comes below
        specs.append(spec)
    location = variable_path(usage.location) if usage.location else None
    if location:
        role = f"{usage.role}_location" if value else usage.role
        file_kind = kind if kind in ("File", "FileCollection") else "File"
        spec = {"role": role, "source": location, "kind": file_kind, **common}
        if described is not None and described.index:
            spec["index"] = described.index
        specs.append(spec)
    return [{k: v for k, v in spec.items() if v is not None} for spec in specs]
