"""In the parent of a fork, run a function once ``os.fork()`` has returned to the program.

The log's thread restarts this way (:meth:`~autoprov.log.writer.EventLog.resume`): from 3.13 on,
Python counts the process's threads for its "process is multi-threaded, use of fork() may lead to
deadlocks" warning after the ``after_in_parent`` hooks ran (3.11 and 3.12 count before them), so a
thread started in a hook would be counted.  The function runs from a pending call of the main
thread (``Py_AddPendingCall``: the interpreter runs it at its next check of the eval breaker).
Such a check can come while at-fork hooks still run Python code, so the pending call looks at the
frame it interrupted: the frame that called ``os.fork()`` (noted before the fork), or that frame
past its call, means the fork has returned; anything else, and it schedules itself again.  In
CPython 3.13 the check that ends a call instruction comes right after ``os.fork()`` returns.

The native core schedules it in C (``_native.call_soon``); the pure core (the native one not
loaded) through ``ctypes`` (``Py_AddPendingCall`` is public C API), imported at the first fork.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

MAX_RESCHEDULES = 10_000  # a bound, never reached in practice: then the function runs anyway

_caller: tuple[FrameType, int] | None = None  # the frame that called os.fork(), and its instruction
_waiting: list[Callable[[FrameType | None], None]] = []  # pure core: the callbacks of the pending calls
_thunk: Any = None  # pure core: the one ctypes function every pending call runs (never freed)


def note_fork_caller() -> None:
    """Before the fork (in an at-fork hook): note the program's frame that calls ``os.fork()``."""
    global _caller
    frame = sys._getframe(1)
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith("autoprov."):
        frame = frame.f_back
    _caller = (frame, frame.f_lasti) if frame is not None else None


def when_fork_returned(function: Callable[[], None]) -> bool:
    """After the fork, in the parent: run ``function`` once ``os.fork()`` has returned.  False if
    it cannot be scheduled (run it now)."""
    global _caller
    caller, _caller = _caller, None
    if caller is None:
        return False
    return _schedule(lambda interrupted: _run_if_returned(function, caller, interrupted, 0))


def _run_if_returned(function: Callable[[], None], caller: tuple[FrameType, int],
                     interrupted: FrameType | None, rescheduled: int) -> None:
    frame, lasti = caller
    if interrupted is frame or frame.f_lasti != lasti or rescheduled >= MAX_RESCHEDULES:
        function()
    elif not _schedule(lambda later: _run_if_returned(function, caller, later, rescheduled + 1)):
        function()


def _schedule(callback: Callable[[FrameType | None], None]) -> bool:
    """A pending call of ``callback(interrupted frame)``: in C when the run loaded the native core."""
    native = sys.modules.get("autoprov._native")
    if native is None:
        return _schedule_ctypes(callback)
    return native.call_soon(lambda: callback(sys._getframe(1)))


def _schedule_ctypes(callback: Callable[[FrameType | None], None]) -> bool:
    global _thunk
    try:
        import ctypes
    except ImportError:
        return False
    if _thunk is None:
        _thunk = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)(_run_waiting)
    _waiting.append(callback)
    if ctypes.pythonapi.Py_AddPendingCall(_thunk, None) != 0:  # the queue is full
        _waiting.remove(callback)
        return False
    return True


def _run_waiting(_: Any) -> int:
    try:
        _waiting.pop(0)(sys._getframe(1))
    except BaseException:
        pass  # a pending call's error would surface in whatever code the program is running
    return 0
