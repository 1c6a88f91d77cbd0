"""Warnings about filter entries that are valid but cannot do what their author meant.

A misspelt module (``gammapy.makrs.*``), base class (``of: gammapy.makers.Makr``), argument
(``parameters: [overwrit]``) or attribute (``self.confg.fit``) passes validation and then
silently records nothing, or ``null``.  Three levels of checking find them, each with the
filter's file and line:

* :func:`module_warnings`, without importing anything: module patterns whose named package or
  module cannot be found (used by ``--debug filter`` at the start of a run);
* :func:`rule_problems`, for one matched function: arguments and ``self.`` attributes the rule
  reads that the function or its class does not have (used by ``--debug filter`` when a function
  is first matched, and by ``filters check``);
* :func:`import_warnings`, importing the modules a filter names: patterns that select no function,
  base classes that do not exist, and the rule problems of every function a pattern selects
  (``autoprov filters check``).
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.machinery
import importlib.util
import inspect
import pkgutil
import sys
from collections.abc import Iterator
from types import CodeType, ModuleType
from typing import Any, NamedTuple

from .compiler import Entry, FunctionSelection, MethodSelection
from .rules import Rule

WILDCARDS = "*?["
CO_VARKEYWORDS = 0x08
ALWAYS_THERE = frozenset({"__main__"})


class FilterWarning(NamedTuple):
    origin: str  # "file:line"
    message: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}"


# -- modules, without importing them -----------------------------------------------------------


def _literal_parts(pattern: str) -> tuple[list[str], list[str]]:
    """``gammapy.makers.*`` -> (['gammapy', 'makers'], ['*']): the parts before the first wildcard."""
    parts = pattern.split(".")
    for index, part in enumerate(parts):
        if any(char in part for char in WILDCARDS):
            return parts[:index], parts[index:]
    return parts, []


def find_module(name: str) -> Any:
    """The module spec of ``name`` found on the import path without importing it (nor its parents)."""
    if name in sys.modules:
        return getattr(sys.modules[name], "__spec__", None) or importlib.machinery.ModuleSpec(name, None)
    parts = name.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
    except (ImportError, ValueError):
        return None
    for index in range(1, len(parts)):
        if spec is None or not spec.submodule_search_locations:
            return None
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: index + 1]), list(spec.submodule_search_locations))
    return spec


def module_problem(pattern: str) -> str | None:
    """Why the module glob ``pattern`` can match no importable module, or None."""
    literal, rest = _literal_parts(pattern)
    if not literal or ".".join(literal) in ALWAYS_THERE:
        return None
    name = ".".join(literal)
    spec = find_module(name)
    if spec is None:
        return f"module pattern {pattern!r} matches no importable module: there is no module {name!r}"
    if rest:
        if not spec.submodule_search_locations:
            return f"module pattern {pattern!r} matches no importable module: {name!r} is a module, not a package"
        if rest[0] != "*" and not any(fnmatch.fnmatchcase(info.name, rest[0]) for info in pkgutil.iter_modules(spec.submodule_search_locations)):
            return f"module pattern {pattern!r} matches no importable module: {name!r} has no submodule matching {rest[0]!r}"
    return None


def _module_patterns(entry: Entry) -> list[str]:
    selection = entry.selection
    if isinstance(selection, FunctionSelection):
        return [text.partition(":")[0] for text, _, _ in selection.patterns]
    patterns = [module.text for module in selection.modules or ()]
    return patterns + [selection.base.rpartition(".")[0]]


def module_warnings(entries: list[Entry]) -> list[FilterWarning]:
    """Module patterns (and base classes' modules) that match no importable module."""
    warnings = []
    for entry in entries:
        for pattern in dict.fromkeys(_module_patterns(entry)):
            problem = module_problem(pattern)
            if problem:
                warnings.append(FilterWarning(entry.origin, problem))
    return warnings


# -- one matched function ------------------------------------------------------------------------


def _names_in(code: CodeType) -> Iterator[str]:
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, CodeType):  # comprehensions and nested functions
            yield from _names_in(constant)


def _class_has(cls: type, name: str) -> bool:
    """True when instances of ``cls`` can have the attribute ``name``: a class attribute, property
    or slot, or a name its methods (of any class in its MRO, decorators unwrapped) read or assign."""
    if hasattr(cls, name):
        return True
    for base in cls.__mro__:
        for value in vars(base).values():
            function = getattr(value, "__func__", value)
            function = getattr(function, "fget", function)
            try:
                function = inspect.unwrap(function)
            except ValueError:
                pass
            code = getattr(function, "__code__", None)
            if isinstance(code, CodeType) and name in set(_names_in(code)):
                return True
    return False


class Problem(NamedTuple):
    """Something a rule reads that one function does not have."""

    key: tuple[str, str]  # ("argument" | "attribute", name): the same problem in another function
    message: str


