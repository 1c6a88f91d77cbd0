"""The native filter language, as pydantic models (the single source of truth for its keys).

A filter file is a mapping::

    description: what this filter is for
    entities:                      # EntityDescriptions, referred to by name from used/generated
      Datasets: {description: ..., docurl: ..., kind: Collection}
    activities:                    # ActivityDescriptions, each with a selection of functions
      - function: gammapy.data.*:DataStore.from_dir
        parameters: [base_dir]
      - methods: run
        of: gammapy.makers.Maker   # every `run` of a subclass, user subclasses included
        parameters: [self.selection]
    exclude:                       # module:qualname globs that are never activities
      - gammapy.*:*._*

See docs/filters.md for every key.  The models only check shape and spelling; the compiler
checks the meaning (sources, patterns that match everything).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

ENTITY_KINDS = ("PythonObject", "File", "FileCollection", "Collection")
Kind = Literal["PythonObject", "File", "FileCollection", "Collection"]
Scalar = str | int | float | bool | None
OneOrMany = str | list[str] | None  # what a list key accepts (one string is a list of one): the JSON Schema says so


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class Strict(BaseModel):
    """Unknown keys are errors (a misspelt key must never be silently ignored)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class EntityDescription(Strict):
    """IVOA EntityDescription: what kind of thing an entity is, shared by name."""

    description: str | None = None
    docurl: str | None = None
    content_type: str | None = Field(default=None, alias="contentType")
    kind: Kind = "PythonObject"
    members: str | None = None  # Collection: dotted path giving the members
    index: str | list[str] | None = None  # FileCollection: the index file(s)
    types: list[str] | None = None  # module:qualname globs of the classes it describes (and their subclasses)
    state: list[str] | None = None  # dotted attribute paths: the object's state (a change makes a new version)

    _lists = field_validator("types", "state", mode="before", json_schema_input_type=OneOrMany)(_as_list)


class ParameterSpec(Strict):
    """IVOA ParameterDescription plus where the value is read (``value``: argument or self.path)."""

    value: str
    name: str | None = None
    description: str | None = None
    unit: str | None = None
    ucd: str | None = None
    min: Scalar = None
    max: Scalar = None
    options: list[Scalar] | None = None
    default: Any = None
    key: StrictBool | None = None  # a key parameter: named with its step in `autoprov lineage` (docs/filters.md)


class EntitySpec(Strict):
    """A used or generated entity, with its Usage/GenerationDescription."""

    role: str
    source: str  # argument | self | self.path | return | return.path | argument.path
    kind: Kind | None = None  # default: the entity description's kind, else PythonObject
    entity: str | None = None  # name of an entry of `entities`
    members: str | None = None
    index: str | list[str] | None = None
    description: str | None = None
    multiplicity: str | int | None = None


class Activity(Strict):
    """An ActivityDescription with the selection of functions it describes."""

    function: list[str] | None = None  # module:qualname globs
    methods: list[str] | None = None  # method-name globs, with `of`
    of: str | None = None  # base class (dotted path); subclasses' methods match too
    modules: list[str] | None = None  # with `of`: module globs where subclasses are looked for
    accessor: Literal["getter", "setter", "deleter"] | None = None  # with `function`: one accessor of a property
    name: str | None = None
    description: str | None = None
    docurl: str | None = None
    type: str | None = None
    subtype: str | None = None
    nested: bool | None = None
    # program: not from inside the package defining the function, unless its generator takes the
    # elements of a recorded object for the program (iterating recorded positions)
    calls: Literal["all", "program"] = "all"
    parameters: Literal["all", "none"] | list[str | ParameterSpec] = "all"
    results: list[str | ParameterSpec] = []  # values read when the call returns
    used: list[EntitySpec] = []
    generated: list[EntitySpec] = []

    _lists = field_validator("function", "methods", "modules", mode="before", json_schema_input_type=OneOrMany)(_as_list)


class Defaults(Strict):
    nested: bool = True


class FilterFile(Strict):
    """A whole native filter file."""

    version: Literal[1] = 1
    description: str | None = None
    defaults: Defaults = Defaults()
    entities: dict[str, EntityDescription] = {}
    activities: list[Activity] = []
    exclude: list[str] = []

    _lists = field_validator("exclude", mode="before", json_schema_input_type=OneOrMany)(_as_list)
