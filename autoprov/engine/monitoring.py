"""The ``sys.monitoring`` engine (Python >= 3.12): matched code only, everything else disabled.

Only PY_START is enabled globally.  The first PY_START of a code object asks the matcher stage
(the planner) for a plan once; unmatched code returns ``DISABLE`` and never calls back again.  Matched code objects
get local PY_RETURN / PY_YIELD / PY_RESUME events.  PY_UNWIND cannot be enabled per code object,
so it is global and its callback returns after one dict lookup for unmatched code.  Plans hold
their code objects alive, so a code object's identity cannot be reused while cached.
"""

from __future__ import annotations

import sys
from types import CodeType
from typing import Any

from ..filtering.plans import Plan, Planner, code_key
from ..recorder import Recorder

# Preferred ids: the two unnamed ones first, the named ones (debugger 0, coverage 1, profiler 2,
# optimizer 5) last, and never one already in use.
TOOL_ID_PREFERENCE = (3, 4, 2, 5, 1, 0)
TOOL_NAME = "autoprov"
_UNSEEN = object()
_used_before = False  # True once an earlier capture in this process disabled code objects


def free_tool_id() -> int | None:
    monitoring = sys.monitoring
    for tool_id in TOOL_ID_PREFERENCE:
        if monitoring.get_tool(tool_id) is None:
            return tool_id
    return None


class MonitoringEngine:
    name = "monitoring"

    def __init__(self, planner: Planner, recorder: Recorder) -> None:
        self._planner = planner
        self._recorder = recorder
        # keyed by code_key(code), not by the code object: a code object hashes its whole content
        # (59 us for a module body, which holds every function of the module as constants)
        self._plans: dict[tuple, Plan | None] = {}
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
        register = monitoring.register_callback
        register(tool_id, events.PY_START, self._on_start)
        register(tool_id, events.PY_RETURN, self._on_return)
        register(tool_id, events.PY_YIELD, self._on_yield)
        register(tool_id, events.PY_RESUME, self._on_resume)
        register(tool_id, events.PY_UNWIND, self._on_unwind)
        monitoring.set_events(tool_id, events.PY_START | events.PY_UNWIND)

    def stop(self) -> None:
        if self._tool_id is None:
            return
        monitoring = sys.monitoring
        tool_id, self._tool_id = self._tool_id, None
        monitoring.set_events(tool_id, 0)
        for code in self._matched:
            monitoring.set_local_events(tool_id, code, 0)
        for event in (monitoring.events.PY_START, monitoring.events.PY_RETURN, monitoring.events.PY_YIELD,
                      monitoring.events.PY_RESUME, monitoring.events.PY_UNWIND):
            monitoring.register_callback(tool_id, event, None)
        monitoring.free_tool_id(tool_id)

    def intact(self) -> bool:
        return self._tool_id is not None and sys.monitoring.get_tool(self._tool_id) == TOOL_NAME

    # -- callbacks: the hot path -------------------------------------------------------------

    def _on_start(self, code: CodeType, offset: int) -> Any:
        # Cost: unmatched code runs this once per code object (then DISABLE); matched code pays one
        # dict lookup plus Recorder.enter (measured ~3 us with three scalar arguments).
        plan = self._plans.get((code.co_firstlineno, code.co_name, code.co_filename), _UNSEEN)
        if plan is _UNSEEN:
            plan = self._decide(code, sys._getframe(1).f_globals)
        if plan is None:
            return sys.monitoring.DISABLE
        try:
            self._recorder.enter(plan, sys._getframe(1))
        except Exception as error:
            self._recorder.fault("engine", error)
        return None

    def _decide(self, code: CodeType, module_globals: dict) -> Plan | None:
        try:
            plan = self._planner.plan(code, module_globals)
        except Exception as error:
            self._recorder.fault("matcher", error)
            plan = None
        self._plans[code_key(code)] = plan
        if plan is not None:
            self._matched.append(code)
            events = sys.monitoring.events
            sys.monitoring.set_local_events(self._tool_id, code, events.PY_RETURN | events.PY_YIELD | events.PY_RESUME)
        return plan

    def _on_return(self, code: CodeType, offset: int, value: Any) -> None:
        try:
            self._recorder.leave(sys._getframe(1), value, None)
        except Exception as error:
            self._recorder.fault("engine", error)

    def _on_unwind(self, code: CodeType, offset: int, error: BaseException) -> None:
        # Cost: runs for every Python frame an exception leaves; one dict lookup when unmatched.
        if self._plans.get((code.co_firstlineno, code.co_name, code.co_filename)) is None:
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

    def _on_resume(self, code: CodeType, offset: int) -> None:
        try:
            self._recorder.resume(sys._getframe(1))
        except Exception as error:
            self._recorder.fault("engine", error)
