"""Turn validated filter data into ordered selection entries, each with its compiled Rule.

Compiling needs neither YAML nor pydantic: it works from the plain data a :class:`Validated`
holds (which is what the start-up cache stores), so a cached filter costs only this step.  Globs
are compiled to regular expressions only when a name that could match them is first asked about
(:class:`Glob`): the shipped gammapy filter has ~145 globs, and compiling them all at start-up cost
~13 ms of the 80 ms start-up budget, while a run only ever meets a few of them.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from functools import cached_property
from types import CodeType
from typing import Any
from ..records import NamedTuple

from .rules import EntitySpec, Rule


_WILDCARD = re.compile(r"[*?[]")  # compiled once: re.split's own cache lookup was most of a Glob's creation


class Glob:
    """An ``fnmatch`` pattern (case-sensitive), compiled on first use.

    Every name a glob matches starts with the glob's literal prefix (the text before its first
    ``*``, ``?`` or ``[``), so most names are rejected by ``str.startswith`` without compiling.
    """

    __slots__ = ("text", "prefix", "_regex")

    def __init__(self, text: str) -> None:
        self.text = text
        wildcard = _WILDCARD.search(text)
        self.prefix = text[: wildcard.start()] if wildcard else text
        self._regex: re.Pattern[str] | None = None

    def match(self, name: str) -> bool:
        if not name.startswith(self.prefix):
            return False
        if self._regex is None:
            self._regex = re.compile(fnmatch.translate(self.text))
        return self._regex.match(name) is not None


def lookup(dotted: str) -> Any:
    """The object at ``dotted`` if its module is already imported (never imports anything)."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is None:
            continue
        value: Any = module
        try:
            for name in parts[cut:]:
                value = getattr(value, name)
        except AttributeError:
            return None
        return value
    return None


def owner_class(qualname: str, module_globals: dict[str, Any]) -> Any:
    """The class defining the method ``qualname`` (``Outer.Inner.method``), from its module's globals."""
    owner = qualname.rpartition(".")[0]
    if not owner:
        return None
    cls: Any = module_globals.get(owner.split(".", 1)[0])
    for name in owner.split(".")[1:]:
        cls = getattr(cls, name, None)
    return cls if isinstance(cls, type) else None


ACCESSOR_ATTRIBUTES = {"getter": "fget", "setter": "fset", "deleter": "fdel"}


def is_accessor(code: CodeType, qualname: str, module_globals: dict[str, Any], accessor: str) -> bool:
    """True when ``code`` is the getter, setter or deleter of the property ``qualname`` names."""
    prop = vars(owner_class(qualname, module_globals) or object).get(qualname.rpartition(".")[2])
    function = getattr(prop, ACCESSOR_ATTRIBUTES[accessor], None) if isinstance(prop, property) else None
    return getattr(function, "__code__", None) is code


def reads_property(code: CodeType, qualname: str, module_globals: dict[str, Any]) -> bool:
    """True when ``code`` is the getter of a property of the class ``qualname`` names: a ``property``
    (or a subclass: astropy's ``lazyproperty``) or a ``functools.cached_property``, decorated (the
    getter has the property's name) or not (``count = property(_count)``, ``del _count``).  Its calls read an
    attribute, which the views leave out by default (:mod:`autoprov.export.clutter`).  A function that
    is also a method under its own name is not a getter: it is called directly too.  A class that
    cannot be looked into (an attribute that raises when asked what it is) is not known to have one:
    planning never faults the capture."""
    try:
        owner = owner_class(qualname, module_globals)
        if owner is None:
            return False
        attributes = vars(owner)
        found = attributes.get(qualname.rpartition(".")[2])
        if found is not None and not isinstance(found, (property, cached_property)):
            return False  # a method, or a descriptor of another kind
        for value in attributes.values() if found is None else (found,):
            getter = value.fget if isinstance(value, property) else value.func if isinstance(value, cached_property) else None
            for _ in range(8):  # through decorators that keep __wrapped__ (functools.wraps)
                if getter is None:
                    break
                if getattr(getter, "__code__", None) is code:
                    return True
                getter = getattr(getter, "__wrapped__", None)
    except Exception:
        return False
    return False


