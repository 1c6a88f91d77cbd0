"""The engine stage: one module per tracing backend behind one small protocol, and the audit hook.

The choice is made once per run and comes with a reason string that is recorded in the run and
shown by ``--debug``, as coverage.py does for its tracers:

* ``monitoring`` (Python >= 3.12, the default there): ``sys.monitoring`` with a free tool id;
  unmatched code objects are disabled after their first call, so they cost nothing afterwards.
* ``settrace`` (the fallback on Python 3.10/3.11): one callback per Python frame, ``None``
  returned for unmatched frames so they raise no further events.  Measured cheaper than
  ``setprofile``, which also fires for every C call and return.
* ``setprofile``: kept for one real case, a debugger or coverage tool already owning
  ``sys.settrace``; profile and trace functions coexist.

Each engine runs on one of two cores (:mod:`.core`): ``native`` (C callbacks, trace function
and audit hook from ``autoprov._native``) or its twin ``pure``; the reason string names it.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Protocol
from ..records import NamedTuple

from ..errors import UsageError
from ..filtering.plans import Planner
from ..recorder import Recorder

ENGINE_NAMES = ("auto", "monitoring", "settrace", "setprofile")


class Engine(Protocol):
    name: str

    def start(self) -> None:
        """Begin delivering matched calls to the recorder (current and future threads)."""

    def stop(self) -> None:
        """Stop tracing and release whatever was claimed (tool id, trace functions)."""

    def intact(self) -> bool:
        """False when the program replaced the engine's hook (its own settrace, say)."""


def _monitoring_tool_free() -> bool:
    from .monitoring import free_tool_id

    return free_tool_id() is not None


class EngineChoice(NamedTuple):
    """The engine and core of a process, chosen once, with the reason recorded in the run and shown
    by ``--debug engine``.  A NamedTuple: ``dataclasses`` costs ~10 ms of every run's start-up."""

    name: str  # monitoring, settrace or setprofile
    reason: str  # why this engine, naming the core too
    core: str  # "native" or "pure" (:mod:`.core`)
    native: ModuleType | None  # the ``autoprov._native`` module when the core is native

    @classmethod
    def choose(cls, requested: str = "auto") -> EngineChoice:
        """The engine ``requested`` (``auto``: the best this interpreter gives).  Raises UsageError for
        an engine this interpreter cannot give, or a core ``AUTOPROV_CORE`` asks for that is not there."""
        from .core import select

        name, reason = _choose(requested)
        native, core, core_reason = select()
        return cls(name, f"{reason}; {core_reason}", core, native)

    @classmethod
    def of_run(cls, name: str) -> EngineChoice:
        """A child process: the engine its run chose, on the core this process can load."""
        from .core import select

        native, core, core_reason = select()
        return cls(name, f"the engine of the run; {core_reason}", core, native)


def _choose(requested: str) -> tuple[str, str]:
    if requested not in ENGINE_NAMES:
        raise UsageError(f"unknown engine {requested!r}; choose one of {', '.join(ENGINE_NAMES)}")
    has_monitoring = sys.version_info >= (3, 12)
    if requested == "monitoring":
        if not has_monitoring:
            raise UsageError(f"engine 'monitoring' needs Python >= 3.12 (this is {sys.version.split()[0]}); use --engine settrace")
        if not _monitoring_tool_free():
            raise UsageError("engine 'monitoring': all six sys.monitoring tool ids are in use; use --engine settrace")
        return "monitoring", "requested with --engine"
    if requested in ("settrace", "setprofile"):
        return requested, "requested with --engine"
    if has_monitoring and _monitoring_tool_free():
        return "monitoring", f"Python {sys.version_info.major}.{sys.version_info.minor} has sys.monitoring and a free tool id"
    prefix = "all sys.monitoring tool ids are in use; " if has_monitoring else "no sys.monitoring before Python 3.12; "
    if sys.gettrace() is not None:
        return "setprofile", prefix + "sys.settrace is already taken (debugger or coverage), so sys.setprofile"
    return "settrace", prefix + "sys.settrace is the cheaper fallback (measured against setprofile)"


def make_engine(name: str, planner: Planner, recorder: Recorder, native: ModuleType | None = None) -> Engine:
    """The engine ``name``: it consults ``planner`` once per code object and feeds ``recorder``;
    on the native core when ``native`` is the ``autoprov._native`` module."""
    if name == "monitoring":
        from .monitoring import MonitoringEngine

        return MonitoringEngine(planner, recorder, native)
    if name == "settrace":
        from .settrace import SettraceEngine

        return SettraceEngine(planner, recorder, native)
    from .setprofile import SetprofileEngine

    return SetprofileEngine(planner, recorder, native)
