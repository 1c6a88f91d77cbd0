"""The ``sys.setprofile`` engine: for when ``sys.settrace`` belongs to a debugger or coverage.

A profile function sees every call and return, C functions included, and cannot switch itself off
per frame, so it is dearer than ``settrace``; it is chosen automatically only when a trace
function is already installed.  Matched frames are remembered in a set (frames hash by identity,
so no ``id()`` and no audit event), which is how a 'return' is told to concern us.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from ..recorder import Recorder
from .frames import FrameDecisions


class SetprofileEngine:
    name = "setprofile"

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._decisions = FrameDecisions(recorder)
        self._matched: set[FrameType] = set()
        self._on_event = self._make_profile_hook()

    def start(self) -> None:
        if hasattr(threading, "setprofile_all_threads"):
            threading.setprofile_all_threads(self._on_event)
        else:
            threading.setprofile(self._on_event)
            sys.setprofile(self._on_event)

    def stop(self) -> None:
        if hasattr(threading, "setprofile_all_threads"):
            threading.setprofile_all_threads(None)
        else:
            threading.setprofile(None)  # type: ignore[arg-type]
            sys.setprofile(None)

    def intact(self) -> bool:
        return sys.getprofile() is self._on_event

    def _make_profile_hook(self) -> Callable[[FrameType, str, Any], None]:
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
