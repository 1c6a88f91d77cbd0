"""What ``sys.settrace`` and ``sys.setprofile`` engines share: the per-frame decision and the
classification of a frame's 'return' event (a return, a yield, or an exception unwinding it).

Both callbacks see every new Python frame.  The hot path reads ``frame.f_globals`` first, because
reading ``frame.f_code`` raises a ``object.__getattr__`` audit event on Python 3.11-3.13 (and so
runs every audit hook in the process); only frames of modules the matcher may select go on to the
per-code-object decision, which is cached.
"""

from __future__ import annotations

import dis
from types import CodeType, FrameType
from typing import Any

from ..recorder import Plan, Recorder

RETURN_OPCODES = frozenset(dis.opmap[name] for name in ("RETURN_VALUE", "RETURN_CONST") if name in dis.opmap)
YIELD_OPCODES = frozenset(dis.opmap[name] for name in ("YIELD_VALUE", "RESUME") if name in dis.opmap)
GENERATOR_FLAGS = 0x20 | 0x80 | 0x200  # CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR
_UNSEEN = object()


class UnseenException(Exception):
    """Stands for the exception that unwound a frame when the engine could not see it (setprofile)."""


class FrameDecisions:
    """Per-module and per-code-object decisions, cached; frame 'return' classification."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.modules: dict[Any, bool] = {}  # module name -> may any rule match it?
        self.plans: dict[CodeType, Plan | None] = {}
        self.errors: dict[FrameType, BaseException] = {}  # matched frame -> exception in flight

    def plan_for(self, frame: FrameType) -> Plan | None:
        """The plan of a new frame, or None (cost when unmatched: one dict lookup on the module)."""
        module = frame.f_globals.get("__name__")
        may_match = self.modules.get(module)
        if may_match is None:
            may_match = self.modules[module] = self._module_may_match(module)
        if not may_match:
            return None
        code = frame.f_code
        plan = self.plans.get(code, _UNSEEN)
        if plan is _UNSEEN:
            try:
                plan = self.recorder.plan(code, frame.f_globals)
            except Exception as error:
                self.recorder.fault("matcher", error)
                plan = None
            self.plans[code] = plan
        return plan

    def _module_may_match(self, module: Any) -> bool:
        if not isinstance(module, str) or module.startswith("autoprov."):
            return False
        may_match = getattr(self.recorder.matcher, "may_match_module", None)
        return True if may_match is None else bool(may_match(module))

    def call(self, frame: FrameType) -> bool:
        """A new frame (or a resumed generator frame); True when it is recorded."""
        plan = self.plan_for(frame)
        if plan is None:
            return False
        if not self.recorder.resume(frame):
            self.recorder.enter(plan, frame)
        return True

    def returned(self, frame: FrameType, value: Any) -> None:
        """A matched frame's 'return' event: a real return, a yield, or an exception leaving."""
        code = frame.f_code
        lasti = frame.f_lasti
        opcode = code.co_code[lasti] if 0 <= lasti < len(code.co_code) else None
        error = self.errors.pop(frame, None)
        if opcode in RETURN_OPCODES:
            self.recorder.leave(frame, value, None)
        elif code.co_flags & GENERATOR_FLAGS and opcode in YIELD_OPCODES:
            self.recorder.suspend(frame)
        else:
            self.recorder.leave(frame, None, error or UnseenException())
