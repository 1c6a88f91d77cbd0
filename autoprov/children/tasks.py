"""Pool tasks keep the call that submitted them: a picklable wrapper added where they are submitted.

A task submitted to a process pool is wrapped, in the submitting thread, with its
:class:`Submitter` (process key, activity, and whether that activity records nested calls).  In
the worker the wrapper makes the task an activity, ``wasInformedBy`` the submitting call, records
nothing nested under it when the submitter is a ``nested: false`` activity (as the same call run
serially would), and flushes the worker's log when the task ends, so the task's events are on disk
before its result reaches the parent.  With nothing captured the wrapper only calls the function.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import Any, NamedTuple

from . import live


class Submitter(NamedTuple):
    process: str  # key of the submitting process
    act: int | None  # the submitting activity (None: the process itself)
    quiet: bool  # the submitting activity records no nested activities

    @classmethod
    def here(cls) -> Submitter | None:
        """The submitter for a task submitted from this thread now; None when nothing is followed."""
        state = live()
        if state is None or not state.follow:
            return None
        act, quiet = state.recorder.context()
        return cls(state.key, act, quiet)


class Task:
    """``function`` to be run in a worker as one task of ``submitter``."""

    __slots__ = ("function", "submitter")

    def __init__(self, function: Any, submitter: Submitter) -> None:
        self.function = function
        self.submitter = submitter

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        state = live()
        run_task = getattr(state.owner, "run_task", None) if state is not None else None
        if run_task is None:
            return self.function(*args, **kwargs)
        return run_task(self.function, self.submitter, args, kwargs)

    def __reduce__(self) -> tuple:
        return (Task, (self.function, self.submitter))

    def __repr__(self) -> str:
        return f"<autoprov task {self.function!r}>"


def task_name(function: Any) -> str:
    """``module.qualname`` of a task's function (bound methods and partials unwrapped)."""
    while isinstance(function, functools.partial):
        function = function.func
    target = getattr(function, "__func__", function)
    module = getattr(target, "__module__", None) or ""
    module = "__main__" if module == "__mp_main__" else module  # the program's module in a spawned worker
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{module}.{name}" if module else name


def wrap_callable(function: Any, submitter: Submitter, executor_module: ModuleType | None = None) -> Any:
    """The task to submit; ``ProcessPoolExecutor.map``'s chunk runner keeps one task per item."""
    chunk_runner = getattr(executor_module, "_process_chunk", None)
    if chunk_runner is not None and isinstance(function, functools.partial) and function.func is chunk_runner \
            and len(function.args) == 1 and not function.keywords:
        return functools.partial(chunk_runner, Task(function.args[0], submitter))
    return Task(function, submitter)


class TaskQueue:
    """A ``multiprocessing.pool.Pool``'s task queue as the submitting threads see it.

    Every submission (``apply_async``, ``map``, ``starmap``, ``imap``...) puts
    ``(tasks, set_length)`` here in the submitting thread; the tasks, a list or a generator that
    the pool's task thread consumes later, come out wrapped with that thread's submitter.  The
    pool's own threads hold the original queue, so only submissions pass through this one.
    """

    def __init__(self, queue: Any, pool_module: ModuleType) -> None:
        self._queue = queue
        self._star_runners = (pool_module.mapstar, pool_module.starmapstar)
        self._reraise = pool_module._helper_reraises_exception

    def put(self, item: Any) -> None:
        if item is not None:
            submitter = Submitter.here()
            if submitter is not None:
                tasks, set_length = item
                wrapped: Iterable = [self._wrap(task, submitter) for task in tasks] if isinstance(tasks, list) else self._wrap_lazily(tasks, submitter)
                item = (wrapped, set_length)
        self._queue.put(item)

    def _wrap_lazily(self, tasks: Iterable, submitter: Submitter) -> Iterator:
        for task in tasks:
            yield self._wrap(task, submitter)

    def _wrap(self, task: tuple, submitter: Submitter) -> tuple:
        job, index, function, args, kwargs = task
        if function in self._star_runners:  # map/starmap: (function, chunk) -> one task per item
            inner, chunk = args[0]
            return (job, index, function, ((Task(inner, submitter), chunk),), kwargs)
        if function is self._reraise:
            return task
        return (job, index, Task(function, submitter), args, kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)
