"""The crash-safe event log: ``<run folder>/events.jsonl``, one JSON line per batch of events.

A background thread drains the recorder's buffer at least every ``interval`` seconds, so a run
killed with SIGKILL loses at most the last interval of events, and the log can always be read
back: a torn last line (the process died mid-write) is ignored.  Each line is a JSON array of
events (each event a JSON array): one ``json.dumps`` call per batch keeps the encoding in C,
which matters because this thread holds the GIL while it encodes.  Draining takes ``buffer[:n]``
and deletes it with ``del buffer[:n]``: both are single operations under the GIL, so appends
made meanwhile by traced threads are never lost.

The program must not be able to see any of this:

* the thread is a bare ``_thread`` thread, not a ``threading.Thread``, so ``threading.enumerate()``
  (which programs join at exit) does not list it, and it never calls into ``threading`` (which
  would register a dummy thread object);
* before ``os.fork()`` the thread is stopped, and the kernel's thread count is watched until it
  is really gone, so Python's "process is multi-threaded, use of fork() may lead to deadlocks"
  warning is raised only when the program itself has threads; it restarts in the parent (from
  3.13 on, once ``os.fork()`` has returned: :mod:`.soon`);
* the log is written with ``os.write`` on a descriptor opened at the start (no audit events, no
  buffered data a forked child could flush into the parent's log), and that descriptor keeps the
  log reachable when the program deletes or renames the run folder: :meth:`EventLog.content`
  reads it back so the session can put it back in place.

The descriptor also holds an exclusive ``flock`` for the life of the run: a log whose lock can be
taken belongs to a process that has ended (see :mod:`autoprov.store.live`).
"""

from __future__ import annotations

import _thread
import json
import os
import stat
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..store.layout import RunFolder
from . import soon

FLUSH_INTERVAL = 0.5
STOP_TIMEOUT = 5.0
THREAD_GONE_TIMEOUT = 0.05  # how long to watch the kernel's thread count before a fork
# Python 3.13 counts threads for its fork warning after the parent's at-fork hooks, 3.12 before them
COUNTS_THREADS_AFTER_FORK_HOOKS = sys.version_info >= (3, 13)


def _default(value: Any) -> Any:
    return repr(value)


def encode(value: Any) -> str:
    """Compact JSON; anything JSON cannot hold becomes its repr (never an error)."""
    # ASCII output: non-UTF-8 file names (lone surrogates) round-trip as \udcXX escapes
    return json.dumps(value, separators=(",", ":"), default=_default)


