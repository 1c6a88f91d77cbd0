"""The capture of one process, built in one place: the run's first process and every child use it.

A :class:`ProcessCapture` holds what records one process: the :class:`~autoprov.engine.EngineChoice`
(with its reason), the recorder, the planner that consults the matcher once per code object, the
engine, the event log and the routing of audit events.  It is built the same way for
``python -m autoprov``, ``autoprov.capture()``, the magics (through :class:`.capture.Capture`) and
every child process (:class:`autoprov.children.capture.ChildCapture`), so they cannot drift apart;
what differs is said by the caller: the log's first event (RUN or PROC), where the log goes, and
whether this process records the run's scope (the first process does, once).

The stop-and-complete sequence is here too: close the open activities, finish the files (flush
what the program left open, hash every version), then the EXIT event with the process' resources.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import events
from ..engine import EngineChoice, audit, make_engine
from ..filtering.plans import Planner
from ..log.writer import EventLog
from ..recorder import Recorder
from ..recorder.fileevents import excluded_paths


class ProcessCapture:
    """Recorder, planner, engine and log of one process; ``start()``, then ``stop_tracing()`` and
    ``complete()`` (or the parts of it a caller orders differently)."""

    def __init__(self, choice: EngineChoice, matcher: Any, hash_algorithm: str, store: Path | str,
                 on_fault: Callable[[str, BaseException], None], adopt: tuple[Recorder, Any] | None = None) -> None:
        self.choice = choice
        if adopt is not None:  # a fork: the parent's recorder (reset) and running engine go on here
            self.recorder, self.engine = adopt
            self.planner: Planner | None = None
        else:
            self.recorder = Recorder(hash_algorithm, excluded_paths(Path(store)), choice.native)
            self.planner = Planner(matcher, self.recorder.buffer.append)
            self.engine = make_engine(choice.name, self.planner, self.recorder, choice.native)
        self.recorder.on_fault = on_fault
        self._adopted = adopt is not None
        self.log: EventLog | None = None
        self.cpu_at_start = time.process_time()  # ns resolution (os.times() counts 10 ms ticks)

    def open_log(self, folder: Path, header: tuple, path: Path | None = None,
                 on_error: Callable[[BaseException], None] | None = None, flush_header: bool = False) -> EventLog:
        """The log, its first event (RUN or PROC) buffered first; ``flush_header``: written now, so a
        process killed while it starts is still in the run."""
        self.recorder.buffer.append(header)
        self.log = EventLog(folder, self.recorder.buffer, path=path, on_error=on_error)
        if flush_header:
            self.log.flush()
        return self.log

    def start(self) -> None:
        """Start the log's thread, route audit events to the recorder and start the engine (an
        adopted engine is running already)."""
        assert self.log is not None
        self.log.start()
        audit.activate(self.recorder.file_events, self.choice.native)
        if not self._adopted:
            self.engine.start()

    def stop_tracing(self, keep_engine: bool = False) -> str | None:
        """Stop the audit routing and the engine; a warning when the program had replaced the engine's
        hook.  ``keep_engine``: the process is about to end and the program watches audit events,
        which would show the engine's removal; the engine is left in place, feeding nothing."""
        audit.deactivate(self.recorder.file_events)
        warning = None
        engine = self.engine
        if engine is not None and not engine.intact():
            warning = f"the program replaced autoprov's {engine.name} hook; calls after that were not recorded"
            self.recorder.buffer.append((events.ERROR, "engine", f"{engine.name} hook replaced by the program"))
        if keep_engine or engine is None:
            return warning
        self.engine = None
        try:
            engine.stop()
        except Exception as error:
            return warning or f"could not stop the {engine.name} engine cleanly: {error}"
        return warning

    def hand_over(self) -> tuple[Recorder, Any] | None:
        """In a forked child: the recorder and running engine, for the child's own capture."""
        engine, self.engine = self.engine, None
        return None if engine is None else (self.recorder, engine)

    def close_record(self, status: str, record_scope: bool) -> None:
        """Close the open activities and finish the files: ``record_scope`` (the run's first process)
        also flushes the files the program left open and records its modules and the scope."""
        recorder = self.recorder
        recorder.close_open_activities("interrupted" if status == "interrupted" else "incomplete")
        try:
            if record_scope:
                recorder.file_events.finish()
            else:
                recorder.files.finish()
        except Exception as error:
            recorder.fault("hash", error)

    def resources(self) -> dict[str, Any]:
        """The process' CPU time, peak memory and activity count, for its EXIT event."""
        info: dict[str, Any] = {"cpu_time": time.process_time() - self.cpu_at_start}
        try:
            import resource

            info["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
        except Exception as error:
            info["resource_error"] = str(error)
        info["activities"] = self.recorder.activity_count
        return info

    def end(self, status: str, exit_code: int | None, info: dict[str, Any]) -> None:
        """The EXIT event: the last of this process' log."""
        self.recorder.buffer.append((events.EXIT, time.time_ns(), status, exit_code, info))
