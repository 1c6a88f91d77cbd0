"""The ``sys.setprofile`` engine: for when ``sys.settrace`` belongs to a debugger or coverage.

A profile function sees every call and return, C functions included, and cannot switch itself off
per frame, so it is dearer than ``settrace``; it is chosen automatically only when a trace
function is already installed.  Matched frames are remembered in a set (frames hash by identity,
so no ``id()`` and no audit event), which is how a 'return' is told to concern us.
"""

from __future__ import annotations

from collections.abc import Callable
from types import FrameType
from typing import Any

from ..filtering.plans import Planner
from ..recorder import Recorder
from .frames import FrameEngine


class SetprofileEngine(FrameEngine):
    name = "setprofile"
    install = "setprofile"

    def __init__(self, planner: Planner, recorder: Recorder) -> None:
        self._matched: set[FrameType] = set()
        super().__init__(planner, recorder)

    def make_hook(self) -> Callable[[FrameType, str, Any], None]:
        """The profile function, a closure so the hot path reads only fast local names."""
        modules = self._decisions.modules
        module_decision = self._decisions.module_decision
        decisions = self._decisions
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
                    if decisions.call(frame):
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
