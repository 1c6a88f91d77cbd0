"""The filter language as a JSON Schema (draft 2020-12), generated from the validator's own models.

``autoprov filters schema`` prints it, so editors (the YAML language server, VS Code, PyCharm)
complete keys and mark mistakes while a filter file is typed (PIG 17's outlook: re-use the JSON
schema).  It is derived, never written by hand: pydantic generates it from :class:`.schema.FilterFile`
and :class:`.pig17.Pig17File`, the models :func:`.validate.validate` checks files with, so the two
cannot drift apart.  Two things the models accept that pydantic's generator leaves out are added
from the models themselves: a field's Python name beside its alias (``populate_by_name``:
``content_type`` and ``contentType``), and one string where a list of strings is expected (said
by ``json_schema_input_type`` on those validators).  The schema checks shape and spelling; what
the validator checks beyond (patterns that match everything, ``of`` without ``methods``, unknown
entity names) needs the file's meaning and stays with ``autoprov filters check``.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .pig17 import Pig17File
from .schema import FilterFile

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:autoprov:filter-language"


def filter_schema() -> dict[str, Any]:
    """The JSON Schema of a filter file: a native file or a PIG 17 definition."""
    models = [FilterFile, Pig17File]
    refs, document = models_json_schema([(model, "validation") for model in models], by_alias=True,
                                         ref_template="#/$defs/{model}")
    definitions = document.get("$defs", {})
    for model in _all_models(models):
        _add_field_names(model, definitions.get(model.__name__))
    return {
        "$schema": DIALECT,
        "$id": SCHEMA_ID,
        "title": "autoprov filter file",
        "description": "Which functions are activities, their parameters and entities (docs/filters.md); "
                       "a native file (activities as a list) or a PIG 17 definition (activity_descriptions).",
        "anyOf": [refs[(model, "validation")] for model in models],
        "$defs": definitions,
    }


def schema_text() -> str:
    return json.dumps(filter_schema(), indent=2, sort_keys=True) + "\n"


def _all_models(roots: list[type[BaseModel]]) -> list[type[BaseModel]]:
    """The models reachable from ``roots`` through their fields' annotations."""
    found: dict[str, type[BaseModel]] = {}
    todo = list(roots)
    while todo:
        model = todo.pop()
        if model.__name__ in found:
            continue
        found[model.__name__] = model
        for field in model.model_fields.values():
            todo += [kind for kind in _types(field.annotation) if isinstance(kind, type) and issubclass(kind, BaseModel)]
    return list(found.values())


def _types(annotation: Any) -> list[Any]:
    nested = [annotation]
    for argument in getattr(annotation, "__args__", ()) or ():
        nested += _types(argument)
    return nested


def _add_field_names(model: type[BaseModel], definition: dict[str, Any] | None) -> None:
    """A field validated by its alias or by its name (``populate_by_name``): both are properties."""
    if definition is None or not model.model_config.get("populate_by_name"):
        return
    properties = definition.get("properties", {})
    for name, field in model.model_fields.items():
        if field.alias and field.alias != name and field.alias in properties and name not in properties:
            properties[name] = properties[field.alias]
            if field.alias in definition.get("required", ()):  # either spelling then satisfies it
                definition["required"].remove(field.alias)
                definition.setdefault("allOf", []).append({"anyOf": [{"required": [field.alias]}, {"required": [name]}]})
