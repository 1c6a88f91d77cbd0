"""The ``sys.settrace`` engine: the fallback before Python 3.12.

The global trace function runs once per new Python frame (no events for C calls).  It returns
``None`` for unmatched frames, so they raise no further events, and turns off line events on
matched frames (``f_trace_lines = False``), so they only report 'exception' and 'return'.
Threads started later are covered through ``threading.settrace`` (and already-running threads
too on Python >= 3.12, through ``threading.settrace_all_threads``).
"""

from __future__ import annotations

import sys
import threading
from types import FrameType
from typing import Any

from ..recorder import Recorder
from .frames import FrameDecisions


class SettraceEngine:
    name = "settrace"

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._decisions = FrameDecisions(recorder)

    def start(self) -> None:
        if hasattr(threading, "settrace_all_threads"):
            threading.settrace_all_threads(self._on_call)
        else:
            threading.settrace(self._on_call)
            sys.settrace(self._on_call)

    def stop(self) -> None:
        if hasattr(threading, "settrace_all_threads"):
            threading.settrace_all_threads(None)
        else:
            threading.settrace(None)  # type: ignore[arg-type]
            sys.settrace(None)

    def intact(self) -> bool:
        return sys.gettrace() == self._on_call

    def _on_call(self, frame: FrameType, event: str, arg: Any) -> Any:
        # Cost for unmatched frames: one f_globals read and one dict lookup (module decision).
        try:
            if self._decisions.call(frame):
                frame.f_trace_lines = False
                return self._on_local
        except Exception as error:
            self._recorder.fault("engine", error)
        return None

    def _on_local(self, frame: FrameType, event: str, arg: Any) -> Any:
        try:
            if event == "return":
                self._decisions.returned(frame, arg)
            elif event == "exception":
                self._decisions.errors[frame] = arg[1]
        except Exception as error:
            self._recorder.fault("engine", error)
        return self._on_local
