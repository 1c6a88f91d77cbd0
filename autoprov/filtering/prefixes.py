"""Which filter entries could name a module, found by the module's top-level package.

Every module a glob matches starts with the glob's literal prefix (:class:`.compiler.Glob`).  A
prefix with a dot (``gammapy.makers.``) pins the module's top-level package exactly (``gammapy``),
so the entries are grouped by that package; the rest (``__main__``, ``gam*``, a method rule with
no module list) are tried for every module.  Deciding one of the ~2,200 modules a gammapy analysis
imports then tries the handful of entries of its package instead of every pattern of every filter:
numpy, astropy and the standard library meet only the few "open" entries.  The index only prunes:
the entries it returns are still asked :meth:`may_match_module`, so decisions are unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol, Sequence


class _Selection(Protocol):
    def module_prefixes(self) -> tuple[str, ...] | None: ...


class _Entry(Protocol):
    @property
    def selection(self) -> _Selection: ...


class ModulePrefixIndex:
    """Entry positions by top-level package, and the positions every module must try."""

    def __init__(self, entries: Sequence[_Entry]) -> None:
        self._by_package: dict[str, list[int]] = defaultdict(list)
        self._open: list[int] = []
        for position, entry in enumerate(entries):
            prefixes = entry.selection.module_prefixes()
            packages = set()
            for prefix in () if prefixes is None else prefixes:
                package, dot, _ = prefix.partition(".")
                if not dot:
                    packages = None
                    break
                packages.add(package)
            if prefixes is None or packages is None:
                self._open.append(position)
            else:
                for package in packages:
                    self._by_package[package].append(position)
        self._merged: dict[str, tuple[int, ...]] = {}

    def positions(self, module: str) -> tuple[int, ...]:
        """Positions of the entries that could match ``module``, in the order they were written."""
        package = module.partition(".")[0]
        merged = self._merged.get(package)
        if merged is None:
            merged = self._merged[package] = tuple(sorted({*self._open, *self._by_package.get(package, ())}))
        return merged
