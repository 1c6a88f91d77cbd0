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
from typing import Any

from .. import events
from ..engine import EngineChoice
from ..log.writer import EventLog
from ..recorder import Recorder
from ..redaction import redact_argv
from ..session.process import ProcessCapture
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
        self._process: ProcessCapture | None = None
        self._log: EventLog | None = None
        self._stopped = False
        self._lock = threading.Lock()

    def start(self) -> ChildCapture:
        context = self.context
        folder = context.folder
        folder.children.mkdir(mode=0o750, exist_ok=True)
        choice = EngineChoice.of_run(context.engine)
        matcher = context.load_matcher() if self._adopt is None else None
        process = self._process = ProcessCapture(choice, matcher, context.hash_algorithm, context.store, self._on_fault, adopt=self._adopt)
        recorder = self.recorder = process.recorder
        exclude_folder(recorder.file_events, str(folder.path))
        info = {
            "pid": os.getpid(), "ppid": os.getppid(), "kind": self.kind, "argv": redact_argv(sys.orig_argv),
            "parent": list(self.parent) if self.parent is not None else [context.parent, context.act],
            "cwd": os.getcwd(), "python": sys.version.split()[0], "core": choice.core,
        }
        info.update(self.info)
        # the header is written now: a worker killed while it starts is still a process of the run
        self._log = process.open_log(folder.path, (events.PROC, self.key, time.time_ns(), info), path=folder.child_log(self.key),
                                     flush_header=True)
        set_live(Live(self.key, recorder, context, self, True))
        from . import commands

        commands.attach(recorder)
        # grandchildren started with subprocess/exec are children of this process
        context.handed_over(self.key).export_environment()
        process.start()
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
        recorder, process = self.recorder, self._process
        assert recorder is not None and process is not None
        self._stop_tracing()
        from . import commands

        commands.detach(recorder)
        process.close_record(status, record_scope=False)  # the run's first process records the scope
        info.update(process.resources())
        process.end(status, exit_code, info)
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
        if self._process is None:
            return None
        return self._process.hand_over()

    def _stop_tracing(self) -> None:
        from . import live

        state = live()
        if state is not None and state.owner is self:
            set_live(None)
        if self._process is not None:
            self._process.stop_tracing()

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
