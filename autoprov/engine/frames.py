"""What ``sys.settrace`` and ``sys.setprofile`` engines share: installation on every thread, the
per-frame decision, and the classification of a frame's 'return' event (a return, a yield, or an
exception unwinding it).

Both callbacks see every new Python frame.  The hot path reads ``frame.f_globals`` first, because
reading ``frame.f_code`` raises a ``object.__getattr__`` audit event on Python 3.11-3.13 (and so
runs every audit hook in the process); only frames of modules the matcher may select go on to the
per-code-object decision, which is cached.
"""

from __future__ import annotations

import dis
import sys
import threading
from collections.abc import Callable, Iterator
from types import CodeType, FrameType, FunctionType
from typing import Any

from ..filtering.plans import Plan, Planner
from ..recorder import Recorder

RETURN_OPCODES = frozenset(dis.opmap[name] for name in ("RETURN_VALUE", "RETURN_CONST") if name in dis.opmap)
YIELD_OPCODES = frozenset(dis.opmap[name] for name in ("YIELD_VALUE", "RESUME") if name in dis.opmap)
GENERATOR_FLAGS = 0x20 | 0x80 | 0x200  # CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR
_UNSEEN = object()


class UnseenException(Exception):
    """Stands for the exception that unwound a frame when the engine could not see it (setprofile)."""


def _module_codes(module_globals: dict[str, Any]) -> Iterator[CodeType]:
    """Code objects of the functions and methods a module defines (decorated ones unwrapped)."""
    seen: set[int] = set()
    pending = list(module_globals.values())
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, type):
            if value.__module__ == module_globals.get("__name__"):
                pending.extend(vars(value).values())  # methods, properties, nested classes
            continue
        if isinstance(value, (staticmethod, classmethod)):
            pending.append(value.__func__)
        elif isinstance(value, property):
            pending.extend(f for f in (value.fget, value.fset, value.fdel) if f is not None)
        elif isinstance(value, FunctionType):
            wrapped = getattr(value, "__wrapped__", None)
            if wrapped is not None:
                pending.append(wrapped)
            if value.__globals__ is module_globals:
                yield value.__code__


class FrameDecisions:
    """Per-module and per-code-object decisions, cached; frame 'return' classification."""

    def __init__(self, planner: Planner, recorder: Recorder) -> None:
        self.planner = planner
        self.recorder = recorder
        self.modules: dict[Any, bool] = {}  # module name -> may any rule match it?
        self.plans: dict[tuple, Plan | None] = {}  # code_key(code) -> plan
        self.errors: dict[FrameType, BaseException] = {}  # matched frame -> exception in flight

    def module_decision(self, frame: FrameType) -> bool:
        """Whether frames of this frame's module can be activities (cached once it is certain).

        A module is fully imported by the time its functions are called, so its functions and the
        methods of its classes can all be decided at once: a module without a single activity, the
        case of most frames in a gammapy run, is then skipped on one dict lookup, never reading
        ``f_code``.  The program's own ``__main__`` is always decided per code object, a module
        still being imported until it is complete; nested functions are never activities (the
        filter language excludes them).
        """
        module_globals = frame.f_globals
        name = module_globals.get("__name__")
        if not isinstance(name, str) or name.startswith("autoprov."):
            self.modules[name] = False
            return False
        if not self.planner.may_match_module(name):
            self.modules[name] = False
            return False
        module = sys.modules.get(name)
        if name == "__main__" or module is None or module.__dict__ is not module_globals:
            self.modules[name] = True  # the program itself, or code run with its own globals
            return True
        if getattr(getattr(module, "__spec__", None), "_initializing", False):
            return True  # being imported: decided per code object until the module is complete
        decision = self.modules[name] = self._scan(module_globals)
        return decision

    def _scan(self, module_globals: dict[str, Any]) -> bool:
        """Decide every function and method defined in a module; True if any is an activity."""
        found = False
        for code in _module_codes(module_globals):
            if self._plan(code, module_globals) is not None:
                found = True
        return found

    def _plan(self, code: CodeType, module_globals: dict[str, Any]) -> Plan | None:
        key = (code.co_firstlineno, code.co_name, code.co_filename)  # code_key, inlined
        plan = self.plans.get(key, _UNSEEN)
        if plan is _UNSEEN:
            try:
                plan = self.planner.plan(code, module_globals)
            except Exception as error:
                self.recorder.fault("matcher", error)
                plan = None
            self.plans[key] = plan
        return plan

    def call(self, frame: FrameType) -> bool:
        """A new frame of a module that has activities; True when it is recorded."""
        plan = self._plan(frame.f_code, frame.f_globals)
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


class FrameEngine:
    """Base of the engines that install a per-thread hook through ``sys`` and ``threading``.

    ``install`` names the pair of functions (``settrace`` or ``setprofile``); subclasses build the
    hook itself as a closure in :meth:`make_hook`, so their hot path reads only fast local names.
    """

    name = ""
    install = ""

    def __init__(self, planner: Planner, recorder: Recorder) -> None:
        self._recorder = recorder
        self._decisions = FrameDecisions(planner, recorder)
        self._hook = self.make_hook()

    def make_hook(self) -> Callable[..., Any]:
        raise NotImplementedError

    def _set(self, hook: Callable[..., Any] | None) -> None:
        all_threads = getattr(threading, f"{self.install}_all_threads", None)
        if all_threads is not None:  # Python >= 3.12: running threads too
            all_threads(hook)
        else:
            getattr(threading, self.install)(hook)
            getattr(sys, self.install)(hook)

    def start(self) -> None:
        self._set(self._hook)

    def stop(self) -> None:
        self._set(None)

    def intact(self) -> bool:
        current = sys.gettrace() if self.install == "settrace" else sys.getprofile()
        return current is self._hook
