"""The ``sys.monitoring`` engine (Python >= 3.12): matched code only, everything else disabled.

Only PY_START, PY_UNWIND and PY_THROW are enabled globally.  The first PY_START of a code object
decides it: a complete module is decided at once, as on the fallback engines
(:meth:`FrameDecisions.module_decision`), so the first call of any function of a module without
activities returns ``DISABLE`` after one dict lookup, and a code object of a module with
activities is asked of the planner once; unmatched code never calls back again.  Matched code
objects get local PY_RETURN / PY_YIELD / PY_RESUME events.  PY_UNWIND and PY_THROW (a generator
resumed by ``throw()`` or ``close()``) cannot be enabled per code object; their callbacks return
after one lookup for unmatched code.  Decisions are cached by code identity and hold their code
objects alive, so a function redefined with the same name and first line gets its own decision.

With the native core the callbacks are ``autoprov._native.Monitor``'s C methods: the lookups run
in C and the frame comes from ``PyEval_GetFrame`` (no ``sys._getframe``, which raises an audit
event); Python runs only the recorder for matched code.
"""

from __future__ import annotations

import sys
from types import CodeType, ModuleType
from typing import Any

from ..filtering.plans import Planner, make_plan_cache
from ..recorder import Recorder
from .frames import FrameDecisions

# Preferred ids: the two unnamed ones first, the named ones (debugger 0, coverage 1, profiler 2,
# optimizer 5) last, and never one already in use.
TOOL_ID_PREFERENCE = (3, 4, 2, 5, 1, 0)
TOOL_NAME = "autoprov"
_used_before = False  # True once an earlier capture in this process disabled code objects


def free_tool_id() -> int | None:
    monitoring = sys.monitoring
    for tool_id in TOOL_ID_PREFERENCE:
        if monitoring.get_tool(tool_id) is None:
            return tool_id
    return None


