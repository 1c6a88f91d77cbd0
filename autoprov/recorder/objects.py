"""Stable ids for Python objects seen as entities, by identity, robust to ``id()`` reuse.

An object returned by one activity and passed to another must be *one* entity.  CPython reuses
``id()`` values after an object is freed, so an id alone could link two unrelated objects.  Each
entry keeps a weak reference (or, for objects that cannot be weakly referenced, such as lists and
tuples, the object itself) and is trusted only while it still points at the very same object.
``__eq__`` and ``__hash__`` of user objects are never called.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable
from typing import Any

from .. import events
from .values import describe_object

MAX_MEMBERS = 1000
COLLECTION_TYPE_NAMES = frozenset({"Datasets", "Observations", "Models", "DatasetModels", "FluxPointsDatasets"})


class ObjectRegistry:
    def __init__(self, emit: Callable[[tuple], None]) -> None:
        self._emit = emit
        self._entries: dict[int, tuple[int, Any, bool]] = {}
        self._keys = itertools.count(1)

    def key(self, obj: Any) -> int:
        """The entity id of ``obj``, describing it on first sight (cost: one dict lookup if known)."""
        entry = self._entries.get(id(obj))
        if entry is not None:
            key, ref, weak = entry
            if (ref() if weak else ref) is obj:
                return key
        key = next(self._keys)
        try:
            self._entries[id(obj)] = (key, weakref.ref(obj), True)
        except TypeError:  # lists, tuples, ints...: keep them alive so their id is never reused
            self._entries[id(obj)] = (key, obj, False)
        self._emit((events.OBJ, key, describe_object(obj)))
        self._members(key, obj)
        return key

    def new_version(self, obj: Any) -> int:
        """A new entity id for an object changed in place; later uses refer to this version."""
        self._entries.pop(id(obj), None)
        return self.key(obj)

    def known(self, obj: Any) -> bool:
        entry = self._entries.get(id(obj))
        return entry is not None and (entry[1]() if entry[2] else entry[1]) is obj

    def _members(self, key: int, obj: Any) -> None:
        """``hadMember`` for gammapy collections (Datasets, Observations, ...) and lists of objects."""
        cls = type(obj)
        if cls.__name__ not in COLLECTION_TYPE_NAMES and cls not in (list, tuple):
            return
        try:
            members = list(itertools.islice(iter(obj), MAX_MEMBERS))
        except Exception:
            return
        from .values import is_parameter_like

        for member in members:
            if not is_parameter_like(member):
                self._emit((events.MEMBER, key, self.key(member)))

    def add_members(self, key: int, members: Any) -> None:
        """Members named by a filter rule (``members:`` path) for a collection entity."""
        for member in itertools.islice(iter(members), MAX_MEMBERS):
            self._emit((events.MEMBER, key, self.key(member)))
