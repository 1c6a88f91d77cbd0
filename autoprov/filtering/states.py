"""Which Python classes are which entity of a filter, and what their state is.

A filter's ``entities`` may name the classes they describe (``types``: ``module:qualname`` globs,
subclasses included) and the attribute paths that make up an object's state (``state``), and say
that an entity is a ``Collection`` (its members are what it iterates over).  The recorder uses
this to give an object a new version when its state changed between two uses, and to follow
collections to their members (:mod:`autoprov.recorder.objects`).  A class is looked up once (its
method resolution order against the globs) and the answer cached.
"""

from __future__ import annotations

from ..records import NamedTuple

from .compiler import Glob, Validated


class TypeState(NamedTuple):
    """What the filter says about objects of one class."""

    entity: str  # the EntityDescription's name
    state: tuple[str, ...]  # dotted attribute paths whose values are the object's state
    collection: bool  # its members (what iterating over it gives) are entities too


class TypeEntry(NamedTuple):
    module: Glob
    qualname: Glob
    state: TypeState


def compile_types(validated: Validated) -> list[TypeEntry]:
    """The ``types`` of a filter's entities, in the order written."""
    entries = []
    for name, entity in validated.data["entities"].items():
        state = TypeState(name, tuple(entity.get("state") or ()), entity.get("kind") == "Collection")
        for pattern in entity.get("types") or ():
            module, _, qualname = pattern.partition(":")
            entries.append(TypeEntry(Glob(module), Glob(qualname), state))
    return entries


class ObjectStates:
    """Class -> :class:`TypeState` for the composed filters (a later filter's entry wins)."""

    def __init__(self, entries: list[TypeEntry]) -> None:
        self.entries = list(reversed(entries))
        self._cache: dict[type, TypeState | None] = {}

    def __bool__(self) -> bool:
        return bool(self.entries)

    def lookup(self, cls: type) -> TypeState | None:
        """The state of ``cls``: from the most derived class of its MRO that a filter names."""
        try:
            return self._cache[cls]
        except KeyError:
            pass
        found = None
        for base in getattr(cls, "__mro__", (cls,)):
            module, qualname = getattr(base, "__module__", "") or "", getattr(base, "__qualname__", "") or ""
            found = next((e.state for e in self.entries if e.module.match(module) and e.qualname.match(qualname)), None)
            if found is not None:
                break
        self._cache[cls] = found
        return found
