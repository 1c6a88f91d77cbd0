"""The matcher stage as the engines see it: one decision per code object, cached as a :class:`Plan`.

Engines hand a code object (and its module's globals) to :meth:`Planner.plan` once and cache the
answer: ``None`` for code that is not an activity (the monitoring engine then disables it for
good), else a :class:`Plan`, the filter's :class:`~autoprov.filtering.rules.Rule` plus everything
about the call that can be worked out once (argument names, which of them are files or secrets),
so the recorder's per-call work stays small.
"""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType
from typing import Any

from .. import events
from ..redaction import is_secret
from .rules import Matcher, Rule

CO_OPTIMIZED = 0x01
CO_VARARGS = 0x04
CO_VARKEYWORDS = 0x08
# Arguments of unannotated functions whose names say they are files, and verbs of writing functions.
FILENAME_HINTS = ("filename", "path", "file", "dir", "outdir")
WRITING_VERBS = ("write", "save", "to_", "dump", "export")


def code_key(code: CodeType) -> tuple[int, str, str]:
    """What the engines cache decisions under: cheap to hash, unlike a code object, which hashes
    its bytecode and constants (recursively) on every lookup.  Only functions nobody can select
    (lambdas and comprehensions on one line) can share a key, and they are never activities."""
    return (code.co_firstlineno, code.co_name, code.co_filename)


class Plan:
    """A rule plus everything about the call that can be worked out once per code object."""

    __slots__ = (
        "rule", "argnames", "bound", "writes", "names", "entity_args", "file_args", "untyped", "self_used", "secrets",
        "generated_args",
    )

    def __init__(self, rule: Rule, code: CodeType) -> None:
        count = code.co_argcount + code.co_kwonlyargcount
        count += bool(code.co_flags & CO_VARARGS) + bool(code.co_flags & CO_VARKEYWORDS)
        self.rule = rule
        self.argnames = code.co_varnames[:count]
        self.bound = bool(self.argnames) and self.argnames[0] in ("self", "cls")
        self.writes = code.co_name.startswith(WRITING_VERBS)
        self.entity_args = frozenset(spec.source.split(".", 1)[0] for spec in rule.used)
        candidates = self.argnames[1:] if self.bound else self.argnames
        # argument names read at each call: the rule's parameters (or all), minus explicit entities
        self.names = tuple(
            name for name in candidates
            if (rule.parameters is None or name in rule.parameters) and name not in self.entity_args
        )
        self.file_args = frozenset(name for name in self.names if any(hint in name for hint in FILENAME_HINTS))
        # with no parameter or entity list, arguments that are not configuration become entities
        self.untyped = rule.parameters is None and not rule.used
        self.self_used = any(spec.source == "self" for spec in rule.used)
        self.secrets = frozenset(name for name in self.names if is_secret(name))
        sources = {spec.source.split(".", 1)[0] for spec in rule.generated}
        sources.update(path.split(".", 1)[0] for path in rule.result_parameters)
        sources.discard("return")
        self.generated_args = tuple(self.argnames[0] if name == "self" and self.bound else name for name in sorted(sources))


class Planner:
    """Asks the matcher once per code object and announces each activity's IVOA description once."""

    def __init__(self, matcher: Matcher, emit: Callable[[tuple], None]) -> None:
        self.matcher = matcher
        self._emit = emit
        self._described: set[str] = set()  # activity names whose DESC event is written

    def may_match_module(self, name: str) -> bool:
        """False when no rule can select anything in module ``name`` (the fallback engines skip it)."""
        may_match = getattr(self.matcher, "may_match_module", None)
        return may_match is None or may_match(name)

    def plan(self, code: CodeType, module_globals: dict[str, Any]) -> Plan | None:
        """Once per code object: the recording plan, or None for code that is not an activity."""
        if not code.co_flags & CO_OPTIMIZED:
            return None  # module and class bodies are not calls
        rule = self.matcher.decide(code, module_globals)
        if rule is None:
            return None
        if rule.description and rule.name not in self._described:
            self._described.add(rule.name)
            self._emit((events.DESC, rule.name, rule.description))
        return Plan(rule, code)
