"""The frame-evaluation engine (Python 3.11, native core): the interpreter's eval-frame hook (PEP 523).

``autoprov._native.EvalFrame`` installs itself with ``_PyInterpreterState_SetEvalFrameFunc``, so it
runs for every frame evaluation of every thread of the interpreter (threads already running
included): a call, or a resume of a generator or coroutine (``throw()`` and ``close()`` resume with
the exception set).  A code object is decided once per capture through the same
:class:`~.frames.FrameDecisions` and plan map as the other engines, and the answer is kept in the
code object itself (its ``co_extra`` slot): a frame of any other code then costs one comparison
before the default evaluator runs it, with no trace function and so none of the interpreter's
tracing mode, which alone makes every traced 3.11 program ~1.57x slower.  Matched frames get a
frame object and the recorder's ``enter``/``resume`` before the evaluator and ``leave``/``suspend``
after it, with the exact return value or exception.

There is no pure twin (the hook is a C function pointer): with the pure core, or when another tool
already installed an eval-frame function (a JIT, a debugger), the settrace engine runs instead.
"""

from __future__ import annotations

from types import ModuleType

from ..filtering.plans import Planner, make_plan_cache
from ..recorder import Recorder
from .frames import FrameDecisions


def available(native: ModuleType | None) -> bool:
    """Whether this interpreter and core give the engine (the native core built for Python 3.11)."""
    return native is not None and hasattr(native, "EvalFrame")


def hook_free(native: ModuleType) -> bool:
    """Whether the interpreter still runs its default frame evaluator (no other PEP 523 hook)."""
    return bool(native.evalframe_free())


class EvalFrameEngine:
    name = "evalframe"

    def __init__(self, planner: Planner, recorder: Recorder, native: ModuleType | None = None) -> None:
        if not available(native):
            raise RuntimeError("the evalframe engine needs autoprov._native built for Python 3.11")
        assert native is not None
        self._native, self._recorder = native, recorder
        self._decisions = FrameDecisions(planner, recorder, make_plan_cache(native))
        self._hook = None  # the native EvalFrame, made at start()

    def start(self) -> None:
        # the hook takes the recorder's methods when the capture starts, as the monitoring engine's
        # callbacks do: what the session set up by then (the reliability tests' injected faults) is seen
        recorder, decisions = self._recorder, self._decisions
        self._hook = self._native.EvalFrame(
            decisions.modules, decisions.plans, decisions.module_decision, decisions.decide, recorder.enter,
            recorder.leave, recorder.suspend, recorder.resume, recorder.fault,
            prefixes=decisions.prefixes, nested_never=decisions.nested_never,
        )
        self._hook.start()

    def stop(self) -> None:
        self._decisions.active = False
        if self._hook is not None:
            self._hook.stop()

    def intact(self) -> bool:
        return self._hook is not None and bool(self._hook.installed())