class FunctionSelection:
    """``module:qualname`` globs (and, with ``accessor``, only that accessor of a property).

    Patterns whose module half is a plain name (the generated block of the gammapy filter: ~300 of
    them in one rule) are filed by that name, so binding a module looks them up instead of testing
    every one; the others are tested as globs.  Bound patterns keep the order they were written in.
    """

    def __init__(self, patterns: list[str], accessor: str | None = None) -> None:
        self.patterns = [(text, Glob(text.partition(":")[0]), Glob(text.partition(":")[2])) for text in patterns]
        self.accessor = accessor
        self._by_module: dict[str, list[tuple[int, str, Glob]]] = {}
        self._globbed: list[tuple[int, str, Glob, Glob]] = []
        for position, (text, module_re, qualname_re) in enumerate(self.patterns):
            if module_re.prefix == module_re.text:  # no wildcard: only this module
                self._by_module.setdefault(module_re.text, []).append((position, text, qualname_re))
            else:
                self._globbed.append((position, text, module_re, qualname_re))

    def may_match_module(self, module: str) -> bool:
        return module in self._by_module or any(module_re.match(module) for _, _, module_re, _ in self._globbed)

    def module_prefixes(self) -> tuple[str, ...] | None:
        """The literal prefixes every module this selection matches starts with (None: any module)."""
        return tuple(module_re.prefix for _, module_re, _ in self.patterns)

    def bind(self, module: str) -> BoundFunctions | None:
        """The patterns naming ``module``, to decide its functions by qualified name alone (None: none)."""
        found = list(self._by_module.get(module, ()))
        found += [(position, text, qualname_re) for position, text, module_re, qualname_re in self._globbed if module_re.match(module)]
        if not found:
            return None
        found.sort(key=lambda item: item[0])
        return BoundFunctions(tuple((text, qualname_re) for _, text, qualname_re in found), self.accessor)

    def matches(self, module: str, qualname: str, module_globals: dict[str, Any], code: CodeType | None = None) -> str | None:
        bound = self.bind(module)
        return None if bound is None else bound.matches_in_module(qualname, module_globals, code)


class BoundFunctions:
    """The patterns of one :class:`FunctionSelection` that name one module.

    A module's functions are decided together (the engines scan a module at its first call), so
    its module globs are tested once, not once per function.  Without an accessor, the first
    pattern naming a plain qualified name is found by a dictionary lookup (the generated block
    names ~60 functions of ``gammapy.maps.core``), and only the globs before it are tried.
    """

    __slots__ = ("patterns", "accessor", "_plain", "_globbed")

    def __init__(self, patterns: tuple[tuple[str, Glob], ...], accessor: str | None) -> None:
        self.patterns = patterns
        self.accessor = accessor
        self._plain: dict[str, tuple[int, str]] = {}
        globbed = []
        for position, (text, qualname_re) in enumerate(patterns):
            if qualname_re.prefix == qualname_re.text:
                self._plain.setdefault(qualname_re.text, (position, text))
            else:
                globbed.append((position, text, qualname_re))
        self._globbed = tuple(globbed)

    def matches_in_module(self, qualname: str, module_globals: dict[str, Any], code: CodeType | None = None) -> str | None:
        if self.accessor is None:
            plain = self._plain.get(qualname)
            for position, text, qualname_re in self._globbed:
                if plain is not None and position > plain[0]:
                    break
                if qualname_re.match(qualname):
                    return repr(text)
            return None if plain is None else repr(plain[1])
        for text, qualname_re in self.patterns:
            if qualname_re.match(qualname):
                if self.accessor is None:
                    return repr(text)
                if code is not None and is_accessor(code, qualname, module_globals, self.accessor):
                    return f"{text!r} ({self.accessor})"
        return None


class MethodSelection:
    """Methods (name globs) defined in classes deriving from ``base``, in ``modules`` globs.

    The class is found from the module's globals by the qualified name, so a subclass defined
    in the user's script (``__main__``) or package is recognised; ``base`` is only looked up in
    modules already imported (a class deriving from it implies its module is loaded).
    """

    def __init__(self, methods: list[str], base: str, modules: list[str] | None) -> None:
        self.methods = [Glob(method) for method in methods]
        self.method_text = ", ".join(methods)
        self.base = base
        self.modules = None if modules is None else [Glob(module) for module in modules]

    def may_match_module(self, module: str) -> bool:
        return self.modules is None or any(module_re.match(module) for module_re in self.modules)

    def module_prefixes(self) -> tuple[str, ...] | None:
        """The literal prefixes every module this selection matches starts with (None: any module)."""
        return None if self.modules is None else tuple(module_re.prefix for module_re in self.modules)

    def bind(self, module: str) -> MethodSelection | None:
        """Itself when it can select methods of ``module`` (its ``matches_in_module`` then decides)."""
        return self if self.may_match_module(module) else None

    def matches(self, module: str, qualname: str, module_globals: dict[str, Any], code: CodeType | None = None) -> str | None:
        return self.matches_in_module(qualname, module_globals, code) if self.may_match_module(module) else None

    def matches_in_module(self, qualname: str, module_globals: dict[str, Any], code: CodeType | None = None) -> str | None:
        """The decision for a function of a module this selection may match."""
        owner, dot, method = qualname.rpartition(".")
        if not dot or not any(method_re.match(method) for method_re in self.methods):
            return None
        cls = owner_class(qualname, module_globals)
        base = lookup(self.base)
        if not (isinstance(cls, type) and isinstance(base, type)):
            return None
        try:
            derives = issubclass(cls, base)
        except TypeError:
            return None
        return f"{method} of {cls.__qualname__}, a subclass of {self.base}" if derives else None


