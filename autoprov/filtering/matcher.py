"""The matcher the engines use: ordered entries from every filter, the last match decides.

Engines ask once per code object (and the fallback engines once per module first, through
:meth:`FilterMatcher.may_match_module`), so the work here is paid a few thousand times per run at
most.  The entries that could apply to a module are found through its top-level package
(:mod:`.prefixes`) and cached per module name, so deciding a code object only tries the handful of
patterns that name its module.
"""

from __future__ import annotations

import sys
from types import CodeType
from typing import Any, TextIO

from .rules import Rule, module_of
from .compiler import BoundFunctions, Entry, FunctionSelection, MethodSelection, lookup, owner_class
from .prefixes import ModulePrefixIndex
from .states import ObjectStates, TypeEntry


class FilterMatcher:
    """Decides with the composed entries (later entries override earlier ones)."""

    def __init__(self, entries: list[Entry], sources: list[str] | None = None, debug: bool = False,
                 stream: TextIO | None = None, types: list[TypeEntry] | None = None) -> None:
        self.entries = entries
        self.sources = list(sources or [])  # the filters in composition order, for the run record
        self.debug = debug
        self._stream = stream
        self._by_module: dict[str, tuple[tuple[Entry, BoundFunctions | MethodSelection], ...]] = {}
        self._prefixes = ModulePrefixIndex(entries)
        self.states = ObjectStates(list(types or ()))  # handed to every rule: the recorder reads it
        self._warned: set[str] = set()
        self._unchecked_bases: list[Entry] = []  # --debug filter: base classes of modules still importing

    def _for_module(self, module: str) -> tuple[tuple[Entry, BoundFunctions | MethodSelection], ...]:
        """The entries that can select functions of ``module``, last written first, each with its
        selection bound to the module (its module globs already tested)."""
        found = self._by_module.get(module)
        if found is None:
            bound = []
            for position in reversed(self._prefixes.positions(module)):
                entry = self.entries[position]
                selection = entry.selection.bind(module)
                if selection is not None:
                    bound.append((entry, selection))
            found = self._by_module[module] = tuple(bound)
            if self.debug:
                self._check_bases([entry for entry, _ in found])
        return found

    def warn_about_modules(self) -> None:
        """``--debug filter``, before the program starts: module patterns that match no importable
        module (found without importing anything)."""
        from .lint import module_warnings

        for warning in module_warnings(self.entries):
            self._warn(str(warning))

    def _check_bases(self, entries: list[Entry]) -> None:
        """``--debug filter``: base classes whose module is imported but that do not exist.

        A module is bound when its own body starts running, before its classes exist: the base
        classes of a module still being imported are checked at the next decision after it."""
        pending, self._unchecked_bases = self._unchecked_bases + entries, []
        for entry in pending:
            selection = entry.selection
            module = sys.modules.get(selection.base.rpartition(".")[0]) if isinstance(selection, MethodSelection) else None
            if module is not None:
                if getattr(getattr(module, "__spec__", None), "_initializing", False):
                    self._unchecked_bases.append(entry)
                elif not isinstance(lookup(selection.base), type):
                    self._warn(f"{entry.origin}: base class {selection.base!r} does not exist "
                               f"({selection.base.rpartition('.')[0]} is imported and has no such class)")

    def _check_rule(self, entry: Entry, code: CodeType, qualname: str, module_globals: dict[str, Any]) -> None:
        """``--debug filter``: arguments and attributes the rule reads that this function lacks, when
        the entry selects this one function (a rule shared by several may name each one's arguments:
        ``filters check`` sees them all)."""
        selection = entry.selection
        if not isinstance(selection, FunctionSelection) or len(selection.patterns) != 1:
            return
        if any(char in selection.patterns[0][0].partition(":")[2] for char in "*?["):
            return
        from .lint import rule_problems

        for problem in rule_problems(entry.rule, code, owner_class(qualname, module_globals)):
            self._warn(f"{entry.origin}: {problem.message}")

    def _warn(self, text: str) -> None:
        if text not in self._warned:
            self._warned.add(text)
            self._say(f"warning: {text}")

    # Code whose qualified name has a '<' (lambdas, comprehensions, nested functions) is never an
    # activity here (:meth:`matches`): the native core decides it without calling Python.
    nested_never = True

    def include_prefixes(self) -> tuple[str, ...] | None:
        """The literal prefixes every module an include entry can select starts with (None: any
        module), shortest first with those another one covers left out: a module starting with none
        of them has no activity (:meth:`may_match_module` is False), which the engines' native core
        tests in C before any Python call."""
        found: set[str] = set()
        for entry in self.entries:
            if entry.rule is None:
                continue
            prefixes = entry.selection.module_prefixes()
            if prefixes is None:
                return None
            found.update(prefixes)
        kept: list[str] = []
        for prefix in sorted(found, key=len):
            if not prefix.startswith(tuple(kept)):
                kept.append(prefix)
        return tuple(kept)

    def may_match_module(self, module: str) -> bool:
        """False when no include entry can select any function of ``module``."""
        return any(entry.rule is not None for entry, _ in self._for_module(module))

    def matches(self, module: str, qualname: str, module_globals: dict[str, Any],
                code: CodeType | None = None) -> list[tuple[Entry, str]]:
        """Every entry matching the function, the deciding one (last written) first."""
        if "<" in qualname:  # lambdas, comprehensions, nested functions: never activities
            return []
        found = []
        for entry, selection in self._for_module(module):
            detail = selection.matches_in_module(qualname, module_globals, code)
            if detail is not None:
                found.append((entry, detail))
        return found

    def decide(self, code: CodeType, module_globals: dict[str, Any]) -> Rule | None:
        if self._unchecked_bases:  # --debug filter only: a module whose classes did not exist yet when bound
            self._check_bases([])
        module = module_of(module_globals)
        qualname = getattr(code, "co_qualname", code.co_name)
        found = self.matches(module, qualname, module_globals, code)
        if not found:
            return None
        entry, detail = found[0]
        if entry.rule is None:
            if self.debug and any(other.rule is not None for other, _ in found[1:]):
                self._say(f"excluded {module}.{qualname} ({entry.origin}: {detail})")
            return None
        if self.debug:
            self._say(f"activity {module}.{qualname} ({entry.origin}: {detail})")
            self._check_rule(entry, code, qualname, module_globals)
        return entry.rule._replace(name=f"{module}.{qualname}", states=self.states)

    def explain(self, code: CodeType, module_globals: dict[str, Any]) -> str:
        module = module_of(module_globals)
        qualname = getattr(code, "co_qualname", code.co_name)
        name = f"{module}.{qualname}"
        found = self.matches(module, qualname, module_globals, code)
        if not found:
            return f"{name}: not an activity (no filter entry selects it)"
        (entry, detail), overridden = found[0], found[1:]
        if entry.rule is None:
            text = f"{name}: not an activity (excluded by {entry.origin}: {detail})"
        else:
            text = f"{name}: activity (rule {entry.origin}: {detail})\n" + describe_rule(entry.rule)
        for other, other_detail in overridden:
            verb = "exclude" if other.rule is None else "rule"
            text += f"\n  overrides {verb} {other.origin}: {other_detail}"
        return text

    def _say(self, line: str) -> None:
        print(f"autoprov: filter: {line}", file=self._stream or sys.stderr)


def describe_rule(rule: Rule) -> str:
    """What a rule records, one aspect per line (for ``filters explain``)."""
    if rule.parameters is None:
        arguments = "every argument but self"
    else:
        arguments = ", ".join(rule.parameters) or "none"
    lines = [f"  nested activities: {'recorded' if rule.nested else 'not recorded'}", f"  parameters: {arguments}"]
    if rule.self_parameters:
        lines.append("  parameters of self: " + ", ".join(rule.self_parameters))
    if rule.result_parameters:
        lines.append("  results: " + ", ".join(rule.result_parameters))
    for title, specs in (("used", rule.used), ("generated", rule.generated)):
        for spec in specs:
            extra = f", members {spec.members}" if spec.members else ""
            extra += f", index {spec.index}" if spec.index else ""
            lines.append(f"  {title}: {spec.role} <- {spec.source} ({spec.kind}{extra})")
    return "\n".join(lines)