def _open_thread_count() -> int | None:
    """A descriptor on this process's ``/proc/<pid>/stat`` (Linux), opened once, read with pread."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return os.open(f"/proc/{os.getpid()}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None


def _thread_count(fd: int | None) -> int | None:
    """The kernel's count of this process's threads (field 20 of /proc/<pid>/stat)."""
    if fd is None:
        return None
    try:
        text = os.pread(fd, 4096, 0)
        return int(text[text.rindex(b")") + 2 :].split()[17])
    except (OSError, ValueError, IndexError):
        return None


class EventLog:
    """Appends buffered events to the run's log, in batches, from a background thread."""

    def __init__(
        self,
        run_dir: Path,
        buffer: list,
        interval: float = FLUSH_INTERVAL,
        on_error: Callable[[BaseException], None] | None = None,
        path: Path | None = None,  # issue 14: a child process writes its own log (children/<process>.jsonl)
    ) -> None:
        self.path = path or RunFolder(Path(run_dir)).events
        self._buffer = buffer
        self._interval = interval
        self._on_error = on_error
        self.failed = False  # after a write error (disk full...), events are counted, not kept
        self.lost = 0
        self.written = 0
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._fd: int | None = os.open(self.path, flags, 0o640)
        if stat.S_ISREG(os.fstat(self._fd).st_mode):
            os.fchmod(self._fd, 0o640)  # whatever the umask; never a device the path points to
        self._lock_owner()
        self._lock = _thread.allocate_lock()  # one writer at a time
        self._wake: Any = None  # held while the thread runs; released to stop it
        self._paused = False  # stopped by pause() until resume() restarts it
        self._done: Any = None  # held by the thread until it has left
        self._threads_fd = _open_thread_count()

    def _lock_owner(self) -> None:
        try:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (ImportError, OSError):
            pass  # no flock here (or on this file system): a killed run is adopted by pid instead

    # -- the thread ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._wake is not None or self._fd is None:
            return
        wake, done = _thread.allocate_lock(), _thread.allocate_lock()
        wake.acquire()
        done.acquire()
        self._wake, self._done = wake, done
        _thread.start_new_thread(self._run, (wake, done))

    def _run(self, wake: Any, done: Any) -> None:
        try:
            while not wake.acquire(timeout=self._interval):
                self.flush()
        finally:
            done.release()

    def pause(self) -> None:
        """Flush and stop the thread, and wait until the kernel no longer counts it (before fork)."""
        self.flush()
        wake, done = self._wake, self._done
        if wake is None:
            return
        self._wake = self._done = None
        self._paused = True
        if COUNTS_THREADS_AFTER_FORK_HOOKS:
            soon.note_fork_caller()
        before = _thread_count(self._threads_fd)
        wake.release()
        if not done.acquire(timeout=STOP_TIMEOUT):
            return
        if before is None:
            return
        deadline = time.monotonic() + THREAD_GONE_TIMEOUT
        while time.monotonic() < deadline:
            count = _thread_count(self._threads_fd)
            if count is None or count < before:
                return
            os.sched_yield()

    def resume(self) -> None:
        """Restart the thread after :meth:`pause` (in the parent, after fork).

        From 3.13 on, when the main thread forked, the restart waits for ``os.fork()`` to return
        (a pending call, :mod:`.soon`): the thread count for Python's warning is taken after this
        hook.  Cost: no periodic flush between the fork and the main thread's next bytecodes (a
        few microseconds; the buffer was flushed before the fork).  A fork from another thread
        restarts it here: the program has threads, and python warns anyway.
        """
        if COUNTS_THREADS_AFTER_FORK_HOOKS and threading.main_thread().ident == _thread.get_ident():
            if soon.when_fork_returned(self._restart):
                return
        self._restart()

    def _restart(self) -> None:
        if self._paused:
            self._paused = False
            self.start()

    def abandon(self) -> None:
        """In a forked child: drop the descriptor without writing; the log is the parent's."""
        self._wake = self._done = None
        self._paused = False
        self._buffer = []
        for fd in (self._fd, self._threads_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._fd = self._threads_fd = None

    # -- writing -------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything buffered so far (safe from any thread)."""
        with self._lock:
            if self._fd is None:
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
        data = memoryview(text.encode("utf-8"))
        while data:
            data = data[os.write(self._fd, data) :]

    def fileno(self) -> int:
        """The log's descriptor (another process can read it as ``/proc/<pid>/fd/<n>``)."""
        if self._fd is None:
            raise ValueError("the event log is closed")
        return self._fd

    def content(self) -> bytes:
        """Everything written so far, read through the descriptor (the path may be gone)."""
        if self._fd is None:
            return b""
        chunks, offset = [], 0
        while True:
            chunk = os.pread(self._fd, 1 << 20, offset)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            offset += len(chunk)

    def reachable(self) -> bool:
        """True when :attr:`path` is still this log (not deleted, renamed away or replaced)."""
        if self._fd is None:
            return False
        try:
            here, there = os.fstat(self._fd), os.stat(self.path)
        except OSError:
            return False
        return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)

    def finish(self) -> None:
        """Stop the thread, write what is left and fsync; the descriptor stays open (see close)."""
        wake, done = self._wake, self._done
        self._wake = self._done = None
        self._paused = False  # a restart still pending after a fork must not outlive the log
        if wake is not None:
            wake.release()
            done.acquire(timeout=STOP_TIMEOUT)
        self.flush()
        with self._lock:
            if self._fd is not None and not self.failed:
                try:
                    os.fsync(self._fd)
                except OSError:
                    pass  # a full disk can fail the fsync too; the loss is already recorded

    def close(self) -> None:
        """Final flush, fsync and close (called at the end of the run)."""
        self.finish()
        with self._lock:
            for fd in (self._fd, self._threads_fd):
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self._fd = self._threads_fd = None
