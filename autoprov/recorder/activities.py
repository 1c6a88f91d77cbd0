"""The recorder stage: engine callbacks for matched code become buffered activity events.

Engines consult the matcher stage (:class:`~autoprov.filtering.plans.Planner`) once per code object
and then, for matched code only, call :meth:`Recorder.enter`, :meth:`~Recorder.leave`,
:meth:`~Recorder.suspend` and :meth:`~Recorder.resume`.  Each thread has a stack of the matched
frames it is executing; a suspended generator or coroutine keeps its activity in ``_suspended``
until its frame resumes or finishes, so it is one activity from its first start to its final
return.  A return the engine never reported (the program switched tracing off for a while, say)
is found out at the next event of the thread: a frame returning from below the top of the stack,
or a new matched frame whose caller chain does not contain the top, ends the entries above with
status "incomplete" (their real end was not seen), so one missed return never makes every later
activity a child of a finished one.  Arguments and results are read by :mod:`.arguments`, file events by :mod:`.fileevents`.
Everything appended to ``buffer`` is a plain tuple (see :mod:`autoprov.events`); the log writer
drains it in the background.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Callable
from time import time_ns
from types import FrameType, ModuleType
from typing import Any

from .. import events
from ..filtering.plans import Plan
from .arguments import PLAIN_RESULTS, Arguments
from .closes import ENDED, STATE, generator_finder
from .fileevents import FileEvents
from .files import FileTracker
from .objects import ObjectRegistry
from .values import render

# The plan slot of a stack entry opened by Recorder.begin (a cell, a pool task): not a Python frame,
# never popped by leave(), but ended like any activity by finish() or close_open_activities().
SYNTHETIC: Any = object()


CO_GENERATOR = 0x20


def _called_from(frame: FrameType, package: str) -> bool:
    """True when ``frame``'s caller runs in ``package`` (``"gammapy."``, its top-level module too)."""
    caller = frame.f_back
    name = caller.f_globals.get("__name__", "") if caller is not None else ""
    return isinstance(name, str) and (name + ".").startswith(package)


class _Stack(list):
    """A thread's stack of matched frames, with the thread's name (read once, at its first activity)."""

    __slots__ = ("thread",)


