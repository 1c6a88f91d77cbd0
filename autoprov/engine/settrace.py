"""The ``sys.settrace`` engine: the fallback before Python 3.12 (and when sys.monitoring is taken).

The global trace function runs once per new Python frame (no events for C calls).  With the
native core it is ``autoprov._native.FrameTracer``, a C function installed with
``PyEval_SetTrace``: module and code decisions are looked up in C (no ``frame.f_code`` audit
event) and Python runs only for frames of matched code.  With the pure core it is the closure
below, which returns ``None`` for unmatched frames, so they raise no further Python calls, and
turns off line events on matched frames (``f_trace_lines = False``) except generators', whose
line events tell a handled exception from one unwinding the frame at its yield.  Threads
started later are covered through ``threading.settrace`` (and already-running threads too on
Python >= 3.12, through ``threading.settrace_all_threads`` / ``PyEval_SetTraceAllThreads``).
"""

from __future__ import annotations

from collections.abc import Callable
from types import FrameType
from typing import Any

from .frames import FrameEngine


class SettraceEngine(FrameEngine):
    name = "settrace"
    install = "settrace"

    def make_hook(self) -> Callable[[FrameType, str, Any], Any]:
        """The global trace function (pure core), a closure so the hot path reads only fast local names."""
        decisions = self._decisions
        modules = decisions.modules
        module_decision = decisions.module_decision
        first = decisions.plans.first
        plan_of = decisions.plan_of
        started = decisions.started
        on_local = self._on_local
        fault = self._recorder.fault

        def on_call(frame: FrameType, event: str, arg: Any) -> Any:
            # Runs for every new Python frame (13 M in a 4-run Crab analysis).  Cost for a frame of
            # a module with no activity, ~85 % of them: one f_globals read, one dict lookup; for
            # the others one f_code read and one dict lookup with an identity check.
            try:
                if not modules[frame.f_globals["__name__"]]:
                    return None
            except KeyError:
                if not module_decision(frame):
                    return None
            try:
                code = frame.f_code
                entry = first.get((code.co_firstlineno, code.co_name, code.co_filename))
                plan = entry[1] if entry is not None and entry[0] is code else plan_of(code, frame.f_globals)
                if plan is not None:
                    started(plan, frame, arg)
                    frame.f_trace_lines = plan.generator
                    return on_local
            except Exception as error:
                fault("engine", error)
            return None

        return on_call

    def _on_local(self, frame: FrameType, event: str, arg: Any) -> Any:
        try:
            decisions = self._decisions
            if event == "line":  # generators only: execution goes on, a noted exception was handled
                if frame in decisions.errors:
                    decisions.handled.add(frame)
            elif event == "return":
                decisions.returned(frame, arg)
            elif event == "exception":
                decisions.errors[frame] = arg[1]
                decisions.handled.discard(frame)
        except Exception as error:
            self._recorder.fault("engine", error)
        return self._on_local
