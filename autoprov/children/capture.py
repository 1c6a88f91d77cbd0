"""The capture of one child process: its own engine, recorder and log, in the parent's run folder.

A child records exactly what its parent would (the same compiled filters, engine and hash) into
``children/<process>.jsonl``.  The log starts with a PROC event naming the process and the activity
of the parent that started it, and ends with EXIT; ids are local to the process, and the reader
makes them unique (:mod:`.merge`).  A child writes no documents: the run's first process exports.

Pool workers are ended by ``terminate()`` (SIGTERM) or ``os._exit`` and never run ``atexit``, so
the log is flushed after every task (:mod:`.tasks`): a worker killed while idle has written all it
did, and the merge ends its process activity at its last event.  A child keeps the SIGTERM
disposition the program gave it: a Python-level handler cannot be relied on in a worker blocked on
its pool's queue (a signal landing between the interpreter's last check and the semaphore wait is
never handled, and the worker would never end), so none is installed, and one inherited from a
capturing parent is put back to the default it replaced.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .. import events
from ..engine import audit, make_engine
from ..engine.core import select as select_core
from ..filtering.plans import Planner
from ..log.writer import EventLog
from ..recorder import Recorder
from ..redaction import redact_argv
from ..recorder.fileevents import excluded_paths
from . import Live, set_live
from .context import ChildContext, exclude_folder


def process_key() -> str:
    """This process' key in the run: pid and start time (an exec'd program keeps its pid)."""
    return f"{os.getpid()}-{time.time_ns()}"


class ChildCapture:
    """Capture in a child process; ``start()`` once, ``stop()`` when the process' work is done."""

    def __init__(self, context: ChildContext, kind: str, parent: tuple[str, int | None] | None, info: dict[str, Any] | None = None,
                 adopt: tuple[Recorder, Any] | None = None) -> None:
        self.context = context
        self._adopt = adopt  # a fork: the parent's recorder (reset) and running engine go on here
        self.kind = kind  # fork, multiprocessing, program (subprocess or exec), ray
        self.parent = parent  # (process key, activity) of the parent, or None: the process that handed over the context
        self.info = dict(info or {})
        self.key = process_key()
        self.recorder: Recorder | None = None
        self._engine: Any = None
        self._log: EventLog | None = None
        self._stopped = False
        self._cpu_at_start = time.process_time()
        self._lock = threading.Lock()

    def start(self) -> ChildCapture:
        context = self.context
        folder = context.folder
        folder.children.mkdir(mode=0o750, exist_ok=True)
        native, core, _ = select_core()
        if self._adopt is not None:
            recorder, engine = self._adopt
        else:
            recorder = Recorder(context.hash_algorithm, excluded_paths(Path(context.store)), native)
            engine = make_engine(context.engine, Planner(context.load_matcher(), recorder.buffer.append), recorder, native)
        exclude_folder(recorder.file_events, str(folder.path))
        recorder.on_fault = self._on_fault
        self.recorder = recorder
        info = {
            "pid": os.getpid(), "ppid": os.getppid(), "kind": self.kind, "argv": redact_argv(sys.orig_argv),
            "parent": list(self.parent) if self.parent is not None else [context.parent, context.act],
            "cwd": os.getcwd(), "python": sys.version.split()[0], "core": core,
        }
        info.update(self.info)
        recorder.buffer.append((events.PROC, self.key, time.time_ns(), info))
        self._log = EventLog(folder.path, recorder.buffer, path=folder.child_log(self.key))
        self._log.flush()  # the header now: a worker killed while it starts is still a process of the run
        self._log.start()
        self._engine = engine
        set_live(Live(self.key, recorder, context, self, True))
        from . import commands

        commands.attach(recorder)
        # grandchildren started with subprocess/exec are children of this process
        context.handed_over(self.key).export_environment()
        audit.activate(recorder.file_events, native)
        if self._adopt is None:
            self._engine.start()
        _default_sigterm_again()
        return self

    # -- during the run ------------------------------------------------------------------------

    def flush(self) -> None:
        """Make everything recorded so far durable (after each pool task): hash the files the
        task touched and write the buffer, so a worker killed later loses nothing of it."""
        if self._stopped or self.recorder is None or self._log is None:
            return
        try:
            self.recorder.files.finish()
        except Exception as error:
            self.recorder.fault("hash", error)
        self._log.flush()

    def run_task(self, function: Any, submitter: Any, args: tuple, kwargs: dict) -> Any:
        """Run one pool task as an activity informed by its submitter; flush when it ends."""
        recorder = self.recorder
        if self._stopped or recorder is None:
            return function(*args, **kwargs)
        from .tasks import task_name

        act = recorder.begin("task", {"function": task_name(function)}, suppress_nested=submitter.quiet)
        recorder.buffer.append((events.INFORM, act, submitter.process, submitter.act))
        try:
            result = function(*args, **kwargs)
        except BaseException as error:
            recorder.finish(act, "failed", type(error).__qualname__)
            self.flush()
            raise
        recorder.finish(act)
        self.flush()
        return result

    # -- the end -------------------------------------------------------------------------------

    def stop(self, status: str = "completed", exit_code: int | None = None, **info: Any) -> None:
        """End capture in this process: close activities, hash files, write EXIT and close the log."""
        with self._lock:
            if self._stopped or self.recorder is None:
                return
            self._stopped = True
        self._complete(status, exit_code, info)

    def _complete(self, status: str, exit_code: int | None, info: dict[str, Any]) -> None:
        recorder = self.recorder
        assert recorder is not None
        self._stop_tracing()
        from . import commands

        commands.detach(recorder)
        recorder.close_open_activities("interrupted" if status == "interrupted" else "incomplete")
        try:
            recorder.files.finish()
        except Exception as error:
            recorder.fault("hash", error)
        info.update(cpu_time=time.process_time() - self._cpu_at_start, activities=recorder.activity_count)
        try:
            import resource

            info["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        except Exception:
            pass
        recorder.buffer.append((events.EXIT, time.time_ns(), status, exit_code, info))
        assert self._log is not None
        try:
            self._log.close()
        except Exception:
            pass

    def detach(self) -> None:
        """In a forked child of this process: stop silently; this log belongs to the parent."""
        self._stopped = True
        self._stop_tracing()

    def hand_over(self) -> tuple[Recorder, Any] | None:
        """In a forked child of this process: its log is the parent's, its recorder and engine go
        on in the child's own capture; (recorder, engine), or None when nothing is running."""
        self._stopped = True
        engine, self._engine = self._engine, None
        if self.recorder is None or engine is None:
            return None
        return self.recorder, engine

    def _stop_tracing(self) -> None:
        from . import live

        state = live()
        if state is not None and state.owner is self:
            set_live(None)
        audit.deactivate(self.recorder.file_events if self.recorder is not None else None)
        engine, self._engine = self._engine, None
        if engine is not None:
            try:
                engine.stop()
            except Exception:
                pass

    def _on_fault(self, component: str, error: BaseException) -> None:
        try:
            print(f"autoprov: process {os.getpid()}: internal error in {component} ({type(error).__name__}: {error}); "
                  "capture stopped in this process, your program continues", file=sys.stderr)
        except Exception:
            pass
        self._stop_tracing()


def _default_sigterm_again() -> None:
    """A SIGTERM handler inherited from a capturing parent (autoprov installs one only over the
    default) goes back to the default, which the program had."""
    if threading.current_thread() is not threading.main_thread():
        return
    current = signal.getsignal(signal.SIGTERM)
    owner = getattr(current, "__self__", None)
    if owner is not None and type(owner).__module__.startswith("autoprov."):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
