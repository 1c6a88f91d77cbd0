"""Generators that end without any engine seeing it: Python 3.13's silent close.

From 3.13 on, ``close()`` of a generator (or coroutine) suspended at a yield outside any ``try``
block completes it without running its frame, and so does its finalisation when the program drops
it: no ``sys.monitoring``, trace or profile event reaches an engine (3.12 threw ``GeneratorExit``
into the frame, which every engine saw unwind).  The recorder therefore watches the generator of
each matched frame it suspends, through a weak reference (the program's generators must die when
it drops them), and at its next matched call and at the end of capture ends those no longer
suspended nor running as 3.12 records a close: completed (:meth:`Recorder.end_silent_closes`).
The end time is when that is noticed, not the ``close()`` itself.

The generator of a frame comes from the public C API ``PyFrame_GetGenerator``: through
``_native.frame_generator`` with the native core, through ``ctypes`` with the pure one (imported at
the first matched generator's first yield), and from ``frame.f_generator`` where Python has it
(3.14).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from operator import attrgetter
from types import AsyncGeneratorType, CoroutineType, FrameType, GeneratorType, ModuleType
from typing import Any

SILENT_CLOSES = sys.version_info >= (3, 13)


def generator_finder(native: ModuleType | None) -> Callable[[FrameType], Any] | None:
    """How to find a frame's generator on this Python, or None where closes are never silent."""
    if not SILENT_CLOSES:
        return None
    if hasattr(FrameType, "f_generator"):
        return _f_generator
    finder = getattr(native, "frame_generator", None)
    return finder if finder is not None else _ctypes_frame_generator


def _f_generator(frame: FrameType) -> Any:
    return frame.f_generator  # type: ignore[attr-defined]


_get_generator: Any = None  # ctypes' PyFrame_GetGenerator and Py_DecRef, bound at first use


def _ctypes_frame_generator(frame: FrameType) -> Any:
    global _get_generator
    if _get_generator is None:
        import ctypes

        api = ctypes.pythonapi
        get = api.PyFrame_GetGenerator
        get.argtypes, get.restype = [ctypes.py_object], ctypes.c_void_p
        api.Py_IncRef.argtypes = api.Py_DecRef.argtypes = [ctypes.c_void_p]
        cast = ctypes.cast
        py_object = ctypes.py_object

        def generator_of(frame: FrameType) -> Any:
            address = get(frame)  # a new reference, or NULL
            if not address:
                return None
            generator = cast(address, py_object).value  # a reference of our own
            api.Py_DecRef(address)  # the one PyFrame_GetGenerator returned
            return generator

        _get_generator = generator_of
    return _get_generator(frame)


STATE = {  # kind -> (suspended, running), both False once it has ended
    GeneratorType: attrgetter("gi_suspended", "gi_running"),
    CoroutineType: attrgetter("cr_suspended", "cr_running"),
    AsyncGeneratorType: attrgetter("ag_suspended", "ag_running"),
}
ENDED = (False, False)