class Recorder:
    """Turns engine callbacks for matched code into activity events (see the module docstring)."""

    def __init__(self, hash_algorithm: str = "xxh3_128", excluded_paths: tuple[str, ...] = (),
                 native: ModuleType | None = None) -> None:
        self.buffer: list[tuple] = []
        self._append = self.buffer.append
        self._ids = itertools.count(1)
        # Per thread: [(frame, act, suppress_nested, plan)].  A threading.local, not a dict keyed by
        # get_ident(): idents are reused as soon as a thread ends.
        self._local = threading.local()
        self._all_stacks: list[list] = []
        self._suspended: dict[FrameType, tuple] = {}  # suspended generator frame -> its stack entry
        # 3.13+: matched generator frame -> weak reference to its generator, which a close may end
        # without any event (closes.py); watched from its first yield to its end
        self._generator_of = generator_finder(native)
        self._watched: dict[FrameType, tuple[weakref.ref, Callable[[Any], tuple]]] = {}  # with its state getter
        # id() of the core: the native one raises no audit event (each costs the program's own hooks a call)
        self.identity: Callable[[Any], int] = getattr(native, "identity", id)
        self.objects = ObjectRegistry(self._append, self.identity)
        self._native = native  # the native core (autoprov._native) or None: how arguments are read
        self.arguments = Arguments(self._append, self.objects, native)
        self.files = FileTracker(self._append, hash_algorithm)
        self.file_events = FileEvents(self._append, self.files, self.current_activity, excluded_paths, self.fault)
        self.activity_count = 0
        self.on_fault: Callable[[str, BaseException], None] | None = None

    # -- activities --------------------------------------------------------------------------

    def _stack(self) -> _Stack:
        stack = self._local.stack = _Stack()
        stack.thread = threading.current_thread().name
        self._all_stacks.append(stack)
        return stack

    def current_activity(self) -> int | None:
        stack = getattr(self._local, "stack", None)
        return stack[-1][1] if stack else None

    def enter(self, plan: Plan, frame: FrameType) -> bool | None:
        """A matched function starts; True when it opened an activity that records no nested one.

        The native monitoring engine then counts the matched calls below it in C instead of
        calling here and in :meth:`leave` for each (they only pushed and popped an entry of no
        activity: 27,755 calls, ~5 us each, on crab_1d's fit), until this frame ends.

        Cost measured on 3.12 with three scalar arguments: 0.8 us on the native core's fast path
        (scalar_only plan, 0.15 us of it reading the arguments), 1.6 us on the pure one; enter +
        leave 1.3 us native, 1.9 us pure.  The general path (entities, self, files) costs 2.4 us.
        """
        if self._watched:  # 3.13+, while a matched generator lives: ~3,900 instructions (callgrind) per generator
            self.end_silent_closes()
        try:
            stack = self._local.stack
        except AttributeError:
            stack = self._stack()
        if stack and frame.f_back is not stack[-1][0]:  # not a direct call: check the top still runs
            self._resynchronise(stack, frame)
        if stack and stack[-1][2]:  # inside an activity that records no nested activities
            stack.append((frame, stack[-1][1], True, None, None))
            return
        if plan.internal is not None and _called_from(frame, plan.internal) and not self._iterating_recorded(stack, plan, frame):
            return  # `calls: program` called by its own package (costs ~5 empty Python calls): leave() finds no entry
        if plan.description is not None:  # the first recorded call of a `calls: program` rule
            self._append((events.DESC, plan.rule.name, plan.description))
            plan.description = None
        act = next(self._ids)
        self.activity_count += 1
        now = time_ns()
        rule = plan.rule
        parent = stack[-1][1] if stack else None
        params = self.arguments.scalars(frame, plan.names) if plan.scalar_only else None
        if params is not None:  # only scalar arguments: no entity to link, nothing to keep
            self._append((events.ACT, act, parent, rule.name, rule.rule_id, now, stack.thread, params))
            stack.append((frame, act, not rule.nested, plan, None))
            return not rule.nested
        arguments = frame.f_locals
        params = {}
        used: list[tuple[str, Any]] = []
        self.arguments.read(plan, arguments, params, used)
        self._append((events.ACT, act, parent, rule.name, rule.rule_id, now, stack.thread, params))
        direction = "generated" if plan.writes else "used"
        for role, value in used:
            self.arguments.link(events.USE, act, role, value, now, direction)
        # arguments the generated entities refer to, as they were at the call: the function may
        # rebind its parameter names before it returns
        snapshot = {name: arguments.get(name) for name in plan.generated_args} if plan.generated_args else None
        stack.append((frame, act, not rule.nested, plan, snapshot))
        return not rule.nested

    def _iterating_recorded(self, stack: list, plan: Plan, frame: FrameType) -> bool:
        """True when the program iterates an object the record holds, outside any recorded call: the
        package's own generator takes each element (``for position in positions``: astropy's
        iterator calls ``positions[i]``), so each element is recorded as taken from it."""
        caller = frame.f_back
        if stack or caller is None or not caller.f_code.co_flags & CO_GENERATOR or not plan.bound:
            return False
        return self.arguments.objects.known(frame.f_locals.get(plan.argnames[0]))

    def leave(self, frame: FrameType, result: Any, error: BaseException | None) -> None:
        """A matched frame returned (error None) or unwound with ``error``."""
        try:
            stack = self._local.stack
        except AttributeError:
            stack = None
        if stack and stack[-1][0] is frame:
            entry = stack.pop()
        elif stack and self._pop_to(stack, frame):
            entry = stack.pop()
        else:
            entry = self._suspended.pop(frame, None)
            if entry is None:
                return  # started before capture began
        if self._watched:
            self._watched.pop(frame, None)
        _, act, _, plan, snapshot = entry
        if plan is None:
            return  # a nested call inside a non-nesting activity
        now = time_ns()
        if error is None or isinstance(error, (StopIteration, StopAsyncIteration, GeneratorExit)):
            if plan.generates or type(result) not in PLAIN_RESULTS:  # else nothing to generate
                self.arguments.generated(plan, act, snapshot, result, now)
            if plan.results:
                self._append((events.END, act, now, "completed", None, self.arguments.results(plan, snapshot, result)))
            else:
                self._append((events.END, act, now, "completed", None))
        else:
            detail = render(str(error)) if type(error).__module__ == "builtins" else ""
            self._append((events.END, act, now, "failed", f"{type(error).__qualname__}: {detail}".rstrip(": ")))
        if self.arguments.used_by:  # else no running activity used an entity: nothing to forget
            self.arguments.finished(act)

    def suspend(self, frame: FrameType) -> None:
        """A matched generator/coroutine yielded: its activity stays open, off the stack."""
        stack = getattr(self._local, "stack", None)
        if stack and (stack[-1][0] is frame or self._pop_to(stack, frame)):
            entry = stack.pop()
            if entry[3] is not None:
                self._suspended[frame] = entry
                if self._generator_of is not None and frame not in self._watched:
                    self._watch(frame)

    def _watch(self, frame: FrameType) -> None:
        """3.13+: follow the generator of a suspended matched frame (see closes.py)."""
        try:
            generator = self._generator_of(frame)
        except Exception:  # no ctypes here, say: closes stay unseen, recorded as before (incomplete)
            self._generator_of = None
            return
        state = STATE.get(type(generator))
        if state is not None:  # a generator, coroutine or async generator
            self._watched[frame] = (weakref.ref(generator), state)

    def end_silent_closes(self) -> None:
        """End as completed the suspended activities whose generator was closed or dropped without
        any engine seeing it (3.13+, closes.py); as 3.12 records the GeneratorExit that ends them."""
        for frame, (reference, state) in tuple(self._watched.items()):
            generator = reference()
            if generator is not None and state(generator) != ENDED:  # suspended or running
                continue
            self._watched.pop(frame, None)  # also a frame ended as incomplete, never seen to return
            if frame in self._suspended:
                self.leave(frame, None, GeneratorExit())

    def resume(self, frame: FrameType) -> bool:
        """A suspended generator/coroutine frame runs again; False if it was not suspended."""
        entry = self._suspended.pop(frame, None)
        if entry is None:
            return False
        try:
            stack = self._local.stack
        except AttributeError:
            stack = self._stack()
        stack.append(entry)
        return True

    # -- missed returns ----------------------------------------------------------------------

    def _resynchronise(self, stack: list, frame: FrameType) -> None:
        """``frame`` starts: end the entries on top of the stack whose frames are not its callers."""
        callers = set()
        caller = frame.f_back
        while caller is not None:
            if caller is stack[-1][0]:
                return  # the usual case: the top is a caller a few unmatched frames up
            callers.add(caller)
            caller = caller.f_back
        index = len(stack)
        # a synthetic activity (a cell, a pool task: issue 14) has no frame; only finish() ends it
        while index and stack[index - 1][0] not in callers and stack[index - 1][3] is not SYNTHETIC:
            index -= 1
        self._end_stale(stack, index)

    def _pop_to(self, stack: list, frame: FrameType) -> bool:
        """``frame`` returns from below the top: end the entries above it; False if not on the stack."""
        for index in range(len(stack) - 2, -1, -1):
            if stack[index][0] is frame:
                self._end_stale(stack, index + 1)
                return True
        return False

    def _end_stale(self, stack: list, index: int) -> None:
        """End the entries from ``index`` up: frames that returned without the engine seeing it."""
        now = time_ns()
        while len(stack) > index:
            _, act, _, plan, _ = stack.pop()
            if plan is not None:
                self._append((events.END, act, now, "incomplete", None))
                self.arguments.finished(act)

    def is_suspended(self, frame: FrameType) -> bool:
        return frame in self._suspended

    # -- synthetic activities (issue 14): notebook cells, pool tasks, commands --------------------
    # Not Python frames, so the engines never see them; the hot path above is untouched.

    def begin(self, name: str, params: dict[str, Any], rule_id: str | None = None, push: bool = True,
              suppress_nested: bool = False) -> int:
        """Open an activity that is not a Python frame, under this thread's current activity.

        With ``push`` it becomes the current activity of the thread (matched calls and files nest
        under it) until :meth:`finish`; ``suppress_nested`` records no activities inside it, as a
        ``nested: false`` rule does.  Without ``push`` it is a leaf (a command).  Returns its id.
        """
        stack = self._thread_stack()
        act = next(self._ids)
        self.activity_count += 1
        parent = stack[-1][1] if stack else None
        self._append((events.ACT, act, parent, name, rule_id or f"autoprov:{name}", time_ns(), stack.thread, params))
        if push:
            stack.append((None, act, suppress_nested, SYNTHETIC, None))
        return act

    def finish(self, act: int, status: str = "completed", error: str | None = None,
               results: dict[str, Any] | None = None) -> None:
        """End an activity opened by :meth:`begin` (``results`` are added to its parameters)."""
        now = time_ns()
        stack = getattr(self._local, "stack", None)
        if stack and any(entry[1] == act and entry[3] is SYNTHETIC for entry in stack):
            while stack:  # frames left above it never reported their end: they end with it
                entry = stack.pop()
                if entry[1] == act and entry[3] is SYNTHETIC:
                    break
                if entry[3] is not None:
                    self._append((events.END, entry[1], now, "incomplete", None))
        self._append((events.END, act, now, status, error, results) if results else (events.END, act, now, status, error))

    def fork_child(self) -> None:
        """In a forked child that goes on with the parent's engine (issue 14): forget the parent's state.

        Unwritten events, other threads' stacks, suspended generators, object ids and file versions
        are the parent's.  The forking thread's matched frames stay on its stack as frames of no
        activity (they end silently), so the child's activities start at its top level.  Keeping
        the engine spares the child deciding again every code object its parent decided.
        """
        del self.buffer[:]
        stack = self._thread_stack()
        stack[:] = [(frame, None, suppress, None, None) for frame, _, suppress, _, _ in stack]
        self._all_stacks[:] = [stack]
        self._suspended.clear()
        self._watched.clear()
        self.activity_count = 0
        self.objects = ObjectRegistry(self._append, self.identity)
        self.arguments = Arguments(self._append, self.objects, self._native)
        self.files = FileTracker(self._append, self.files.algorithm)
        self.file_events = FileEvents(self._append, self.files, self.current_activity, self.file_events.scope.folders, self.fault)

    def _thread_stack(self) -> _Stack:
        stack = getattr(self._local, "stack", None)
        return stack if stack is not None else self._stack()

    def context(self) -> tuple[int | None, bool]:
        """(current activity of this thread, whether it records nested activities not): what a pool
        task submitted from here inherits."""
        stack = getattr(self._local, "stack", None)
        return (stack[-1][1], bool(stack[-1][2])) if stack else (None, False)

    def fault(self, component: str, error: BaseException) -> None:
        """An internal error: record it and let the session decide (by default: stop capture)."""
        self._append((events.ERROR, component, f"{type(error).__name__}: {error}"))
        if self.on_fault is not None:
            self.on_fault(component, error)

    def close_open_activities(self, status: str) -> None:
        """At the end of capture: activities still running or suspended end with ``status``."""
        if self._watched:
            self.end_silent_closes()
        now = time_ns()
        entries = [entry for stack in self._all_stacks for entry in reversed(stack)]
        entries += self._suspended.values()
        for _, act, _, plan, _ in entries:
            if plan is not None:
                self._append((events.END, act, now, status, None))
        for stack in self._all_stacks:
            stack.clear()
        self._suspended.clear()
        self._watched.clear()
