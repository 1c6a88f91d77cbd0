"""Check a parsed filter file and turn every problem into one precise line.

Shape and spelling are checked by the pydantic models (:mod:`.schema`, :mod:`.pig17`); meaning
(where values are read from, patterns that would select everything, names that do not exist)
is checked here, because only here do we still know the line and column of every key.
"""

from __future__ import annotations

import difflib
import keyword
import re
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from .compiler import Validated
from .pig17 import Pig17File, convert, is_pig17
from .schema import FilterFile
from .diagnostics import fail, pattern_problem
from .parse import FilterText, Location

_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_ERROR_RANK = {"extra_forbidden": 0, "missing": 1}
_TYPE_ERRORS = ("string_type", "list_type", "dict_type", "model_type", "model_attributes_type", "bool_type",
                "int_type", "float_type", "literal_error")


def validate(text: FilterText) -> Validated:
    """The native form of ``text`` (converted first when it is a PIG 17 definition)."""
    data = text.data
    if is_pig17(data):
        definition = _model(Pig17File, text)
        native = FilterFile.model_validate(convert(definition))
        lines = [text.mark_of(("activities", name), key=True).line for name in definition.activities]
        if not lines:
            lines = [text.mark_of(("activity_descriptions", name), key=True).line for name in definition.activities]
    else:
        native = _model(FilterFile, text)
        lines = [text.mark_of(("activities", index)).line for index in range(len(native.activities))]
        _check_meaning(native, text)
    excludes = [text.mark_of(("exclude", index)).line for index in range(len(native.exclude))]
    return Validated(text.label, native.model_dump(mode="json"), lines, excludes)


def _model(model: type[BaseModel], text: FilterText) -> Any:
    try:
        return model.model_validate(text.data)
    except ValidationError as error:
        raise _explain(error, model, text) from None


# -- pydantic errors as one line -------------------------------------------------------------


