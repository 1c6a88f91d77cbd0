"""``NamedTuple`` for autoprov's record classes, without ``typing.NamedTuple``'s cost at start-up.

Every module here uses ``from __future__ import annotations``, so a field's annotation is a
string, and ``typing.NamedTuple`` turns each one into a ``ForwardRef``, which compiles it:
callgrind counts ~1.3 M instructions per field (a 10-field class: 14.8 M against 1.7 M), and the
classes a ``python -m autoprov`` run creates had ~55 such fields (builtin ``compile`` was ~15 M of
the empty script's 0.25 G extra instructions).  This class statement builds the same
``collections.namedtuple`` (fields, defaults, methods, docstring) and keeps the annotations as
the strings they are.  Type checkers see ``typing.NamedTuple`` itself.

    from ..records import NamedTuple

    class Entry(NamedTuple):
        selection: Selection
        rule: Rule | None = None
"""

from __future__ import annotations

import collections

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads the name)
if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    # names a namedtuple defines itself, or that would break it if copied from the class body
    _KEPT = frozenset({"__module__", "__qualname__", "__annotations__", "__slots__", "__dict__", "__weakref__", "__classcell__"})
    _REFUSED = frozenset({"__new__", "__init__", "__getnewargs__", "_make", "_replace", "_asdict", "_fields", "_field_defaults"})

    class _RecordType(type):
        """Metaclass of :class:`NamedTuple`: a subclass statement returns a namedtuple class."""

        def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict, **kwargs: object) -> type:
            if not namespace.get("_autoprov_record_base", False) and bases == (NamedTuple,):
                return _build(name, namespace)
            return super().__new__(mcls, name, bases, namespace, **kwargs)

    def _build(name: str, namespace: dict) -> type:
        fields = dict(namespace.get("__annotations__", {}))
        defaults = []
        for field in fields:
            if field in namespace:
                defaults.append(namespace[field])
            elif defaults:
                raise TypeError(f"{name}: non-default field {field!r} follows a field with a default")
        record = collections.namedtuple(name, list(fields), defaults=defaults, module=namespace.get("__module__"))
        record.__qualname__ = namespace.get("__qualname__", name)
        record.__annotations__ = fields
        for key, value in namespace.items():
            if key in _REFUSED:
                raise AttributeError(f"{name}: cannot overwrite NamedTuple attribute {key}")
            if key not in _KEPT and key not in fields:
                setattr(record, key, value)
        return record

    class NamedTuple(metaclass=_RecordType):
        """Base of a record class statement (see the module docstring); never instantiated itself."""

        _autoprov_record_base = True
