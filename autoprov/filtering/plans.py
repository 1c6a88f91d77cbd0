"""The matcher stage as the engines see it: one decision per code object, cached as a :class:`Plan`.

Engines hand a code object (and its module's globals) to :meth:`Planner.plan` once and cache the
answer: ``None`` for code that is not an activity (the monitoring engine then disables it for
good), else a :class:`Plan`, the filter's :class:`~autoprov.filtering.rules.Rule` plus everything
about the call that can be worked out once (argument names, which of them are files or secrets),
so the recorder's per-call work stays small.
"""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType, ModuleType
from typing import TYPE_CHECKING, Any

from .. import events
from ..redaction import is_secret
from .compiler import reads_property
from .rules import Rule

if TYPE_CHECKING:
    from .rules import Matcher

CO_OPTIMIZED = 0x01
CO_VARARGS = 0x04
CO_VARKEYWORDS = 0x08
CO_GENERATOR_FLAGS = 0x20 | 0x80 | 0x200  # CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR
# Arguments of unannotated functions whose names say they are files, and verbs of writing functions.
FILENAME_HINTS = ("filename", "path", "file", "dir", "outdir")
WRITING_VERBS = ("write", "save", "to_", "dump", "export")


class PlanCache:
    """Code object -> plan, by identity: the pure-Python twin of ``autoprov._native.CodeMap``.

    Neither obvious key works: a code object hashes its bytecode and constants on every lookup
    (0.4-3 us on 3.12), and ``id()`` raises an audit event.  So entries are found under (first
    line, name, file) and then checked with ``is``: a function redefined with the same name and
    first line (``importlib.reload``, a notebook cell run again) is a new code object and gets its
    own decision instead of the old one's plan.  Entries hold their code objects alive, so an
    identity is never reused while cached.  Hot paths read :attr:`first` directly: the newest
    ``(code, plan)`` under each key; older code objects under the same key go to ``_older``.
    """

    __slots__ = ("first", "_older")

    def __init__(self) -> None:
        self.first: dict[tuple[int, str, str], tuple[CodeType, Plan | None]] = {}
        self._older: dict[tuple[int, str, str], list[tuple[CodeType, Plan | None]]] = {}

    def get(self, code: CodeType, default: Any = None) -> Any:
        key = (code.co_firstlineno, code.co_name, code.co_filename)
        entry = self.first.get(key)
        if entry is None:
            return default
        if entry[0] is code:
            return entry[1]
        for other, plan in self._older.get(key, ()):
            if other is code:
                return plan
        return default

    def __setitem__(self, code: CodeType, plan: Plan | None) -> None:
        key = (code.co_firstlineno, code.co_name, code.co_filename)
        entry = self.first.get(key)
        if entry is not None and entry[0] is not code:
            older = self._older.setdefault(key, [])
            older[:] = [item for item in older if item[0] is not code]
            older.append(entry)
        self.first[key] = (code, plan)

    def __contains__(self, code: CodeType) -> bool:
        return self.get(code, _MISSING) is not _MISSING

    def __len__(self) -> int:
        return len(self.first) + sum(len(older) for older in self._older.values())

    def clear(self) -> None:
        self.first.clear()
        self._older.clear()


_MISSING = object()


def make_plan_cache(native: ModuleType | None) -> Any:
    """The code -> plan map of the core in use: ``_native.CodeMap`` or :class:`PlanCache`."""
    return native.CodeMap() if native is not None else PlanCache()


class Plan:
    """A rule plus everything about the call that can be worked out once per code object."""

    __slots__ = (
        "rule", "argnames", "bound", "writes", "names", "entity_args", "file_args", "untyped", "self_used", "secrets",
        "generated_args", "generator", "results", "generates", "scalar_only", "internal",
        "description",
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
        self.generator = bool(code.co_flags & CO_GENERATOR_FLAGS)  # suspends and resumes
        self.results = bool(rule.result_parameters)  # values to read at return
        self.generates = bool(rule.generated)  # entities the rule names, looked for at return
        # calls: program: the package whose own calls of this function are not activities ("gammapy.")
        self.internal = rule.name.split(".", 1)[0] + "." if rule.program_calls else None
        self.description: dict | None = None  # `calls: program`: announced at its first recorded call
        # Calls whose start records nothing but their arguments as parameters: no self, entity, file
        # or secret to look at and no argument kept for the return, so Recorder.enter reads plain
        # scalar arguments directly (Arguments.scalars); other values take the general path.
        self.scalar_only = not (
            self.bound or rule.self_parameters or rule.used or self.file_args or self.secrets or self.generated_args
        )


class Planner:
    """Asks the matcher once per code object and announces each activity's IVOA description once."""

    def __init__(self, matcher: Matcher, emit: Callable[[tuple], None]) -> None:
        self.matcher = matcher
        self._emit = emit
        self._described: set[str] = set()  # activity names whose DESC event is written

    def module_prefixes(self) -> tuple[str, ...] | None:
        """Prefixes every module with an activity starts with (None: any module, or not known)."""
        prefixes = getattr(self.matcher, "include_prefixes", None)
        return None if prefixes is None else prefixes()

    @property
    def nested_never(self) -> bool:
        """True when code with a '<' in its qualified name is never an activity (the matcher says so)."""
        return bool(getattr(self.matcher, "nested_never", False))

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
        qualname = getattr(code, "co_qualname", code.co_name)
        if "." in qualname and reads_property(code, qualname, module_globals):  # once per code object: 1-2 us CPU
            # a property read: marked in the rule id its ACT events carry, so it costs no call anything
            rule = rule._replace(rule_id=rule.rule_id + events.GETTER)
        plan = Plan(rule, code)
        if rule.description and rule.name not in self._described:
            self._described.add(rule.name)
            if rule.program_calls:  # maybe never recorded (only called by its own package): no description yet
                plan.description = rule.description
            else:
                self._emit((events.DESC, rule.name, rule.description))
        return plan
