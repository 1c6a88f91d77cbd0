"""The engine stage: one module per tracing backend behind one small protocol, and the audit hook.

The choice is made once per run and comes with a reason string that is recorded in the run and
shown by ``--debug``, as coverage.py does for its tracers:

* ``monitoring`` (Python >= 3.12, the default there): ``sys.monitoring`` with a free tool id;
  unmatched code objects are disabled after their first call, so they cost nothing afterwards.
* ``evalframe`` (Python 3.11 with the native core, the default there): the interpreter's
  frame-evaluation hook (PEP 523).  Each code object is decided once; frames of unmatched code
  pass straight to the default evaluator after one comparison, with no trace function and so
  without 3.11's tracing mode, which alone costs any trace function ~1.57x; matched frames are
  recorded around the evaluator, generator and coroutine resumes, ``throw()`` and ``close()``
  included, on every thread.  No pure twin (the hook is a C function pointer).
* ``settrace`` (the fallback on 3.11 with the pure core, or when another tool owns the
  frame-evaluation hook): one callback per Python frame, ``None`` returned for unmatched frames
  so they raise no further events.  Measured cheaper than ``setprofile``, which also fires for
  every C call and return.
* ``setprofile``: kept for one real case, a debugger or coverage tool already owning
  ``sys.settrace``; profile and trace functions coexist.

Each engine runs on one of two cores (:mod:`.core`): ``native`` (C callbacks, trace function
and audit hook from ``autoprov._native``) or its twin ``pure``; the reason string names it.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING
from ..records import NamedTuple

from ..errors import UsageError
from ..filtering.plans import Planner
from ..recorder import Recorder

ENGINE_NAMES = ("auto", "monitoring", "evalframe", "settrace", "setprofile")


# Protocols exist for the type checker only: creating one at run time costs ~0.15 ms of start-up (typing's metaclass)
if TYPE_CHECKING:
    from typing import Protocol

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

    name: str  # monitoring, evalframe, settrace or setprofile
    reason: str  # why this engine, naming the core too
    core: str  # "native" or "pure" (:mod:`.core`)
    native: ModuleType | None  # the ``autoprov._native`` module when the core is native

    @classmethod
    def choose(cls, requested: str = "auto") -> EngineChoice:
        """The engine ``requested`` (``auto``: the best this interpreter gives).  Raises UsageError for
        an engine this interpreter cannot give, or a core ``AUTOPROV_CORE`` asks for that is not there."""
        from .core import select

        native, core, core_reason = select()
        name, reason = _choose(requested, native)
        return cls(name, f"{reason}; {core_reason}", core, native)

    @classmethod
    def of_run(cls, name: str) -> EngineChoice:
        """A child process: the engine its run chose, on the core this process can load."""
        from .core import select

        native, core, core_reason = select()
        if name == "evalframe" and _evalframe_state(native) != "free":
            return cls("settrace", f"the run's engine evalframe is not available here, so sys.settrace; {core_reason}", core, native)
        return cls(name, f"the engine of the run; {core_reason}", core, native)


def _evalframe_state(native: ModuleType | None) -> str:
    """'free' when the frame-evaluation engine can run here, 'taken' when another tool owns the
    hook, 'missing' without a native core built for Python 3.11."""
    from .evalframe import available, hook_free

    if not available(native):
        return "missing"
    return "free" if hook_free(native) else "taken"


def _evalframe(requested: str, native: ModuleType | None) -> tuple[str, str] | None:
    """The frame-evaluation engine on Python 3.11 (explicit or ``auto``), or None for ``auto`` when
    it cannot run here, naming why in the fallback's reason.  UsageError when asked for explicitly."""
    version = "%d.%d" % sys.version_info[:2]
    if sys.version_info[:2] != (3, 11):
        if requested == "evalframe":
            raise UsageError(f"engine 'evalframe' is written for Python 3.11 (this is {version}); "
                             "use --engine monitoring (Python >= 3.12) or leave --engine unset")
        return None
    state = _evalframe_state(native)
    if state != "free" and requested == "evalframe":
        raise UsageError("engine 'evalframe': another tool already installed a frame-evaluation function (PEP 523); "
                         "use --engine settrace" if state == "taken" else
                         "engine 'evalframe' needs the native core with its Python 3.11 internals (autoprov._native "
                         "built for this interpreter), which is not in use; use --engine settrace or unset AUTOPROV_CORE")
    if state != "free":
        return None
    how = "requested with --engine" if requested == "evalframe" else (
        f"Python {version} has no sys.monitoring; the frame-evaluation hook (PEP 523) passes unmatched code "
        "straight to the interpreter, with no trace function")
    return "evalframe", how


def _choose(requested: str, native: ModuleType | None = None) -> tuple[str, str]:
    if requested not in ENGINE_NAMES:
        raise UsageError(f"unknown engine {requested!r}; choose one of {', '.join(ENGINE_NAMES)}")
    has_monitoring = sys.version_info >= (3, 12)
    if requested == "evalframe" or (requested == "auto" and not has_monitoring):
        chosen = _evalframe(requested, native)
        if chosen is not None:
            return chosen
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
    prefix = "all sys.monitoring tool ids are in use; " if has_monitoring else "no sys.monitoring before Python 3.12; " + (
        "the frame-evaluation hook (PEP 523) is taken by another tool; " if _evalframe_state(native) == "taken"
        else "the frame-evaluation engine needs the native core with its 3.11 internals; ")
    if sys.gettrace() is not None:
        return "setprofile", prefix + "sys.settrace is already taken (debugger or coverage), so sys.setprofile"
    return "settrace", prefix + "sys.settrace is the cheaper fallback (measured against setprofile)"


def make_engine(name: str, planner: Planner, recorder: Recorder, native: ModuleType | None = None) -> Engine:
    """The engine ``name``: it consults ``planner`` once per code object and feeds ``recorder``;
    on the native core when ``native`` is the ``autoprov._native`` module."""
    if name == "monitoring":
        from .monitoring import MonitoringEngine

        return MonitoringEngine(planner, recorder, native)
    if name == "evalframe":
        from .evalframe import EvalFrameEngine

        return EvalFrameEngine(planner, recorder, native)
    if name == "settrace":
        from .settrace import SettraceEngine

        return SettraceEngine(planner, recorder, native)
    from .setprofile import SetprofileEngine

    return SetprofileEngine(planner, recorder, native)
