"""Turns engine callbacks for matched code, and audit events, into buffered event tuples.

Engines call :meth:`Recorder.plan` once per code object (the decision they cache) and then, for
matched code only, :meth:`enter`, :meth:`leave`, :meth:`suspend` and :meth:`resume`.  Each thread
has a stack of the matched frames it is executing; a suspended generator or coroutine keeps its
activity in ``_suspended`` until its frame resumes or finishes, so it is one activity from its
first start to its final return.  Everything appended to ``buffer`` is a plain tuple
(see :mod:`autoprov.events`); the log writer drains it in the background.
"""

from __future__ import annotations

import itertools
from math import isfinite
import os
import sys
import threading
from time import time_ns
from types import CodeType, FrameType
from collections.abc import Callable
from typing import Any

from . import events
from .files import FileTracker
from .objects import ObjectRegistry
from .redaction import REDACTED, is_secret
from .rules import EntitySpec, Matcher, Rule
from .values import MAX_STRING, is_parameter_like, render

CO_OPTIMIZED = 0x01
CO_VARARGS = 0x04
CO_VARKEYWORDS = 0x08
FAST_SCALARS = frozenset({int, bool, type(None)})  # JSON-ready as they are
FILENAME_HINTS = ("filename", "path", "file", "dir", "outdir")
WRITING_VERBS = ("write", "save", "to_", "dump", "export")


def code_key(code: CodeType) -> tuple[int, str, str]:
    """What the engines cache decisions under: cheap to hash, unlike a code object, which hashes
    its bytecode and constants (recursively) on every lookup.  Only functions nobody can select
    (lambdas and comprehensions on one line) can share a key, and they are never activities."""
    return (code.co_firstlineno, code.co_name, code.co_filename)


class Plan:
    """A rule plus everything about the call that can be worked out once per code object."""

    __slots__ = (
        "rule", "argnames", "bound", "writes", "names", "entity_args", "file_args", "untyped", "self_used", "secrets",
        "generated_args",
    )

    def __init__(self, rule: Rule, code: CodeType) -> None:
        count = code.co_argcount + code.co_kwonlyargcount
        count += bool(code.co_flags & CO_VARARGS) + bool(code.co_flags & CO_VARKEYWORDS)
        self.rule = rule
        self.argnames = code.co_varnames[:count]
        self.bound = bool(self.argnames) and self.argnames[0] in ("self", "cls")
        self.writes = code.co_name.startswith(WRITING_VERBS)
        self.entity_args = frozenset(spec.source.split(".", 1)[0] for spec in rule.used)
        candidates = self.argnames[1:] if self.bound else self.argnames
        # argument names read at each call: the rule's parameters (or all), minus explicit entities
        self.names = tuple(
            name for name in candidates
            if (rule.parameters is None or name in rule.parameters) and name not in self.entity_args
        )
        self.file_args = frozenset(name for name in self.names if any(hint in name for hint in FILENAME_HINTS))
        # with no parameter or entity list, arguments that are not configuration become entities
        self.untyped = rule.parameters is None and not rule.used
        self.self_used = any(spec.source == "self" for spec in rule.used)
        self.secrets = frozenset(name for name in self.names if is_secret(name))
        sources = {spec.source.split(".", 1)[0] for spec in rule.generated}
        sources.update(path.split(".", 1)[0] for path in rule.result_parameters)
        sources.discard("return")
        self.generated_args = tuple(self.argnames[0] if name == "self" and self.bound else name for name in sorted(sources))


def _resolve(root: Any, path: str) -> Any:
    """Follow a dotted attribute path (``datasets.models``) without calling anything else."""
    value = root
    for part in path.split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value


IMPORT_SYSTEM = ("importlib", "_frozen_importlib", "zipimport", "pkgutil")


def _called_by_import_system() -> bool:
    """True when the directory listing comes from the import machinery (its path cache)."""
    frame = sys._getframe(3)  # _called_by_import_system <- on_audit <- audit hook <- caller
    module = frame.f_globals.get("__name__", "") if frame is not None else ""
    return isinstance(module, str) and module.startswith(IMPORT_SYSTEM)


