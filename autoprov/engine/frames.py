"""What ``sys.settrace`` and ``sys.setprofile`` engines share: installation on every thread, the
per-frame decision, and the classification of a frame's 'return' event (a return, a yield, or an
exception unwinding it).

Both callbacks see every new Python frame.  The hot path reads ``frame.f_globals`` first, because
reading ``frame.f_code`` raises a ``object.__getattr__`` audit event on Python 3.11-3.13 (and so
runs every audit hook in the process); only frames of modules the matcher may select go on to the
per-code-object decision, which is cached.  The monitoring engine uses the same decisions
(:class:`FrameDecisions`), so all three engines decide a complete module at once.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from types import CodeType, FrameType, FunctionType, ModuleType
from opcode import opmap  # dis's table, without importing dis (~0.8 ms of start-up)
from typing import Any

from ..filtering.plans import CO_GENERATOR_FLAGS as GENERATOR_FLAGS
from ..filtering.plans import Plan, Planner, make_plan_cache
from ..recorder import Recorder

RETURN_OPCODES = frozenset(opmap[name] for name in ("RETURN_VALUE", "RETURN_CONST") if name in opmap)
YIELD_OPCODES = frozenset(opmap[name] for name in ("YIELD_VALUE", "RESUME") if name in opmap)
# where a suspended generator's frame stands when throw()/close() resumes it (a normal resume
# stands on the RESUME after the yield)
THROWN_OPCODES = frozenset({opmap["YIELD_VALUE"]})
_UNSEEN = object()


class UnseenException(Exception):
    """Stands for the exception that unwound a frame when the engine could not see it (setprofile)."""


def _module_codes(module_globals: dict[str, Any], identity: Callable[[Any], int] = id) -> Iterator[CodeType]:
    """Code objects of the functions and methods a module defines (decorated ones unwrapped).

    ``identity`` is the core's ``id()``: the native one raises no audit event (the program's audit
    hooks would see one for each global of each module scanned)."""
    seen: set[int] = set()
    pending = list(module_globals.values())
    while pending:
        value = pending.pop()
        key = identity(value)
        if key in seen:
            continue
        seen.add(key)
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
    """Per-module and per-code-object decisions, cached; what a matched frame's events mean.

    Shared by every engine and both cores: the native core's C callbacks look decisions up in
    the same ``modules`` dict and ``plans`` map and call :meth:`module_decision`, :meth:`decide`,
    :meth:`started` and :meth:`returned` exactly where the pure engines do.
    """

    def __init__(self, planner: Planner, recorder: Recorder, plans: Any,
                 on_matched: Callable[[CodeType], None] | None = None) -> None:
        self.planner = planner
        self.recorder = recorder
        self.modules: dict[Any, bool] = {}  # module name -> may any rule match it?
        self.plans = plans  # code object -> plan or None (PlanCache or _native.CodeMap)
        self.errors: dict[FrameType, BaseException] = {}  # matched frame -> exception in flight
        self.handled: set[FrameType] = set()  # settrace: a line ran in the frame since its exception
        self.active = True  # False once the engine stopped: late callbacks of other threads do nothing
        self._on_matched = on_matched  # monitoring: enable the local events of a matched code object
        # what the native core decides without calling Python (see module_decision and Planner)
        self.prefixes: tuple[str, ...] | None = planner.module_prefixes() if hasattr(planner, "module_prefixes") else None
        self.nested_never = bool(getattr(planner, "nested_never", False))

    def module_decision(self, frame: FrameType) -> bool:
        """Whether frames of this frame's module can be activities (cached once it is certain).

        A module is fully imported by the time its functions are called, so its functions and the
        methods of its classes can all be decided at once: a module without a single activity, the
        case of most frames in a gammapy run, is then skipped on one dict lookup, never reading
        ``f_code``.  The program's own ``__main__`` is always decided per code object, a module
        still being imported until it is complete; nested functions are never activities (the
        filter language excludes them).
        """
        if not self.active:
            return False
        module_globals = frame.f_globals
        name = module_globals.get("__name__")
        if not isinstance(name, str) or name.startswith("autoprov.") or (
                self.prefixes is not None and not name.startswith(self.prefixes)):
            self.modules[name] = False  # the native core rejects the second kind in C, as here
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
        for code in _module_codes(module_globals, self.recorder.identity):
            if self.plan_of(code, module_globals) is not None:
                found = True
        return found

    def plan_of(self, code: CodeType, module_globals: dict[str, Any]) -> Plan | None:
        """The cached decision for this very code object, deciding it on first sight."""
        plan = self.plans.get(code, _UNSEEN)
        if plan is _UNSEEN:
            plan = self.decide(code, module_globals)
        return plan

    def decide(self, code: CodeType, module_globals: dict[str, Any]) -> Plan | None:
        """Ask the planner once for a code object and cache the answer under its identity."""
        try:
            plan = self.planner.plan(code, module_globals)
        except Exception as error:
            self.recorder.fault("matcher", error)
            plan = None
        self.plans[code] = plan
        if plan is not None and self._on_matched is not None and self.active:
            self._on_matched(code)
        return plan

    def frame_plan(self, code: CodeType, frame: FrameType) -> Plan | None:
        """First sight of a code object in a frame: skip it with its module, or decide it."""
        module_globals = frame.f_globals
        known = self.modules.get(module_globals.get("__name__"))
        if known is False or (known is None and not self.module_decision(frame)):
            return None
        return self.plan_of(code, module_globals)

    def started(self, plan: Plan, frame: FrameType, arg: Any = None) -> None:
        """A matched frame starts, or a suspended generator's frame resumes.

        A generator resumed by ``throw()`` or ``close()`` (the frame stopped at its yield, not
        after it; on 3.12 the profile 'call' also carries the exception) has that exception in
        flight: noted, so that the frame unwinding from its yield is told from a yield.
        """
        if not self.active:
            return
        recorder = self.recorder
        if plan.generator and recorder.is_suspended(frame):
            if isinstance(arg, BaseException):
                self.errors[frame] = arg
                self.handled.discard(frame)
            elif _opcode(frame) in THROWN_OPCODES:
                self.errors[frame] = GeneratorExit()  # the engine cannot see which: close() is the usual one
                self.handled.discard(frame)
            recorder.resume(frame)
        elif not recorder.resume(frame):
            recorder.enter(plan, frame)

    def returned(self, frame: FrameType, value: Any, unwinding: bool | None = None) -> None:
        """A matched frame's 'return' event: a real return, a yield, or an exception leaving.

        ``unwinding`` comes from the native core before 3.12, which sees it exactly (the C trace
        function gets no return value when an exception unwinds the frame); the pure engines, and
        the native one on 3.12 (whose legacy tracing passes None either way), pass None and it is
        told from the instruction the frame stopped at, and for a generator stopped at a yield from
        an exception noted in flight and not handled since (settrace sees a line run after it).
        """
        if not self.active:
            return
        error = self.errors.pop(frame, None)
        handled = False
        if self.handled:
            handled = frame in self.handled
            self.handled.discard(frame)
        opcode: int | None = _NOT_READ
        if unwinding is None:
            opcode = _opcode(frame)
            if opcode in RETURN_OPCODES:
                unwinding = False
            elif opcode in YIELD_OPCODES and frame.f_code.co_flags & GENERATOR_FLAGS:
                unwinding = error is not None and not handled and value is None  # an unwind has no value
            else:
                unwinding = True
        if unwinding:
            self.recorder.leave(frame, None, error or UnseenException())
            return
        code = frame.f_code
        if code.co_flags & GENERATOR_FLAGS:
            if opcode is _NOT_READ:
                opcode = _opcode(frame)
            if opcode in YIELD_OPCODES:
                self.recorder.suspend(frame)
                return
        self.recorder.leave(frame, value, None)


_NOT_READ = -1


def _opcode(frame: FrameType) -> int | None:
    """The (unspecialised) opcode of the instruction the frame stopped at."""
    code = frame.f_code.co_code
    lasti = frame.f_lasti
    return code[lasti] if 0 <= lasti < len(code) else None


class FrameEngine:
    """Base of the engines that install a per-thread hook through ``sys`` and ``threading``.

    ``install`` names the pair of functions (``settrace`` or ``setprofile``).  With the native
    core the hook is ``autoprov._native.FrameTracer``, a C trace/profile function that calls
    Python for matched frames only; with the pure core subclasses build it as a closure in
    :meth:`make_hook`, so their hot path reads only fast local names.
    """

    name = ""
    install = ""

    def __init__(self, planner: Planner, recorder: Recorder, native: ModuleType | None = None) -> None:
        self._recorder = recorder
        self._decisions = FrameDecisions(planner, recorder, make_plan_cache(native))
        self._tracer = self._native_tracer(native) if native is not None else None
        self._hook = self._tracer if self._tracer is not None else self.make_hook()

    def make_hook(self) -> Callable[..., Any]:
        raise NotImplementedError

    def _native_tracer(self, native: ModuleType) -> Any:
        decisions = self._decisions
        return native.FrameTracer(
            decisions.modules, decisions.plans, decisions.module_decision, decisions.decide, decisions.started,
            decisions.returned, decisions.errors, decisions.handled, self._recorder.fault,
            profile=self.install == "setprofile", visible=False,  # sys.gettrace() stays None, as under python
            prefixes=decisions.prefixes, nested_never=decisions.nested_never,
        )

    def _set(self, hook: Callable[..., Any] | None) -> None:
        all_threads = getattr(threading, f"{self.install}_all_threads", None)
        if all_threads is not None:  # Python >= 3.12: running threads too
            all_threads(hook)
        else:
            getattr(threading, self.install)(hook)
            getattr(sys, self.install)(hook)

    def start(self) -> None:
        if self._tracer is not None:
            getattr(threading, self.install)(self._tracer)  # new threads: their first event installs it in C
            self._tracer.start()  # this thread (every running thread on 3.12+)
        else:
            self._set(self._hook)

    def stop(self) -> None:
        self._decisions.active = False
        if self._tracer is not None:
            getattr(threading, self.install)(None)
            self._tracer.stop()
        else:
            self._set(None)

    def intact(self) -> bool:
        current = sys.gettrace() if self.install == "settrace" else sys.getprofile()
        if self._tracer is not None:
            return self._tracer.installed() or current is self._tracer
        return current is self._hook
