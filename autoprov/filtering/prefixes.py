"""Which filter entries could name a module, found by the module's dotted name.

Every module a glob matches starts with the glob's literal prefix (:class:`.compiler.Glob`).  The
complete components of that prefix (``gammapy.makers.`` -> ``gammapy``, ``makers``; the text after
its last dot may be cut short, so it does not count) must then be the module's first components
exactly.  Entries are filed under those components; a module looks up each of its own leading
component paths (``()``, ``("gammapy",)``, ``("gammapy", "makers")``, ...).  Deciding one of the
~2,400 modules a gammapy analysis imports then tries only the entries of its own subpackage
instead of every pattern of every filter: numpy, astropy and the standard library meet only the
few entries without a complete component (``__main__``, ``gam*``, a method rule with no module
list), and ``gammapy.maps.wcs`` does not try the rules of ``gammapy.datasets``.  The index only
prunes: the entries it returns are still asked :meth:`may_match_module`, so decisions are unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Sequence


# Protocols exist for the type checker only: creating one at run time costs ~0.15 ms of start-up (typing's metaclass)
if TYPE_CHECKING:
    from typing import Protocol

    class _Selection(Protocol):
        def module_prefixes(self) -> tuple[str, ...] | None: ...


    class _Entry(Protocol):
        @property
        def selection(self) -> _Selection: ...


def _components(prefix: str) -> tuple[str, ...]:
    """The components a module matched by ``prefix`` must start with (``a.b.c`` -> ``a``, ``b``)."""
    return tuple(prefix.split(".")[:-1])


class ModulePrefixIndex:
    """Entry positions filed under the leading module components every module they match has."""

    def __init__(self, entries: Sequence[_Entry]) -> None:
        self._by_components: dict[tuple[str, ...], set[int]] = defaultdict(set)
        for position, entry in enumerate(entries):
            prefixes = entry.selection.module_prefixes()
            for components in [()] if prefixes is None else {_components(prefix) for prefix in prefixes}:
                self._by_components[components].add(position)

    def positions(self, module: str) -> list[int]:
        """Positions of the entries that could match ``module``, in the order they were written."""
        parts = module.split(".")
        found: set[int] = set()
        for count in range(len(parts) + 1):
            found.update(self._by_components.get(tuple(parts[:count]), ()))
        return sorted(found)