class MonitoringEngine:
    name = "monitoring"

    def __init__(self, planner: Planner, recorder: Recorder, native: ModuleType | None = None) -> None:
        self._recorder = recorder
        self._native = native
        self._decisions = FrameDecisions(planner, recorder, make_plan_cache(native), on_matched=self._enable_local)
        self._first = getattr(self._decisions.plans, "first", None)  # pure core: the PlanCache entries, read inline
        self._matched: list[CodeType] = []
        self._tool_id: int | None = None

    def start(self) -> None:
        global _used_before
        monitoring = sys.monitoring
        events = monitoring.events
        tool_id = free_tool_id()
        if tool_id is None:
            raise RuntimeError("no free sys.monitoring tool id")
        monitoring.use_tool_id(tool_id, TOOL_NAME)
        self._tool_id = tool_id
        if _used_before:
            monitoring.restart_events()  # code disabled by an earlier capture may match this one
        _used_before = True
        callbacks = self._callbacks()
        for event, callback in callbacks.items():
            monitoring.register_callback(tool_id, event, callback)
        monitoring.set_events(tool_id, events.PY_START | events.PY_UNWIND | events.PY_THROW)

    def _callbacks(self) -> dict[int, Any]:
        events = sys.monitoring.events
        if self._native is not None:
            recorder, decisions = self._recorder, self._decisions
            monitor = self._native.Monitor(
                decisions.modules, decisions.plans, decisions.module_decision, decisions.decide, recorder.enter,
                recorder.leave, recorder.suspend, recorder.resume, recorder.fault, sys.monitoring.DISABLE,
                prefixes=decisions.prefixes, nested_never=decisions.nested_never,
            )
            return {events.PY_START: monitor.on_start, events.PY_RETURN: monitor.on_return,
                    events.PY_YIELD: monitor.on_yield, events.PY_RESUME: monitor.on_resume,
                    events.PY_THROW: monitor.on_resume, events.PY_UNWIND: monitor.on_unwind}
        return {events.PY_START: self._on_start, events.PY_RETURN: self._on_return,
                events.PY_YIELD: self._on_yield, events.PY_RESUME: self._on_resume,
                events.PY_THROW: self._on_resume, events.PY_UNWIND: self._on_unwind}

    def stop(self) -> None:
        """Release the tool id.  Safe against other threads meeting new code meanwhile: they see
        ``active`` False or a released tool id and do nothing."""
        self._decisions.active = False
        if self._tool_id is None:
            return
        monitoring = sys.monitoring
        tool_id, self._tool_id = self._tool_id, None
        monitoring.set_events(tool_id, 0)
        for code in self._matched:
            monitoring.set_local_events(tool_id, code, 0)
        for event in (monitoring.events.PY_START, monitoring.events.PY_RETURN, monitoring.events.PY_YIELD,
                      monitoring.events.PY_RESUME, monitoring.events.PY_THROW, monitoring.events.PY_UNWIND):
            monitoring.register_callback(tool_id, event, None)
        monitoring.free_tool_id(tool_id)

    def intact(self) -> bool:
        return self._tool_id is not None and sys.monitoring.get_tool(self._tool_id) == TOOL_NAME

    def _enable_local(self, code: CodeType) -> None:
        """A code object just decided to be an activity: its returns, yields and resumes matter."""
        tool_id = self._tool_id
        if tool_id is None:
            return
        events = sys.monitoring.events
        try:
            sys.monitoring.set_local_events(tool_id, code, events.PY_RETURN | events.PY_YIELD | events.PY_RESUME)
        except ValueError:
            if self._tool_id is not None:  # not the tool id released by a concurrent stop()
                raise
            return
        self._matched.append(code)

    # -- callbacks of the pure core: the hot path ----------------------------------------------

    def _on_start(self, code: CodeType, offset: int) -> Any:
        # Cost: unmatched code runs this once per code object (then DISABLE; a module without
        # activities after one dict lookup); matched code pays one dict lookup with an identity
        # check plus Recorder.enter (measured 1.6 us with three scalar arguments on this core).
        entry = self._first.get((code.co_firstlineno, code.co_name, code.co_filename))
        if entry is not None and entry[0] is code:
            plan = entry[1]
        else:
            try:
                plan = self._decisions.frame_plan(code, sys._getframe(1))
            except Exception as error:
                self._recorder.fault("engine", error)
                plan = None
        if plan is None:
            return sys.monitoring.DISABLE
        try:
            self._recorder.enter(plan, sys._getframe(1))
        except Exception as error:
            self._recorder.fault("engine", error)
        return None

    def _matched_plan(self, code: CodeType) -> bool:
        entry = self._first.get((code.co_firstlineno, code.co_name, code.co_filename))
        if entry is not None and entry[0] is code:
            return entry[1] is not None
        return self._decisions.plans.get(code) is not None

    def _on_return(self, code: CodeType, offset: int, value: Any) -> None:
        try:
            self._recorder.leave(sys._getframe(1), value, None)
        except Exception as error:
            self._recorder.fault("engine", error)

    def _on_unwind(self, code: CodeType, offset: int, error: BaseException) -> None:
        # Cost: runs for every Python frame an exception leaves; one dict lookup when unmatched.
        entry = self._first.get((code.co_firstlineno, code.co_name, code.co_filename))
        if entry is None or (entry[1] if entry[0] is code else self._decisions.plans.get(code)) is None:
            return
        try:
            self._recorder.leave(sys._getframe(1), None, error)
        except Exception as fault:
            self._recorder.fault("engine", fault)

    def _on_yield(self, code: CodeType, offset: int, value: Any) -> None:
        try:
            self._recorder.suspend(sys._getframe(1))
        except Exception as error:
            self._recorder.fault("engine", error)

    def _on_resume(self, code: CodeType, offset: int, *thrown: Any) -> None:
        # PY_RESUME (local) and PY_THROW (global, rare: a generator resumed by throw()/close())
        if thrown and not self._matched_plan(code):
            return
        try:
            self._recorder.resume(sys._getframe(1))
        except Exception as error:
            self._recorder.fault("engine", error)