# A NamedTuple, not a frozen dataclass: creating the class costs a quarter as much at import (start-up).
class Validated(NamedTuple):
    """A filter that passed every check, as plain data (what the cache stores and the compiler reads)."""

    label: str
    data: dict[str, Any]  # FilterFile.model_dump(): every key present, defaults filled in
    activity_lines: list[int]
    exclude_lines: list[int]


# A NamedTuple, not a frozen dataclass: creating the class costs a quarter as much at import (start-up).
class Entry(NamedTuple):
    """One include (with its rule) or exclude (rule None), in the order it was written."""

    selection: FunctionSelection | MethodSelection
    rule: Rule | None
    origin: str  # "file:line"


def compile_filter(validated: Validated) -> list[Entry]:
    """A file's entries: its activities, then its excludes (so a file's excludes win within it)."""
    label, data = validated.label, validated.data
    activity_lines, exclude_lines = validated.activity_lines, validated.exclude_lines
    entities = data["entities"]
    nested_default = data["defaults"]["nested"]
    entries = []
    for activity, line in zip(data["activities"], activity_lines):
        if activity["function"]:
            selection: FunctionSelection | MethodSelection = FunctionSelection(activity["function"], activity.get("accessor"))
        else:
            selection = MethodSelection(activity["methods"], activity["of"], activity["modules"])
        origin = f"{label}:{line}"
        entries.append(Entry(selection, _rule(activity, entities, nested_default, origin), origin))
    for pattern, line in zip(data["exclude"], exclude_lines):
        entries.append(Entry(FunctionSelection([pattern]), None, f"{label}:{line}"))
    return entries


def _rule(activity: dict[str, Any], entities: dict[str, Any], nested_default: bool, origin: str) -> Rule:
    arguments: tuple[str, ...] | None = None
    on_self: list[str] = []
    described: dict[str, dict[str, Any]] = {}
    if activity["parameters"] != "all":
        names = []
        for parameter in [] if activity["parameters"] == "none" else activity["parameters"]:
            spec = _parameter(parameter)
            value = spec["value"]
            if value.startswith("self."):
                key = value[len("self."):]
                on_self.append(key)
            else:
                key = value
                names.append(value)
            if len(spec) > 1:
                described[key] = _clean({k: v for k, v in spec.items() if k != "value"})
        arguments = tuple(names)
    results = [_parameter(parameter) for parameter in activity["results"]]
    description = {
        "activity": _clean({k: activity[k] for k in ("name", "description", "docurl", "type", "subtype")}),
        "parameters": described,
        "results": {r["value"]: _clean({k: v for k, v in r.items() if k != "value"}) for r in results if len(r) > 1},
        "used": {s["role"]: _usage(s, entities) for s in activity["used"]},
        "generated": {s["role"]: _usage(s, entities) for s in activity["generated"]},
        "origin": origin,
    }
    return Rule(
        name="",
        rule_id=origin,
        parameters=arguments,
        self_parameters=tuple(on_self),
        used=tuple(_entity(s, entities) for s in activity["used"]),
        generated=tuple(_entity(s, entities) for s in activity["generated"]),
        nested=nested_default if activity["nested"] is None else activity["nested"],
        program_calls=activity.get("calls") == "program",
        result_parameters=tuple(r["value"] for r in results),
        description={k: v for k, v in description.items() if v},
    )


def _parameter(parameter: str | dict[str, Any]) -> dict[str, Any]:
    return {"value": parameter} if isinstance(parameter, str) else _clean(parameter)


def _clean(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None}


def _entity(spec: dict[str, Any], entities: dict[str, Any]) -> EntitySpec:
    described = entities.get(spec["entity"]) or {} if spec["entity"] else {}
    multiplicity = spec["multiplicity"]
    return EntitySpec(
        role=spec["role"],
        source=spec["source"],
        kind=spec["kind"] or described.get("kind") or "PythonObject",
        entity_type=spec["entity"],
        members=spec["members"] or described.get("members"),
        description=spec["description"],
        multiplicity=None if multiplicity is None else str(multiplicity),
        index=_index(spec["index"] or described.get("index")),
    )


def _index(index: str | list[str] | None) -> str | tuple[str, ...] | None:
    return tuple(index) if isinstance(index, list) else index


def _usage(spec: dict[str, Any], entities: dict[str, Any]) -> dict[str, Any]:
    """Usage/GenerationDescription with its EntityDescription, for exporters."""
    usage = _clean({"description": spec["description"], "multiplicity": spec["multiplicity"]})
    if spec["entity"]:
        entity = entities.get(spec["entity"]) or {}
        usage["entity"] = _clean({"name": spec["entity"], "description": entity.get("description"),
                                  "docurl": entity.get("docurl"), "contentType": entity.get("content_type")})
    return usage
