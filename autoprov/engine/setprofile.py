"""The ``sys.setprofile`` engine: for when ``sys.settrace`` belongs to a debugger or coverage.

A profile function sees every call and return, C functions included, and cannot switch itself off
per frame, so it is dearer than ``settrace``; it is chosen automatically only when a trace
function is already installed.  Matched frames are remembered in a set (frames hash by identity,
so no ``id()`` and no audit event), which is how a 'return' is told to concern us.
"""

from __future__ import annotations

import sys
import threading
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
        return sys.getprofile() == self._on_event

    def _on_event(self, frame: FrameType, event: str, arg: Any) -> None:
        # Cost: C calls return after one string comparison; Python calls pay one f_globals read
        # and a dict lookup; Python returns one set lookup.
        try:
            if event == "call":
                if self._decisions.call(frame):
                    self._matched.add(frame)
            elif event == "return" and frame in self._matched:
                self._decisions.returned(frame, arg)
                if not self._recorder.is_suspended(frame):
                    self._matched.discard(frame)
        except Exception as error:
            self._recorder.fault("engine", error)
