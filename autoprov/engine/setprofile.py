"""The ``sys.setprofile`` engine: for when ``sys.settrace`` belongs to a debugger or coverage.

A profile function sees every call and return, C functions included, and cannot switch itself off
per frame, so it is dearer than ``settrace``; it is chosen automatically only when a trace
function is already installed.  With the native core it is ``autoprov._native.FrameTracer`` in
profile mode (``PyEval_SetProfile``; C calls return at once, and an exception unwinding a frame is
seen exactly).  With the pure core, matched frames are remembered in a set (frames hash by
identity, so no ``id()`` and no audit event), which is how a 'return' is told to concern us.
A profile function is never told which exception unwinds a frame; a generator unwinding from its
yield after ``throw()``/``close()`` is recorded with the thrown exception where the interpreter
passes it (3.12: the 'call' that resumes the frame carries it), and as closed (``GeneratorExit``)
where it does not (3.11).  3.13 no longer passes it, nor stops the frame at a different instruction
for a throw, so from 3.13 on the engine also takes a ``sys.monitoring`` tool id for the PY_THROW
event alone (a generator resumed by ``throw()``/``close()``, rare) and notes the exception there.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import CodeType, FrameType, ModuleType
from typing import Any

from ..filtering.plans import Planner
from ..recorder import Recorder
from .frames import FrameEngine
from .monitoring import TOOL_NAME, free_tool_id

THROW_NOT_PROFILED = sys.version_info >= (3, 13)  # the profile 'call' of a throw() no longer carries it


class SetprofileEngine(FrameEngine):
    name = "setprofile"
    install = "setprofile"

    def __init__(self, planner: Planner, recorder: Recorder, native: ModuleType | None = None) -> None:
        self._matched: set[FrameType] = set()
        self._throw_tool: int | None = None  # 3.13+: the sys.monitoring tool id of the PY_THROW callback
        super().__init__(planner, recorder, native)

    def start(self) -> None:
        super().start()
        if THROW_NOT_PROFILED:
            self._watch_throws()

    def stop(self) -> None:
        super().stop()
        tool_id, self._throw_tool = self._throw_tool, None
        if tool_id is not None:
            monitoring = sys.monitoring
            monitoring.set_events(tool_id, 0)
            monitoring.register_callback(tool_id, monitoring.events.PY_THROW, None)
            monitoring.free_tool_id(tool_id)

    def _watch_throws(self) -> None:
        """3.13+: a PY_THROW callback notes the exception thrown into a matched generator."""
        monitoring = sys.monitoring
        tool_id = free_tool_id()
        if tool_id is None:  # every tool id taken: a thrown exception is recorded as on 3.11
            return
        monitoring.use_tool_id(tool_id, TOOL_NAME)
        self._throw_tool = tool_id
        monitoring.register_callback(tool_id, monitoring.events.PY_THROW, self._on_throw)
        monitoring.set_events(tool_id, monitoring.events.PY_THROW)

    def _on_throw(self, code: CodeType, offset: int, exception: BaseException) -> None:
        # Cost: only when throw() or close() resumes a generator's frame (rare); one lookup for
        # unmatched code.  The profile 'call' of the same resume comes before or after it.
        decisions = self._decisions
        if not decisions.active or decisions.plans.get(code) is None:
            return
        try:
            frame = sys._getframe(1)
            decisions.errors[frame] = exception
            decisions.handled.discard(frame)
        except Exception as error:
            self._recorder.fault("engine", error)

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