def rule_problems(rule: Rule, code: CodeType, owner: type | None) -> list[Problem]:
    """Arguments and ``self.`` attributes ``rule`` reads that the function (``code``, defined in the
    class ``owner``) does not have."""
    count = code.co_argcount + code.co_kwonlyargcount
    argnames = code.co_varnames[:count]
    qualname = getattr(code, "co_qualname", code.co_name)
    problems = []
    names = list(rule.parameters or ())
    sources = [spec.source for spec in (*rule.used, *rule.generated)] + list(rule.result_parameters)
    names += [source.split(".", 1)[0] for source in sources]
    if not code.co_flags & CO_VARKEYWORDS:  # with **kwargs any name may come
        for name in dict.fromkeys(names):
            if name not in argnames and name not in ("self", "cls", "return"):
                problems.append(Problem(("argument", name), f"{qualname} has no argument {name!r} (its arguments: {', '.join(argnames) or 'none'})"))
    if owner is not None:
        paths = list(rule.self_parameters) + [source[len("self."):] for source in sources if source.startswith("self.")]
        for path in dict.fromkeys(paths):
            attribute = path.split(".", 1)[0]
            if not _class_has(owner, attribute):
                problems.append(Problem(("attribute", attribute), f"{owner.__qualname__} has no attribute {attribute!r} (read as self.{path})"))
    return problems


def common_problems(origin: str, problems: list[list[Problem]]) -> list[FilterWarning]:
    """The problems every function an entry selects has (one rule often serves several functions,
    each with some of the arguments it names: a name is wrong only when none of them has it)."""
    if not problems:
        return []
    shared = set.intersection(*({problem.key for problem in one} for one in problems))
    warnings = []
    for key in sorted(shared):
        messages = [problem.message for one in problems for problem in one if problem.key == key]
        text = messages[0] if len(messages) == 1 else f"no function it selects has the {key[0]} {key[1]!r} ({'; '.join(messages[:3])}{'; ...' if len(messages) > 3 else ''})"
        warnings.append(FilterWarning(origin, text))
    return warnings


# -- importing what the filter names -------------------------------------------------------------


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except Exception:  # not importable here (optional dependency, broken module): nothing to check
        return None


def _modules_matching(pattern: str) -> Iterator[ModuleType]:
    literal, rest = _literal_parts(pattern)
    if not literal:
        return
    root = _import(".".join(literal))
    if root is None:
        return
    if not rest:
        yield root
        return
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), root.__name__ + "."):
        if fnmatch.fnmatchcase(info.name, pattern) and ".tests" not in info.name:
            module = _import(info.name)
            if module is not None:
                yield module


def _functions(module: ModuleType) -> Iterator[tuple[str, CodeType, type | None]]:
    """(qualname, code, defining class) of the functions, methods and property accessors of ``module``."""
    for value in list(vars(module).values()):
        if inspect.isfunction(value) and value.__module__ == module.__name__:
            yield value.__qualname__, value.__code__, None
        elif inspect.isclass(value) and value.__module__ == module.__name__:
            for member in vars(value).values():
                functions = [getattr(member, "__func__", member)]
                if isinstance(member, property):
                    functions = [f for f in (member.fget, member.fset, member.fdel) if f is not None]
                for function in functions:
                    if inspect.isfunction(function):
                        yield function.__qualname__, function.__code__, value


def _subclasses(base: type) -> Iterator[type]:
    for subclass in base.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)


def _methods_of(selection: MethodSelection, base: type) -> Iterator[tuple[CodeType, type]]:
    """The methods a ``methods: ... of: base`` entry selects among the classes loaded now."""
    for cls in (base, *_subclasses(base)):
        if not selection.may_match_module(cls.__module__):
            continue
        for name, member in vars(cls).items():
            code = getattr(getattr(member, "__func__", member), "__code__", None)
            if isinstance(code, CodeType) and any(method.match(name) for method in selection.methods):
                yield code, cls


def import_warnings(entries: list[Entry]) -> list[FilterWarning]:
    """What ``filters check`` says after importing the modules each entry names."""
    warnings = module_warnings(entries)
    for entry in entries:
        selection = entry.selection
        problems: list[list[Problem]] = []
        if isinstance(selection, MethodSelection):
            module_name, _, class_name = selection.base.rpartition(".")
            module = _import(module_name)
            base = getattr(module, class_name, None) if module is not None else None
            if module is not None and not isinstance(base, type):
                warnings.append(FilterWarning(entry.origin, f"base class {selection.base!r} does not exist ({module_name} has no class {class_name!r})"))
            elif isinstance(base, type) and entry.rule is not None:
                problems = [rule_problems(entry.rule, code, cls) for code, cls in _methods_of(selection, base)]
            warnings += common_problems(entry.origin, problems)
            continue
        for text, module_glob, qualname_glob in selection.patterns:
            matched = 0
            for module in _modules_matching(module_glob.text):
                for qualname, code, owner in _functions(module):
                    if "<" in qualname or selection.matches(module.__name__, qualname, vars(module), code) is None:
                        continue
                    matched += 1
                    if entry.rule is not None:
                        problems.append(rule_problems(entry.rule, code, owner))
            if matched == 0 and not module_problem(module_glob.text) and module_glob.text not in ALWAYS_THERE:
                warnings.append(FilterWarning(entry.origin, f"pattern {text!r} selects no function of the importable modules"))
        warnings += common_problems(entry.origin, problems)
    return list(dict.fromkeys(warnings))
