"""A capture session: the live object that wires engine, audit hook, recorder and log together.

``Capture`` is what ``python -m autoprov`` uses around a script and what users use in code and
notebooks, as a context manager, with ``start()`` / ``stop()``, or as a decorator.  It owns the
run folder; when it stops it closes open activities, hashes the files the run touched, writes the
EXIT event and hands the finished log to the post-run steps (export), which never run on the hot
path.  Any internal fault stops capture with one warning and leaves the user's program alone.

What the program can observe stays what plain python gives it: the run folder is made outside its
view until it ends (:mod:`autoprov.store.live`), the log's thread is invisible and paused around
``os.fork`` (:mod:`autoprov.log.writer`), a forked child is detached silently (:meth:`Capture.
detach_in_child`, the seam where child capture will start), the log is flushed before ``os._exit``
and ``os.exec*`` (which skip every Python-level clean-up), a Ctrl-C or SIGTERM that arrives while
the record is completed waits for it (:mod:`autoprov.session.interrupts`), and a capture started by the
program inside an active one joins it instead of failing.
"""

from __future__ import annotations

import atexit
import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import children, environment, events, faults
from ..version import __version__
from . import interrupts
from ..children import forks as child_forks
from ..engine import EngineChoice, audit
from ..log.writer import EventLog
from ..recorder import Recorder
from .process import ProcessCapture
from .run import Run
from ..redaction import redact, redact_argv
from ..store import default_store, new_run_id
from ..store.live import create_live_dir, settle

if TYPE_CHECKING:
    from ..filtering.rules import Matcher
    from .postrun import ExportStep

_active: Capture | None = None


def _before_fork() -> None:
    if _active is not None and _active._log is not None:
        _active._log.pause()  # no autoprov thread may exist when the program forks


def _after_fork_in_parent() -> None:
    if _active is not None and _active._log is not None:
        _active._log.resume()


def _after_fork_in_child() -> None:
    if _active is not None:
        _active.detach_in_child()


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)

# Functions that end the process (or replace its image) without any Python-level clean-up:
# capture flushes its log before them, as coverage.py does for os._exit.
EXIT_FUNCTIONS = ("_exit", "execv", "execve")


def _flushing(name: str, real: Callable) -> Callable:
    @functools.wraps(real)
    def call(*args: Any, **kwargs: Any) -> Any:
        capture = _active
        if capture is not None and capture._log is not None:
            try:
                capture._log.flush()
            except Exception:
                pass
        return real(*args, **kwargs)

    call.__autoprov_wraps__ = real  # type: ignore[attr-defined]
    return call


