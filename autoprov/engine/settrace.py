"""The ``sys.settrace`` engine: the fallback before Python 3.12.

The global trace function runs once per new Python frame (no events for C calls).  It returns
``None`` for unmatched frames, so they raise no further events, and turns off line events on
matched frames (``f_trace_lines = False``), so they only report 'exception' and 'return'.
Threads started later are covered through ``threading.settrace`` (and already-running threads
too on Python >= 3.12, through ``threading.settrace_all_threads``).
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
        """The global trace function, a closure so the hot path reads only fast local names."""
        modules = self._decisions.modules
        module_decision = self._decisions.module_decision
        call = self._decisions.call
        on_local = self._on_local
        fault = self._recorder.fault

        def on_call(frame: FrameType, event: str, arg: Any) -> Any:
            # Runs for every new Python frame (13 M in a 4-run Crab analysis).  Cost for a frame of
            # a module with no activity, ~85 % of them: one f_globals read, one dict lookup.
            try:
                if not modules[frame.f_globals["__name__"]]:
                    return None
            except KeyError:
                if not module_decision(frame):
                    return None
            try:
                if call(frame):
                    frame.f_trace_lines = False
                    return on_local
            except Exception as error:
                fault("engine", error)
            return None

        return on_call

    def _on_local(self, frame: FrameType, event: str, arg: Any) -> Any:
        try:
            if event == "return":
                self._decisions.returned(frame, arg)
            elif event == "exception":
                self._decisions.errors[frame] = arg[1]
        except Exception as error:
            self._recorder.fault("engine", error)
        return self._on_local
