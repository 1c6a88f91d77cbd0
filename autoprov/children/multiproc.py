"""multiprocessing and ProcessPoolExecutor: workers capture themselves, tasks keep their submitter.

* ``BaseProcess.start`` notes, on the process object, which process and activity start it; the
  attribute is serialised with the object for spawn and forkserver children and inherited by a fork.
* ``BaseProcess._bootstrap``, the first and last Python the child runs for any start method, starts
  the child's capture and completes it when the target returns, before ``os._exit``.
* spawn and forkserver children are fresh interpreters: the run's context rides in the serialised
  preparation data as a :class:`Stowaway` whose unpickling applies these patches in the child
  (coverage.py's idea), so no start-up file and no environment is needed for them.
* ``Pool`` (its task queue) and ``ProcessPoolExecutor.submit`` wrap each task with its submitter
  (:mod:`.tasks`).
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

from . import forks, live
from .context import ChildContext
from .patches import replace
from .tasks import Submitter, TaskQueue, wrap_callable

_handed: dict[str, Any] = {}  # in a spawn/forkserver child: "context", "parent_pid" from the Stowaway


class Stowaway:
    """Rides in a spawn/forkserver child's preparation data; unpickling it prepares the child."""

    def __init__(self, context: str, parent_pid: int) -> None:
        self.context = context
        self.parent_pid = parent_pid

    def __getstate__(self) -> dict[str, Any]:
        return {"context": self.context, "parent_pid": self.parent_pid}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.context = state["context"]
        self.parent_pid = state["parent_pid"]
        try:
            from . import patches

            _handed["context"] = ChildContext.decode(self.context)
            _handed["parent_pid"] = self.parent_pid
            patches.install_all()
        except Exception:
            _handed.clear()  # the child runs uncaptured rather than failing


def patch_process(module: ModuleType) -> None:
    base = module.BaseProcess
    original_start = base.start
    original_bootstrap = base._bootstrap

    def start(self: Any) -> None:
        state = live()
        if state is None or not state.follow:
            return original_start(self)
        act, _ = state.recorder.context()
        self._autoprov_parent = (state.key, act)
        forks.starting_process(True)
        try:
            return original_start(self)
        finally:
            forks.starting_process(False)

    def _bootstrap(self: Any, *args: Any, **kwargs: Any) -> int:
        capture = _start_in_worker(self)
        exitcode = 1
        try:
            exitcode = original_bootstrap(self, *args, **kwargs)
        finally:
            if capture is not None:
                capture.stop("completed" if exitcode == 0 else "failed", exitcode)
        return exitcode

    replace(base, "start", start)
    replace(base, "_bootstrap", _bootstrap)


def _start_in_worker(process: Any) -> Any:
    """Start capture at the top of a multiprocessing child; None when its parent captured nothing."""
    from .capture import ChildCapture

    parent = getattr(process, "_autoprov_parent", None)
    inherited = forks.inherited()
    context = inherited[0] if inherited is not None else _handed.get("context")
    if parent is None or context is None:
        _stop_inherited(inherited)
        return None
    if inherited is not None:  # a fork: the parent's engine and (reset) recorder go on
        method, adopt = "fork", (inherited[1], inherited[2])
    else:
        method, adopt = ("spawn" if os.getppid() == _handed.get("parent_pid") else "forkserver"), None
    try:
        forks.register()
        return ChildCapture(context, "multiprocessing", tuple(parent), {"name": process.name, "start_method": method}, adopt=adopt).start()
    except Exception as error:
        import sys

        print(f"autoprov: process {os.getpid()}: capture not started ({type(error).__name__}: {error})", file=sys.stderr)
        _stop_inherited(inherited)
        return None


def _stop_inherited(inherited: Any) -> None:
    """A fork whose capture does not start: the engine it inherited must not run on, unlogged."""
    if inherited is not None:
        from ..engine import audit

        audit.deactivate()
        try:
            inherited[2].stop()
        except Exception:
            pass


def patch_spawn(module: ModuleType) -> None:
    original = module.get_preparation_data

    def get_preparation_data(name: str) -> dict[str, Any]:
        data = original(name)
        state = live()
        if state is not None and state.follow:
            data["autoprov"] = Stowaway(state.context.handed_over(state.key).encode(), os.getpid())
        return data

    replace(module, "get_preparation_data", get_preparation_data)


def patch_pool(module: ModuleType) -> None:
    pool_class = module.Pool
    original_init = pool_class.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if not isinstance(self, module.ThreadPool):  # threads are recorded per thread already
            self._taskqueue = TaskQueue(self._taskqueue, module)

    replace(pool_class, "__init__", __init__)


def patch_executor(module: ModuleType) -> None:
    executor = module.ProcessPoolExecutor
    original_submit = executor.submit

    def submit(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        submitter = Submitter.here()
        if submitter is not None:
            fn = wrap_callable(fn, submitter, module)
        return original_submit(self, fn, *args, **kwargs)

    replace(executor, "submit", submit)