class Capture:
    """One provenance run.  Use ``with Capture(matcher): ...`` or ``start()`` / ``stop()``."""

    def __init__(
        self,
        matcher: Matcher,
        engine: str | EngineChoice = "auto",
        store: Path | str | None = None,
        hash_algorithm: str = "xxh3_128",
        run_info: dict[str, Any] | None = None,
        export: ExportStep | None = None,
        announce: bool = False,
    ) -> None:
        self.matcher = matcher
        # the engine as asked for, or already chosen (from_options chooses it before the program runs)
        self.choice: EngineChoice | None = engine if isinstance(engine, EngineChoice) else None
        self.requested_engine = engine.name if isinstance(engine, EngineChoice) else engine
        self.store = Path(store).absolute() if store else default_store()
        self.hash_algorithm = hash_algorithm
        self.run_info = dict(run_info or {})
        self.export = export  # the post-run step that writes the documents (None: only the log)
        self.announce = announce  # print the summary lines on stderr when the run stops
        self.run_id = new_run_id()
        self.run_dir: Path | None = None
        self.engine_name: str | None = None
        self.engine_reason: str | None = None
        self.core: str | None = None  # "native" or "pure" (autoprov.engine.core)
        self.status: str | None = None
        self.recorder: Recorder | None = None
        self.finished: Run | None = None
        self._process: ProcessCapture | None = None
        self._log: EventLog | None = None
        self._faulted = False
        self._previous_sigterm: Any = None
        self._started_at = 0.0
        self._joined: Capture | None = None  # the active capture this one joined (started inside it)
        self._staged = False  # the run folder is outside the store until the run ends
        self._stopping = False
        self._sigterm_pending = False
        self._patched: dict[str, Callable] = {}
        self._offload: Any = None  # the helper doing autoprov's I/O once the program watches audit events
        self.process_ends = False  # set by `python -m autoprov`: the process ends right after stop()
        self._at_exit: Callable[[], None] | None = None

    @classmethod
    def from_options(
        cls,
        *,
        filters: list[str] | None = None,
        match: list[str] | None = None,
        engine: str = "auto",
        store: str | os.PathLike | None = None,
        hash_algorithm: str = "xxh3_128",
        formats: str | None = None,
        graphs: str | None = None,
        export: str | None = None,
        embed: str | None = None,
        announce: bool = True,
        debug_filter: bool = False,
        run_info: dict[str, Any] | None = None,
    ) -> Capture:
        """The capture every front end makes (``python -m autoprov``, ``autoprov.capture()`` and
        ``start()``, the ``%autoprov`` magics), from the options as the command line names them, so
        each gets the same defaults (the gammapy filter when gammapy is installed), the same
        ``[tool.autoprov]`` settings (filters, store, embed) and the same errors, all raised here,
        before anything runs.  ``export``: background or sync (default ``$AUTOPROV_EXPORT``, else
        background); ``announce``: print the summary lines when the capture stops.
        """
        from ..filtering import build_matcher
        from ..store.location import resolve_store
        from .postrun import ExportStep, export_mode, parse_embed, parse_formats, parse_graphs

        choice = EngineChoice.choose(engine)  # a bad engine (or AUTOPROV_CORE) is a usage error, before running
        matcher = build_matcher(filters=filters, match=match, debug=debug_filter)
        location = resolve_store(os.fspath(store) if store else None)  # so is a bad store URL
        kinds = parse_embed(embed)
        step = ExportStep(parse_formats(formats), parse_graphs(graphs), export_mode(export), kinds, index=location,
                          asked=formats is not None)
        info = {**(run_info or {}), "filters": list(getattr(matcher, "sources", [])), "embed": list(kinds)}
        return cls(matcher, engine=choice, store=location.runs, hash_algorithm=hash_algorithm, run_info=info, export=step,
                   announce=announce)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Capture:
        """Begin the run; inside an active capture (``python -m autoprov`` of a script that calls
        ``autoprov.capture()`` itself), join that one: its record already holds everything."""
        global _active
        if _active is not None:
            self._joined = _active
            self.run_id, self.run_dir = _active.run_id, _active.run_dir
            return self
        choice = self.choice = self.choice or EngineChoice.choose(self.requested_engine)
        self.engine_name, self.engine_reason, self.core = choice.name, choice.reason, choice.core
        self.run_id = new_run_id()  # a Capture used as a decorator makes one run per call
        self.run_dir, self._staged = create_live_dir(self.store, self.run_id)
        process = self._process = ProcessCapture(choice, self.matcher, self.hash_algorithm, self.store, self._on_fault)
        recorder = self.recorder = process.recorder
        self._started_at = time.perf_counter()
        info = {
            "argv": redact_argv(sys.argv),
            "cwd": os.getcwd(),
            "pid": os.getpid(),
            "engine": self.engine_name,
            "engine_reason": self.engine_reason,
            "core": self.core,
            "hash_algorithm": self.hash_algorithm,
            "autoprov_version": __version__,
            "python": sys.version.split()[0],
            "store": str(self.store),
        }
        info.update(redact(self.run_info))  # program_args: the program's own command line
        self._log = process.open_log(self.run_dir, (events.RUN, self.run_id, time.time_ns(), info), on_error=self._on_log_error)
        faults.inject({"recorder": recorder, "planner": process.planner, "file_events": recorder.file_events,
                       "files": recorder.files, "log": self._log, "session": self})
        _active = self
        audit.on_program_hook = self._program_added_audit_hook
        process.start()
        self._install_sigterm()
        self._patch_exit_functions()
        atexit.register(self._run_at_exit)  # before the program's own handlers: so it runs after them
        children.install(self, self.matcher)  # issue 14: follow child processes, record commands
        return self

    def finish_at_exit(self, finish: Callable[[], None]) -> None:
        """Call ``finish`` (which stops this capture) when the interpreter exits, after the exit
        handlers the program registered: the files they write, and the buffers of files the program
        left open, are then in the record (``python -m autoprov`` ends its runs this way)."""
        self._at_exit = finish

    def _run_at_exit(self) -> None:
        finish, self._at_exit = self._at_exit, None
        if finish is not None:
            finish()

    def stop(self, status: str = "completed", exit_code: int | None = 0) -> Run | None:
        """End the run: record how it ended, write the log, export; the finished :class:`Run`.

        A Ctrl-C or SIGTERM that arrives meanwhile waits until the record is complete; then an
        in-process capture raises the ``KeyboardInterrupt`` (``python -m autoprov`` has held
        Ctrl-C since the program ended and drops it), and SIGTERM ends the process as it would have.
        """
        if self._joined is not None:  # the record is the active capture's: where it will be
            joined, self._joined = self._joined, None
            self.finished = Run(joined.store / joined.run_id)
            return self.finished
        if _active is not self or self.recorder is None:
            return self.finished
        held = interrupts.hold()
        self._stopping = True
        try:
            return self._complete(status, exit_code)
        finally:
            self._stopping = False
            self._restore_sigterm()
            if self._sigterm_pending:
                self._die_of_sigterm()
            if held and interrupts.release():
                raise KeyboardInterrupt

    def _program_added_audit_hook(self) -> None:
        """From now on autoprov's own I/O must not reach the program's hook: hand it to a helper."""
        if self._offload is not None or self.recorder is None:
            return
        try:
            from .offload import Offload

            self._offload = Offload()
        except Exception as error:
            self._warn(f"could not start the helper for I/O out of the program's audit hooks ({type(error).__name__}: {error})")
            return
        self.recorder.files.hash_file = self._offload.hash_file

    def _offloaded(self, kind: str, fallback: Callable[[], Any], **payload: Any) -> Any:
        """The helper's answer to a request, or (no helper, or it failed) ``fallback()`` in-process."""
        if self._offload is not None:
            from .offload import OffloadFailed

            try:
                return self._offload.request(kind, **payload)
            except OffloadFailed:
                pass
        return fallback()

    def _complete(self, status: str, exit_code: int | None) -> Run | None:
        global _active
        children.uninstall(self)  # issue 14: commands still running end, children are no longer followed
        audit.on_program_hook = None
        self._stop_tracing(keep_engine=self.process_ends and self._offload is not None)
        self._unpatch_exit_functions()
        _active = None
        atexit.unregister(self._run_at_exit)
        recorder, process = self.recorder, self._process
        assert recorder is not None and process is not None and self._log is not None and self.run_dir is not None
        self.status = status
        process.close_record(status, record_scope=True)
        facts = environment.snapshot()
        recorder.buffer.append((events.ENV, self._offloaded(
            "environment", lambda: environment.complete(facts, self.hash_algorithm), facts=facts, hash_algorithm=self.hash_algorithm)))
        info = {"duration": time.perf_counter() - self._started_at, **process.resources()}
        if self._log.lost:
            info["lost_events"] = self._log.lost
        process.end(status, exit_code, info)
        self._log.finish()
        self._settle()
        self._log.close()
        if self._log.failed:  # the log is incomplete: do not present an export as complete
            self.finished = Run(self.run_dir, status, exit_code, summary=self._plain_summary())
            return self.finished
        try:
            self.finished = self.export_run(status, exit_code)
        except Exception as error:  # export problems never change the user's outcome
            self._warn(f"post-run step failed: {type(error).__name__}: {error}")
            self.finished = Run(self.run_dir, status, exit_code, summary=self._plain_summary())
        if self.announce:
            for line in self.finished.summary:
                self._print(line)
        return self.finished

    def _settle(self) -> None:
        """Move a staged run into its store, or put back a log the program deleted or moved away."""
        assert self._log is not None and self.run_dir is not None
        lost = not self._log.reachable()
        if not lost and not self._staged:
            return
        try:
            folder = self.run_dir
            fd_path = f"/proc/{os.getpid()}/fd/{self._log.fileno()}" if lost else None
            moved = self._offloaded("settle", lambda: str(settle(folder, self.store, self.run_id, self._log.content() if lost else None)),
                                    folder=str(folder), store=str(self.store), run_id=self.run_id, lost_log=fd_path)
            self.run_dir = Path(moved)
        except Exception as error:
            where = self.run_dir if not lost else "the open log only"
            self._warn(f"could not put the run into {self.store} ({type(error).__name__}: {error}); the record is kept at {where}")

    def export_run(self, status: str, exit_code: int | None) -> Run:
        """Write the documents with the export step; the finished run with the export's summary."""
        assert self.run_dir is not None
        if self.export is None:
            return Run(self.run_dir, status, exit_code, summary=self._plain_summary())
        if self._offload is not None:
            from .offload import OffloadFailed

            try:
                done = self._offload.request("export", run_dir=str(self.run_dir), formats=list(self.export.formats),
                                             graphs=None if self.export.graphs is None else list(self.export.graphs),
                                             mode=self.export.mode, embed=list(self.export.embed),
                                             index=self.export.index_arguments())
                return Run(self.run_dir, status, exit_code, notes=tuple(done["notes"]), summary=tuple(done["summary"]) or self._plain_summary())
            except OffloadFailed:
                pass
        written = self.export(self.run_dir)
        summary = tuple(self.export.summary(self.run_dir)) or self._plain_summary()
        return Run(self.run_dir, status, exit_code, notes=tuple(written.notes), summary=summary, model=self.export.model)

    def _plain_summary(self) -> tuple[str, ...]:
        count = self.recorder.activity_count if self.recorder is not None else 0
        return (f"autoprov: {self.run_id}: {count} activities -> {self.run_dir}",)

    def _on_log_error(self, error: BaseException) -> None:
        self._warn(f"cannot write the event log ({type(error).__name__}: {error}); capture continues, unrecorded")

    def detach_in_child(self) -> None:
        """In a forked child: stop capturing silently; the log and the record belong to the parent.

        This is the one place a forked child of a captured program passes through: capturing the
        child into its own log (to be merged with the parent's) will start here.
        """
        global _active
        process = self._process
        if process is not None:
            # Issue 14: when children are followed, the child's own capture (autoprov.children.forks,
            # whose fork hook runs after this one) takes the engine and the recorder over.
            if child_forks.takes_over(self):
                audit.deactivate(process.recorder.file_events)
                handed = process.hand_over()
                if handed is not None:
                    child_forks.adopt(*handed)
            else:
                process.stop_tracing()
        if self._log is not None:
            self._log.abandon()
        if self._offload is not None:
            self._offload.abandon()
            self._offload = None
        self._unpatch_exit_functions()
        self._previous_sigterm = None  # the child keeps whatever SIGTERM handler it inherited
        _active = None
        self.recorder = None

    def _patch_exit_functions(self) -> None:
        for name in EXIT_FUNCTIONS:
            real = getattr(os, name, None)
            if real is not None and not hasattr(real, "__autoprov_wraps__"):
                self._patched[name] = real
                setattr(os, name, _flushing(name, real))

    def _unpatch_exit_functions(self) -> None:
        for name, real in self._patched.items():
            current = getattr(os, name, None)
            if getattr(current, "__autoprov_wraps__", None) is real:
                setattr(os, name, real)  # unless the program put its own wrapper over ours
        self._patched.clear()

    def _stop_tracing(self, keep_engine: bool = False) -> None:
        """Stop the audit routing and the engine.  ``keep_engine``: the process is about to end and
        the program watches audit events, which would show the engine's removal (``sys.settrace``,
        ``sys.monitoring.register_callback``); the engine is left in place, feeding nothing."""
        if self._process is None:
            return
        warning = self._process.stop_tracing(keep_engine)
        if warning is not None:
            self._warn(warning)

    # -- faults and signals ------------------------------------------------------------------

    def _on_fault(self, component: str, error: BaseException) -> None:
        if self._faulted:
            return
        self._faulted = True
        self._warn(f"internal error in {component} ({type(error).__name__}: {error}); capture stopped, your program continues")
        self._stop_tracing()

    def _warn(self, message: str) -> None:
        self._print(f"autoprov: {self.run_id}: {message}")

    @staticmethod
    def _print(line: str) -> None:
        try:
            print(line, file=sys.stderr)
        except Exception:
            pass

    def _install_sigterm(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return  # the program handles SIGTERM itself: leave it alone
        self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)

    def _restore_sigterm(self) -> None:
        if self._previous_sigterm is not None and threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGTERM) == self._on_sigterm:
                signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        """Complete the record as 'interrupted', then die of SIGTERM exactly as python would."""
        if self._stopping:  # the record is being completed: die once it is
            self._sigterm_pending = True
            return
        try:
            self.stop(status="interrupted", exit_code=-signal.SIGTERM)
        finally:
            self._die_of_sigterm()

    @staticmethod
    def _die_of_sigterm() -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    # -- context manager and decorator -------------------------------------------------------

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.stop("completed", 0)
        elif issubclass(exc_type, KeyboardInterrupt):
            self.stop("interrupted", None)
        else:
            self.stop("failed", None)

    def __call__(self, function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return function(*args, **kwargs)

        return wrapper