def _explain(error: ValidationError, model: type[BaseModel], text: FilterText) -> Exception:
    details = sorted(error.errors(), key=lambda e: (_ERROR_RANK.get(e["type"], 2 if e["type"] not in _TYPE_ERRORS else 3), -len(e["loc"])))
    detail = details[0]
    location = _data_location(text.data, detail["loc"], keep_last=detail["type"] == "missing")
    kind = detail["type"]
    if kind == "extra_forbidden":
        key = str(location[-1])
        allowed = _allowed_keys(model, location[:-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(sorted(allowed))}"
        return fail(text.label, text.mark_of(location, key=True), f"unknown key '{key}' in {_where(location[:-1])}; {hint}")
    if kind == "missing":
        key = str(location[-1])
        return fail(text.label, text.mark_of(location[:-1]), f"{_where(location[:-1])}: missing required key '{key}'")
    message = detail["msg"]
    message = message[0].lower() + message[1:]
    return fail(text.label, text.mark_of(location), f"{_where(location)}: {message} (got {_short(detail.get('input'))})")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _data_location(data: Any, loc: tuple, keep_last: bool) -> Location:
    """pydantic's error location without its union-branch tags: the keys really in the file."""
    kept: list[Any] = []
    current = data
    for position, part in enumerate(loc):
        if isinstance(current, dict) and part in current:
            kept.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            kept.append(part)
            current = current[part]
        elif position == len(loc) - 1 and keep_last:
            kept.append(part)
    return tuple(kept)


def _where(location: Location) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the top level"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for argument in typing.get_args(annotation):
        found += _models_in(argument)
    return found


def _allowed_keys(model: type[BaseModel], location: Location) -> list[str]:
    """Every key the schema accepts at ``location`` (field names and their aliases)."""
    models = [model]
    for part in location:
        if isinstance(part, int):
            continue
        following: list[type[BaseModel]] = []
        for current in models:
            field = current.model_fields.get(part) or next(
                (f for f in current.model_fields.values() if f.alias == part), None
            )
            if field is not None:
                following += _models_in(field.annotation)
        models = following or models  # a key of a dict of models (an entity name): same models
    keys: set[str] = set()
    for current in models:
        for name, field in current.model_fields.items():
            keys.add(field.alias or name)
    return sorted(keys)


# -- meaning ---------------------------------------------------------------------------------


def _check_meaning(native: FilterFile, text: FilterText) -> None:
    for index, pattern in enumerate(native.exclude):
        check_pattern(pattern, text, ("exclude", index), exclude=True)
    for name, entity in native.entities.items():
        for position, pattern in enumerate(entity.types or ()):
            check_pattern(pattern, text, ("entities", name, "types", position))
        for position, path in enumerate(entity.state or ()):
            if not _PATH.match(path):
                raise fail(text.label, text.mark_of(("entities", name, "state", position)),
                           f"entities.{name}.state: {path!r} must be a dotted attribute path such as 'counts.data'")
    for index, activity in enumerate(native.activities):
        where = ("activities", index)
        if activity.function and (activity.of or activity.methods):
            raise fail(text.label, text.mark_of(where), f"{_where(where)}: give either 'function' or 'methods' with 'of', not both")
        if not activity.function and not (activity.of and activity.methods):
            missing = "'of'" if activity.methods else "'methods'" if activity.of else "'function' (or 'methods' with 'of')"
            raise fail(text.label, text.mark_of(where), f"{_where(where)}: no selection: add {missing}")
        for position, pattern in enumerate(activity.function or ()):
            check_pattern(pattern, text, where + ("function", position))
        if activity.of is not None:
            _check_base(activity.of, activity.methods or [], text, where)
        if activity.accessor is not None and not activity.function:
            raise fail(text.label, text.mark_of(where + ("accessor",), key=True), f"{_where(where)}: 'accessor' only applies with 'function'")
        if activity.modules is not None and activity.of is None:
            raise fail(text.label, text.mark_of(where + ("modules",), key=True), f"{_where(where)}: 'modules' only applies with 'of'")
        if isinstance(activity.parameters, list):
            for position, parameter in enumerate(activity.parameters):
                value = parameter if isinstance(parameter, str) else parameter.value
                _check_source(value, text, where + ("parameters", position), "parameter", ("argument", "self"))
        for position, parameter in enumerate(activity.results):
            value = parameter if isinstance(parameter, str) else parameter.value
            _check_source(value, text, where + ("results", position), "result", ("argument", "self", "return"))
        for direction in ("used", "generated"):
            heads = ("argument", "self") if direction == "used" else ("argument", "self", "return")
            for position, spec in enumerate(getattr(activity, direction)):
                _check_source(spec.source, text, where + (direction, position, "source"), "entity source", heads)
                if spec.entity is not None and spec.entity not in native.entities:
                    close = difflib.get_close_matches(spec.entity, list(native.entities), n=1)
                    hint = f"did you mean '{close[0]}'?" if close else "add it under 'entities'"
                    raise fail(text.label, text.mark_of(where + (direction, position, "entity")),
                               f"{_where(where + (direction, position))}: unknown entity '{spec.entity}'; {hint}")


def check_pattern(pattern: str, text: FilterText, location: Location, exclude: bool = False) -> None:
    problem = pattern_problem(pattern, exclude)
    if problem:
        raise fail(text.label, text.mark_of(location), f"{_where(location)}: {problem}")


def _check_base(base: str, methods: list[str], text: FilterText, where: Location) -> None:
    if not _PATH.match(base) or "." not in base:
        raise fail(text.label, text.mark_of(where + ("of",)), f"{_where(where)}.of: {base!r} must be a dotted class path such as 'mypkg.core.Base'")
    if base in ("builtins.object", "object", "typing.Any", "abc.ABC"):
        raise fail(text.label, text.mark_of(where + ("of",)), f"{_where(where)}.of: every class derives from {base!r}: this would match everything")
    for position, method in enumerate(methods):
        if not method or "." in method or ":" in method:
            raise fail(text.label, text.mark_of(where + ("methods", position)), f"{_where(where)}.methods: {method!r} must be a method name glob (no dots)")


def _check_source(source: str, text: FilterText, location: Location, what: str, heads: tuple[str, ...]) -> None:
    head = source.split(".", 1)[0]
    if not _PATH.match(source) or (keyword.iskeyword(head) and head != "return"):
        problem = f"{what} {source!r} must be an argument name or a dotted path such as 'self.config.fit'"
    elif head == "return" and "return" not in heads:
        problem = f"{what} {source!r}: the return value does not exist when the call starts (use 'generated' or 'results')"
    elif what == "parameter" and head != "self" and "." in source:
        problem = f"parameter {source!r}: an argument is recorded whole; dotted paths are for 'self.' (or use 'results')"
    else:
        return
    raise fail(text.label, text.mark_of(location), f"{_where(location)}: {problem}")
