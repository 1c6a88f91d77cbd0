"""The matcher the engines use: ordered entries from every filter, the last match decides.

Engines ask once per code object (and the fallback engines once per module first, through
:meth:`FilterMatcher.may_match_module`), so the work here is paid a few thousand times per run at
most.  The entries that could apply to a module are cached per module name, so deciding a code
object only tries the handful of patterns that name its module.
"""

from __future__ import annotations

import sys
from types import CodeType
from typing import Any, TextIO

from .rules import Rule, module_of
from .compiler import Entry


class FilterMatcher:
    """Decides with the composed entries (later entries override earlier ones)."""

    def __init__(self, entries: list[Entry], sources: list[str] | None = None, debug: bool = False,
                 stream: TextIO | None = None) -> None:
        self.entries = entries
        self.sources = list(sources or [])  # the filters in composition order, for the run record
        self.debug = debug
        self._stream = stream
        self._by_module: dict[str, tuple[Entry, ...]] = {}

    def _for_module(self, module: str) -> tuple[Entry, ...]:
        entries = self._by_module.get(module)
        if entries is None:
            entries = self._by_module[module] = tuple(
                entry for entry in reversed(self.entries) if entry.selection.may_match_module(module)
            )
        return entries

    def may_match_module(self, module: str) -> bool:
        """False when no include entry can select any function of ``module``."""
        return any(entry.rule is not None for entry in self._for_module(module))

    def matches(self, module: str, qualname: str, module_globals: dict[str, Any]) -> list[tuple[Entry, str]]:
        """Every entry matching the function, the deciding one (last written) first."""
        if "<" in qualname:  # lambdas, comprehensions, nested functions: never activities
            return []
        found = []
        for entry in self._for_module(module):
            detail = entry.selection.matches(module, qualname, module_globals)
            if detail is not None:
                found.append((entry, detail))
        return found

    def decide(self, code: CodeType, module_globals: dict[str, Any]) -> Rule | None:
        module = module_of(module_globals)
        qualname = getattr(code, "co_qualname", code.co_name)
        found = self.matches(module, qualname, module_globals)
        if not found:
            return None
        entry, detail = found[0]
        if entry.rule is None:
            if self.debug and any(other.rule is not None for other, _ in found[1:]):
                self._say(f"excluded {module}.{qualname} ({entry.origin}: {detail})")
            return None
        if self.debug:
            self._say(f"activity {module}.{qualname} ({entry.origin}: {detail})")
        return entry.rule._replace(name=f"{module}.{qualname}")

    def explain(self, code: CodeType, module_globals: dict[str, Any]) -> str:
        module = module_of(module_globals)
        qualname = getattr(code, "co_qualname", code.co_name)
        name = f"{module}.{qualname}"
        found = self.matches(module, qualname, module_globals)
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
