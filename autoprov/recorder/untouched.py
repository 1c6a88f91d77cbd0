"""Reading an object for the record leaves it as the program left it: no lazily cached attribute.

astropy's ``lazyproperty`` and ``functools.cached_property`` store their value in the instance's
``__dict__`` at the first read.  Rendering a gammapy ``MapAxis`` (its ``edges``, and the
interpolator behind them) or a ``RegionGeom`` (its ``center_skydir``, read by its repr) for the
record filled such caches, and every later ``copy.deepcopy`` the program made of its datasets copied
them too: crab_1d's deep copies made ~20,000 more ``id()`` calls under autoprov (+1.8 %, ~3,100
instructions each with the audit hook its dependencies install), and its objects held arrays
they would not have held; a SkyCoord's repr adds an entry to the representation cache its frame
keeps (``cache``, itself a lazy property), which every later deep copy of a region copied.
:class:`untouched` removes, once a read is over, the cache entries the read added to the object and
to the objects it holds (a few levels down: a geometry keeps its axes in a list inside a
container), and the entries it added inside caches lazy properties made, and nothing else.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import Any

MAX_DEPTH = 3  # a RegionGeom -> its MapAxes -> their list -> each MapAxis
MAX_OBJECTS = 200  # a bound on the walk: datasets hold many objects, few of them lazily cached


def cached_names(cls: type) -> frozenset[str]:
    """:func:`_cached_names` of ``cls``, remembered for classes whose hash is ``type``'s own (a
    metaclass's ``__hash__`` is the program's code, never called; such a class is looked into
    each time)."""
    if type(cls).__hash__ is type.__hash__:
        return _remembered_names(cls)
    return _cached_names(cls)


def _cached_names(cls: type) -> frozenset[str]:
    """Attributes of ``cls`` that cache their value in the instance dict at first read: a
    ``functools.cached_property``, or a ``property`` subclass (astropy's ``lazyproperty``; a
    subclass that does not cache never adds the key, so it is never removed)."""
    found: set[str] = set()
    try:
        for klass in cls.__mro__:
            for name, value in vars(klass).items():
                if isinstance(value, cached_property) or (isinstance(value, property) and type(value) is not property):
                    found.add(name)
    except Exception:  # a class that cannot be looked into: nothing is removed from its objects
        return frozenset()
    return frozenset(found)


_remembered_names = lru_cache(maxsize=512)(_cached_names)


def _instance_dicts(obj: Any) -> list[tuple[dict, frozenset[str], frozenset[str]]]:
    """(instance dict, its keys now, the names its class caches) of ``obj`` and of what it holds."""
    found: list[tuple[dict, frozenset[str], frozenset[str]]] = []
    pending = [(obj, 0)]
    visits = 0  # no identity set: id() would raise an audit event per object; a cycle spends the budget
    while pending and visits < MAX_OBJECTS:
        value, depth = pending.pop()
        visits += 1
        cls = type(value)
        if cls is list or cls is tuple:  # identity tests: nothing of the program's classes is asked
            items = value
        else:
            try:
                instance = object.__getattribute__(value, "__dict__")
            except AttributeError:
                continue
            if type(instance) is not dict:
                continue
            names = cached_names(cls)
            if names:
                found.append((instance, frozenset(instance), names))
                for name in names & instance.keys():  # a cache a lazy property made: its entries too
                    _cache_dicts(instance[name], found)
            items = list(instance.values())
        if depth < MAX_DEPTH:
            pending.extend((item, depth + 1) for item in items if not _leaf(type(item)))
    return found


_NONE = type(None)


def _leaf(cls: type) -> bool:
    """Values with nothing to cache (compared by identity: no class of the program is asked)."""
    return cls is str or cls is int or cls is float or cls is bool or cls is _NONE or cls is bytes or cls is complex


_EVERY_KEY = frozenset()  # marks a cache dict: any key added to it is removed


def _cache_dicts(cache: Any, found: list, depth: int = 0) -> None:
    """A dict a lazy property made (astropy frames keep ``cache['representation'][...]``): its keys
    now, and those of the dicts it holds, so that entries a read adds are removed too."""
    if not issubclass(type(cache), dict) or depth > 1:  # not isinstance: it may ask the object its __class__
        return
    found.append((cache, frozenset(cache), _EVERY_KEY))
    for value in list(cache.values()):
        _cache_dicts(value, found, depth + 1)


class untouched:
    """``with untouched(obj): read(obj)``: the lazily cached attributes the read adds are removed."""

    __slots__ = ("_before",)

    def __init__(self, obj: Any) -> None:
        try:
            self._before = _instance_dicts(obj)
        except Exception:  # an object that cannot be looked into is read as before, never a fault
            self._before = []

    def __enter__(self) -> untouched:
        return self

    def __exit__(self, *exc: object) -> None:
        for instance, keys, names in self._before:
            for key in [key for key in instance if key not in keys and (names is _EVERY_KEY or key in names)]:
                instance.pop(key, None)