class Recorder:
    def __init__(
        self,
        matcher: Matcher,
        hash_algorithm: str = "xxh3_128",
        excluded_paths: tuple[str, ...] = (),
    ) -> None:
        self.matcher = matcher
        self.buffer: list[tuple] = []
        self._append = self.buffer.append
        self._ids = itertools.count(1)
        # Per thread: [(frame, act, suppress_nested, plan)].  A threading.local, not a dict keyed by
        # get_ident(): idents are reused as soon as a thread ends.
        self._local = threading.local()
        self._all_stacks: list[list] = []
        self._suspended: dict[FrameType, tuple] = {}  # suspended generator frame -> its stack entry
        self.objects = ObjectRegistry(self._append)
        self.files = FileTracker(self._append, hash_algorithm)
        self.excluded_paths = excluded_paths
        self.activity_count = 0
        self._described: set[str] = set()  # activity names whose DESC event is written
        self._reads_seen: set[tuple] = set()  # (activity, path, version) already reported
        self._used_by: dict[int, set[int]] = {}  # running activity -> object ids it used
        self.on_fault: Callable[[str, BaseException], None] | None = None

    # -- decisions ---------------------------------------------------------------------------

    def plan(self, code: CodeType, module_globals: dict[str, Any]) -> Plan | None:
        """Once per code object: the recording plan, or None for code that is not an activity."""
        if not code.co_flags & CO_OPTIMIZED:
            return None  # module and class bodies are not calls
        rule = self.matcher.decide(code, module_globals)
        if rule is None:
            return None
        if rule.description and rule.name not in self._described:
            self._described.add(rule.name)
            self._append((events.DESC, rule.name, rule.description))
        return Plan(rule, code)

    # -- activities --------------------------------------------------------------------------

    def _stack(self) -> list:
        try:
            return self._local.stack
        except AttributeError:
            stack = self._local.stack = []
            self._local.name = threading.current_thread().name
            self._all_stacks.append(stack)
            return stack

    def current_activity(self) -> int | None:
        stack = getattr(self._local, "stack", None)
        return stack[-1][1] if stack else None

    def enter(self, plan: Plan, frame: FrameType) -> None:
        """A matched function starts (cost measured ~3 us with 3 scalar parameters)."""
        stack = self._stack()
        if stack and stack[-1][2]:  # inside an activity that records no nested activities
            stack.append((frame, stack[-1][1], True, None, None))
            return
        act = next(self._ids)
        self.activity_count += 1
        now = time_ns()
        rule = plan.rule
        arguments = frame.f_locals
        params: dict[str, Any] = {}
        used: list[tuple[str, Any]] = []
        self._read_arguments(plan, arguments, params, used)
        parent = stack[-1][1] if stack else None
        self._append((events.ACT, act, parent, rule.name, rule.rule_id, now, self._local.name, params))
        direction = "generated" if plan.writes else "used"
        for role, value in used:
            self._link(events.USE, act, role, value, now, direction)
        # arguments the generated entities refer to, as they were at the call: the function may
        # rebind its parameter names before it returns
        snapshot = {name: arguments.get(name) for name in plan.generated_args} if plan.generated_args else None
        stack.append((frame, act, not rule.nested, plan, snapshot))

    def _read_arguments(self, plan: Plan, arguments: dict, params: dict, used: list) -> None:
        rule = plan.rule
        self_object = arguments.get(plan.argnames[0]) if plan.bound else None
        for path in rule.self_parameters:
            try:
                params[path] = render(_resolve(self_object, path))
            except Exception:
                params[path] = None
        for spec in rule.used:
            value = self._source(spec.source, arguments, self_object, None)
            if value is not None:
                used.append((spec, value))
        if plan.bound and not plan.self_used and self.objects.known(self_object):
            used.append(("self", self_object))
        for name in plan.names:
            if name not in arguments:
                continue
            if name in plan.secrets:
                params[name] = REDACTED
                continue
            value = arguments[name]
            kind = type(value)
            if kind in FAST_SCALARS:  # the common case, no rendering needed
                params[name] = value
            elif kind is float:
                params[name] = value if isfinite(value) else repr(value)
            elif kind is str or is_parameter_like(value):
                params[name] = value if kind is str and len(value) <= MAX_STRING else render(value)
                if name in plan.file_args and isinstance(value, (str, os.PathLike)):
                    used.append((EntitySpec(role=name, source=name, kind="File"), value))
            elif plan.untyped:
                used.append((name, value))
            else:
                params[name] = render(value)

    @staticmethod
    def _source(source: str, arguments: dict, self_object: Any, result: Any) -> Any:
        """The value a rule's dotted source names: an argument, ``self`` or ``return``, then attributes."""
        head, _, rest = source.partition(".")
        if head == "return":
            root = result
        elif head == "self":
            root = self_object
        else:
            root = arguments.get(head)
        try:
            return _resolve(root, rest) if rest and root is not None else root
        except Exception:
            return None

    def _object_key(self, kind: str, act: int, value: Any) -> int:
        """The entity id for a USE/GEN; an object an activity used and then generates was modified
        in place (a fit updates its datasets' models), so it becomes a new version: a new id."""
        key = self.objects.key(value)
        if kind == events.USE:
            self._used_by.setdefault(act, set()).add(key)
        elif key in self._used_by.get(act, ()):
            key = self.objects.new_version(value)
        return key

    def _link(self, kind: str, act: int, role: Any, value: Any, now: int, file_direction: str) -> None:
        """USE/GEN of an object entity, or FILEARG when the value names a file."""
        if not isinstance(role, EntitySpec):
            self._append((kind, act, role, self._object_key(kind, act, value), now))
            return
        spec = role
        if spec.kind in ("File", "FileCollection") and isinstance(value, (str, os.PathLike)):
            path = os.path.abspath(os.fspath(value))
            self._append((events.FILEARG, act, spec.role, path, file_direction))
            if spec.index:
                self._append((events.FILEARG, act, f"{spec.role}_index", os.path.join(path, spec.index), file_direction))
            return
        key = self._object_key(kind, act, value)
        if spec.members:
            try:
                self.objects.add_members(key, _resolve(value, spec.members))
            except Exception:
                pass  # a members path that does not apply to this object: the entity stays
        self._append((kind, act, spec.role, key, now))

    def leave(self, frame: FrameType, result: Any, error: BaseException | None) -> None:
        """A matched frame returned (error None) or unwound with ``error``."""
        stack = getattr(self._local, "stack", None)
        if stack and stack[-1][0] is frame:
            entry = stack.pop()
        else:
            entry = self._suspended.pop(frame, None)
            if entry is None:
                return  # started before capture began
        _, act, _, plan, snapshot = entry
        if plan is None:
            return  # a nested call inside a non-nesting activity
        now = time_ns()
        if error is None or isinstance(error, (StopIteration, StopAsyncIteration, GeneratorExit)):
            self._generated(plan, act, snapshot, result, now)
            if plan.rule.result_parameters:
                self._append((events.END, act, now, "completed", None, self._results(plan, snapshot, result)))
            else:
                self._append((events.END, act, now, "completed", None))
        else:
            detail = render(str(error)) if type(error).__module__ == "builtins" else ""
            self._append((events.END, act, now, "failed", f"{type(error).__qualname__}: {detail}".rstrip(": ")))
        self._used_by.pop(act, None)

    def _results(self, plan: Plan, arguments: dict | None, result: Any) -> dict[str, Any]:
        """Values a rule reads when the call returns (fitted parameters, statistics), rendered."""
        arguments = arguments or {}
        self_object = arguments.get(plan.argnames[0]) if plan.bound else None
        values = {}
        for path in plan.rule.result_parameters:
            value = self._source(path, arguments, self_object, result)
            values[path] = render(value)
        return values

    def _generated(self, plan: Plan, act: int, arguments: dict | None, result: Any, now: int) -> None:
        rule = plan.rule
        if rule.generated:
            arguments = arguments or {}
            self_object = arguments.get(plan.argnames[0]) if plan.bound else None
            for spec in rule.generated:
                value = self._source(spec.source, arguments, self_object, result)
                if value is not None:
                    self._link(events.GEN, act, spec, value, now, "generated")
        elif result is not None and not is_parameter_like(result):
            self._link(events.GEN, act, "result", result, now, "generated")

    def suspend(self, frame: FrameType) -> None:
        """A matched generator/coroutine yielded: its activity stays open, off the stack."""
        stack = getattr(self._local, "stack", None)
        if stack and stack[-1][0] is frame:
            entry = stack.pop()
            if entry[3] is not None:
                self._suspended[frame] = entry

    def resume(self, frame: FrameType) -> bool:
        """A suspended generator/coroutine frame runs again; False if it was not suspended."""
        entry = self._suspended.pop(frame, None)
        if entry is None:
            return False
        self._stack().append(entry)
        return True

    def is_suspended(self, frame: FrameType) -> bool:
        return frame in self._suspended

    def fault(self, component: str, error: BaseException) -> None:
        """An internal error: record it and let the session decide (by default: stop capture)."""
        self._append((events.ERROR, component, f"{type(error).__name__}: {error}"))
        if self.on_fault is not None:
            self.on_fault(component, error)

    def close_open_activities(self, status: str) -> None:
        """At the end of capture: activities still running or suspended end with ``status``."""
        now = time_ns()
        entries = [entry for stack in self._all_stacks for entry in reversed(stack)]
        entries += self._suspended.values()
        for _, act, _, plan, _ in entries:
            if plan is not None:
                self._append((events.END, act, now, status, None))
        for stack in self._all_stacks:
            stack.clear()
        self._suspended.clear()

    # -- files -------------------------------------------------------------------------------

    def on_audit(self, event: str, args: tuple) -> None:
        """An interesting audit event (open, rename, remove, ...) while capture is active."""
        if _called_by_import_system():
            return  # module loading, path caches, metadata look-ups: not the analysis' files
        act = self.current_activity()
        if event == "open":
            path, mode, flags = args
            if not isinstance(path, (str, bytes, os.PathLike)):
                return  # an already-open file descriptor
            path = self._absolute(path)
            if path is None:
                return
            if flags & (os.O_WRONLY | os.O_RDWR):
                truncates = bool(flags & os.O_TRUNC) or (isinstance(mode, str) and "w" in mode)
                version = self.files.write(path, truncates)
                op = "write" if truncates or not (flags & os.O_RDWR) else "update"
            else:
                if not os.path.exists(path):
                    return  # this open fails (a probe for an optional file): nothing was read
                version = self.files.read(path)
                op = "read"
                if (act, path, version) in self._reads_seen:
                    return  # the same version re-opened by the same activity (FITS HDUs, gzip)
                self._reads_seen.add((act, path, version))
            self._append((events.FILE, act, op, path, time_ns(), version))
        elif event in ("os.rename", "shutil.copyfile", "shutil.copytree"):
            source, destination = self._absolute(args[0]), self._absolute(args[1])
            if source is None or destination is None:
                return
            if event == "shutil.copytree" or os.path.isdir(source):
                op = "copy" if event != "os.rename" else "rename"
            else:
                self.files.transferred(source, destination)
                op = "rename" if event == "os.rename" else "copy"
            self._append((events.FILE, act, op, source, time_ns(), destination))
        else:
            path = self._absolute(args[0])
            if path is None:
                return
            op = {"os.remove": "remove", "os.mkdir": "mkdir", "os.listdir": "listdir", "os.scandir": "listdir"}[event]
            if op == "remove":
                self.files.before_removal(path)
            self._append((events.FILE, act, op, path, time_ns(), None))

    def _absolute(self, path: Any) -> str | None:
        if isinstance(path, int):
            return None
        if path is None:
            path = "."
        path = os.fsdecode(os.fspath(path))
        absolute = os.path.abspath(path)
        if absolute.startswith(self.excluded_paths) or absolute.endswith((".py", ".pyc", ".so")):
            return None
        return absolute
