"""The crash-safe event log: ``.prov/<run-id>/events.jsonl``, one JSON line per batch of events.

A background thread drains the recorder's buffer at least every ``interval`` seconds, so a run
killed with SIGKILL loses at most the last interval of events, and the log can always be read
back: a torn last line (the process died mid-write) is ignored.  Each line is a JSON array of
events (each event a JSON array): one ``json.dumps`` call per batch keeps the encoding in C,
which matters because this thread holds the GIL while it encodes.  Draining takes ``buffer[:n]``
and deletes it with ``del buffer[:n]``: both are single operations under the GIL, so appends
made meanwhile by traced threads are never lost.  This thread does the only I/O of a run.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..store.layout import RunFolder

FLUSH_INTERVAL = 0.5


def _default(value: Any) -> Any:
    return repr(value)


def encode(value: Any) -> str:
    """Compact JSON; anything JSON cannot hold becomes its repr (never an error)."""
    # ASCII output: non-UTF-8 file names (lone surrogates) round-trip as \udcXX escapes
    return json.dumps(value, separators=(",", ":"), default=_default)


class EventLog:
    """Appends buffered events to the run's log, in batches, from a daemon thread."""

    def __init__(
        self,
        run_dir: Path,
        buffer: list,
        interval: float = FLUSH_INTERVAL,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.path = RunFolder(Path(run_dir)).events
        self._buffer = buffer
        self._interval = interval
        self._on_error = on_error
        self.failed = False  # after a write error (disk full...), events are counted, not kept
        self.lost = 0
        self._file = open(self.path, "a", encoding="utf-8")
        os.chmod(self.path, 0o640)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="autoprov-log", daemon=True)
        self.written = 0

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def flush(self) -> None:
        """Write everything buffered so far (safe from any thread)."""
        with self._lock:
            if self._file.closed:
                return
            count = len(self._buffer)
            if not count:
                return
            batch = self._buffer[:count]
            del self._buffer[:count]
            if self.failed:
                self.lost += count
                return
            try:
                self._write(encode(batch) + "\n")
            except Exception as error:  # the run goes on; the record says it lost events
                self.failed = True
                self.lost += count
                if self._on_error is not None:
                    self._on_error(error)
                return
            self.written += count

    def _write(self, text: str) -> None:
        self._file.write(text)
        self._file.flush()

    def close(self) -> None:
        """Final flush, fsync and close (called at the end of the run)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.flush()
        with self._lock:
            if not self._file.closed:
                try:
                    os.fsync(self._file.fileno())
                finally:
                    try:
                        self._file.close()
                    except OSError:
                        pass  # a full disk can fail the close too; the loss is already recorded
