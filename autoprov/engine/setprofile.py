"""The ``sys.setprofile`` engine: for when ``sys.settrace`` belongs to a debugger or coverage.

A profile function sees every call and return, C functions included, and cannot switch itself off
per frame, so it is dearer than ``settrace``; it is chosen automatically only when a trace
function is already installed.  With the native core it is ``autoprov._native.FrameTracer`` in
profile mode (``PyEval_SetProfile``; C calls return at once, and an exception unwinding a frame is
seen exactly).  With the pure core, matched frames are remembered in a set (frames hash by
identity, so no ``id()`` and no audit event), which is how a 'return' is told to concern us.
A profile function is never told which exception unwinds a frame; a generator unwinding from its
yield after ``throw()``/``close()`` is recorded with the thrown exception where the interpreter
passes it (3.12) and as closed (``GeneratorExit``) where it does not (3.11).
"""

from __future__ import annotations

from collections.abc import Callable
from types import FrameType, ModuleType
from typing import Any

from ..filtering.plans import Planner
from ..recorder import Recorder
from .frames import FrameEngine


class SetprofileEngine(FrameEngine):
    name = "setprofile"
    install = "setprofile"

    def __init__(self, planner: Planner, recorder: Recorder, native: ModuleType | None = None) -> None:
        self._matched: set[FrameType] = set()
        super().__init__(planner, recorder, native)

    def make_hook(self) -> Callable[[FrameType, str, Any], None]:
        """The profile function (pure core), a closure so the hot path reads only fast local names."""
        decisions = self._decisions
        modules = decisions.modules
        module_decision = decisions.module_decision
        first = decisions.plans.first
        plan_of = decisions.plan_of
        matched = self._matched
        recorder = self._recorder

        def on_event(frame: FrameType, event: str, arg: Any) -> None:
            # Runs for every call and return, C functions included.  Cost: C events and returns of
            # unmatched frames one comparison and one set lookup; calls of frames of modules with
            # no activity one f_globals read and one dict lookup.
            if event == "call":
                try:
                    if not modules[frame.f_globals["__name__"]]:
                        return
                except KeyError:
                    if not module_decision(frame):
                        return
                try:
                    code = frame.f_code
                    entry = first.get((code.co_firstlineno, code.co_name, code.co_filename))
                    plan = entry[1] if entry is not None and entry[0] is code else plan_of(code, frame.f_globals)
                    if plan is not None:
                        decisions.started(plan, frame, arg)
                        matched.add(frame)
                except Exception as error:
                    recorder.fault("engine", error)
            elif frame in matched and event == "return":
                try:
                    decisions.returned(frame, arg)
                    if not recorder.is_suspended(frame):
                        matched.discard(frame)
                except Exception as error:
                    recorder.fault("engine", error)

        return on_event
