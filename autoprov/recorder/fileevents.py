"""File events from the audit hook: every file operation of the program, as the operating system saw it.

The audit hook (:mod:`autoprov.engine.audit`) hands every event named in its ``FILE_EVENTS`` here
while capture is active.  Each one is attributed to the innermost activity of its thread (or to
the run), its paths resolved as the OS resolves them (:mod:`.paths`: working directory,
``dir_fd``, descriptors, symbolic links), and turned into FILE events and file versions
(:mod:`.files`).

Audit events are raised *before* the operation, so an operation that is going to fail (a missing
file opened for reading, a folder that does not exist, a rename across file systems) would look
like one that happened.  Each handler first checks, with a ``stat`` or two, that the operation can
succeed, and leaves it out of the record when it cannot.

Some operations raise several events: ``shutil.copyfile`` announces itself, then opens both files;
``shutil.rmtree`` opens each folder relative to its parent's descriptor.  A small per-thread
context remembers the operation in progress so that its inner events are not recorded twice or
misread.  Events raised by the import machinery and by ``linecache`` (source lines for
tracebacks) are not the analysis' files.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from threading import get_ident
from time import time_ns
from typing import Any

from .. import events
from .files import FileTracker
from .paths import Scope, excluded_folders, fd_path, real_path, written_path

# Callers whose file events are not the analysis' own (module loading, source lines of tracebacks).
# Programs started by the run (issue 14): command activities, see autoprov.children.commands;
# the audit hook (autoprov.engine.audit) watches them beside its file events.
COMMAND_EVENTS = frozenset({"subprocess.Popen", "os.exec"})
IGNORED_CALLERS = ("importlib", "_frozen_importlib", "zipimport", "pkgutil", "linecache", "tokenize")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR

__all__ = ["FileEvents", "excluded_paths"]


def excluded_paths(store: Any) -> tuple[str, ...]:
    """The folders a capture leaves out of the record (see :func:`.paths.excluded_folders`)."""
    return excluded_folders(store)


def _called_by_ignored_caller() -> bool:
    """True when the event comes from the import machinery or linecache."""
    try:
        frame = sys._getframe(2)  # _called_by_ignored_caller <- on_audit <- the audit hook (or the opener)
    except ValueError:  # no Python caller: the interpreter itself opens the program it starts (a child's script)
        return True
    if frame is not None and frame.f_globals.get("__name__") == "autoprov.engine.audit":
        frame = frame.f_back  # a Python audit hook: the opener's caller is one further
    module = frame.f_globals.get("__name__", "") if frame is not None else ""
    return isinstance(module, str) and module.startswith(IGNORED_CALLERS)


def _parent_real(absolute: str) -> str:
    """The real path of the entry itself: its folder's links resolved, not a final link (rename,
    remove and link act on a symbolic link, not on what it points to)."""
    folder, name = os.path.split(absolute)
    return os.path.join(os.path.realpath(folder), name)


# -- will the operation succeed? ---------------------------------------------------------------


def _can_read(path: str) -> bool:
    try:
        info = os.stat(path)
    except OSError:
        return False
    return not stat.S_ISDIR(info.st_mode) and os.access(path, os.R_OK)


def _can_create_in(folder: str) -> bool:
    return os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)


def _can_write(path: str, flags: int) -> bool:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return bool(flags & os.O_CREAT) and _can_create_in(os.path.dirname(path))
    except OSError:
        return False
    if flags & os.O_CREAT and flags & os.O_EXCL:
        return False
    return not stat.S_ISDIR(info.st_mode) and os.access(path, os.W_OK)


def _can_remove(path: str) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return not stat.S_ISDIR(info.st_mode) and os.access(os.path.dirname(path), os.W_OK | os.X_OK)


def _can_rename(source: str, destination: str) -> bool:
    try:
        moved = os.lstat(source)
        folder = os.stat(os.path.dirname(destination))
    except OSError:
        return False
    if not stat.S_ISDIR(folder.st_mode) or moved.st_dev != folder.st_dev:  # EXDEV: shutil.move copies instead
        return False
    if not os.access(os.path.dirname(destination), os.W_OK | os.X_OK):
        return False
    try:
        target = os.lstat(destination)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    if stat.S_ISDIR(target.st_mode):
        if not stat.S_ISDIR(moved.st_mode):
            return False
        return os.path.samefile(source, destination) or not os.listdir(destination)
    return not stat.S_ISDIR(moved.st_mode)


def _can_link(source: str, destination: str) -> bool:
    return os.path.isfile(source) and not os.path.lexists(destination) and _can_create_in(os.path.dirname(destination))


def _can_copy(source: str, destination: str) -> bool:
    if not _can_read(source) or not _can_write(destination, os.O_CREAT | os.O_TRUNC):
        return False
    try:
        return not os.path.samefile(source, destination)  # shutil.SameFileError
    except OSError:
        return True  # the destination does not exist yet


class FileEvents:
    """The audit sink of a capture: turns file audit events into FILE events and file versions."""

    def __init__(
        self,
        emit: Callable[[tuple], None],
        files: FileTracker,
        current_activity: Callable[[], int | None],
        excluded: tuple[str, ...] = (),
        fault: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        self._append = emit
        self.files = files
        self.current_activity = current_activity
        self.scope = Scope(excluded)
        self._fault = fault
        self._reads_seen: set[tuple] = set()  # (activity, path, version) already reported
        self._context: dict[int, tuple] = {}  # thread -> the multi-event operation in progress
        self._handlers: dict[str, Callable[[tuple, int | None, tuple | None], tuple | None]] = {
            "open": self._open, "os.rename": self._rename, "os.remove": self._remove, "os.rmdir": self._rmdir,
            "os.mkdir": self._mkdir, "os.listdir": self._listdir, "os.scandir": self._listdir,
            "os.truncate": self._truncate, "os.link": self._link, "os.symlink": self._symlink,
            "shutil.copyfile": self._copyfile, "shutil.copytree": self._copytree, "shutil.rmtree": self._rmtree,
        }
        self.command_events = COMMAND_EVENTS
        self.on_command: Callable[[str, tuple], None] | None = None

    def fault(self, component: str, error: BaseException) -> None:
        if self._fault is not None:
            self._fault(component, error)

    def on_audit(self, event: str, args: tuple) -> None:
        """A watched audit event while capture is active (the hook already filtered the name): a command
        event goes to ``on_command``, a file event to its handler."""
        if event in self.command_events:
            if self.on_command is not None:
                self.on_command(event, args)
            return
        handler = self._handlers.get(event)
        if handler is None or _called_by_ignored_caller():
            return
        thread = get_ident()
        context = handler(args, self.current_activity(), self._context.pop(thread, None))
        if context is not None:
            self._context[thread] = context

    def _emit(self, act: int | None, op: str, path: str, extra: Any, via: str | None = None) -> None:
        if via is None:
            self._append((events.FILE, act, op, path, time_ns(), extra))
        else:
            self._append((events.FILE, act, op, path, time_ns(), extra, {"via": via}))

    def _resolve(self, path: Any, dir_fd: int | None = None, follow: bool = True) -> tuple[str, str | None] | None:
        """(real path, path as written when a link was followed), or None when left out."""
        absolute = written_path(path, dir_fd)
        if absolute is None or self.scope.excludes(absolute):
            return None
        if follow:
            real, via = real_path(absolute)
        else:
            real = _parent_real(absolute)
            via = absolute if real != absolute else None
        if real != absolute and self.scope.excludes(real):
            return None
        return real, via

    # -- the handlers: each returns the context its thread continues with --------------------

    def _open(self, args: tuple, act: int | None, context: tuple | None) -> tuple | None:
        path, mode, flags = args
        if not isinstance(path, (str, bytes, os.PathLike)):
            return context  # an already-open descriptor: no new file
        writes = bool(flags & WRITE_FLAGS)
        if context is not None and context[0] == "rmtree" and mode is None and not writes:
            return context  # rmtree opening a folder relative to its parent's descriptor
        resolved = self._resolve(path)
        if resolved is None:
            return None
        real, via = resolved
        if context is not None and context[0] == "copy":
            if not writes and real == context[1]:
                return context  # copyfile opening its source: the copy is recorded
            if writes and real == context[2]:
                return None  # and its destination
        if writes:
            if not _can_write(real, flags):
                return None
            truncates = bool(flags & os.O_TRUNC) or (isinstance(mode, str) and "w" in mode)
            version = self.files.write(real, truncates)
            op = "write" if truncates or not (flags & os.O_RDWR) else "update"
        else:
            if not _can_read(real):
                return None  # it fails, or it is a folder: nothing was read
            version = self.files.read(real)
            op = "read"
            if (act, real, version) in self._reads_seen:
                return None  # the same version re-opened by the same activity (FITS HDUs, gzip)
            self._reads_seen.add((act, real, version))
        self._emit(act, op, real, version, via)
        return None

    def _rename(self, args: tuple, act: int | None, context: tuple | None) -> tuple | None:
        source = self._resolve(args[0], args[2] if len(args) > 2 else None, follow=False)
        destination = self._resolve(args[1], args[3] if len(args) > 3 else None, follow=False)
        if source is None and destination is None:
            return None
        if source is None:  # from a folder left out of the record: a file appears
            return self._appears(act, destination[0])
        if destination is None:  # into a folder left out of the record: the file disappears
            return self._remove_path(act, source[0])
        old, new = source[0], destination[0]
        if not _can_rename(old, new):
            return None
        if os.path.isdir(old):
            self._emit(act, "rename", old, new)
            for moved_old, moved_new in self.files.moved_tree(old, new):
                self._emit(act, "rename", moved_old, moved_new)
        else:
            self.files.transferred(old, new)
            self._emit(act, "rename", old, new)
        return None

    def _appears(self, act: int | None, path: str) -> None:
        version = self.files.write(path, truncates=True)
        self._emit(act, "write", path, version)
        return None

    def _remove(self, args: tuple, act: int | None, context: tuple | None) -> tuple | None:
        resolved = self._resolve(args[0], args[1] if len(args) > 1 else None, follow=False)
        if resolved is not None:
            self._remove_path(act, resolved[0])
        return context if context is not None and context[0] == "rmtree" else None

    def _remove_path(self, act: int | None, path: str) -> None:
        if _can_remove(path):
            self.files.before_removal(path)
            self._emit(act, "remove", path, None)
        return None

    def _rmdir(self, args: tuple, act: int | None, context: tuple | None) -> tuple | None:
        if context is None or context[0] != "rmtree":
            return None
        resolved = self._resolve(args[0], args[1] if len(args) > 1 else None, follow=False)
        return None if resolved is not None and resolved[0] == context[1] else context  # the root: done

    def _mkdir(self, args: tuple, act: int | None, context: tuple | None) -> tuple | None:
        resolved = self._resolve(args[0], args[2] if len(args) > 2 else None, follow=False)
        if resolved is not None and not os.path.lexists(resolved[0]) and _can_create_in(os.path.dirname(resolved[0])):
            self._emit(act, "mkdir", resolved[0], None)
        return None

    def _listdir(self, args: tuple, act: int | None, context: tuple | None) -> tuple | None:
        if context is not None and context[0] == "rmtree":
            return context  # rmtree listing the folders it empties
        resolved = self._resolve(args[0] if args else None)
        if resolved is not None and os.path.isdir(resolved[0]):
            self._emit(act, "listdir", resolved[0], None)
        return None

    def _truncate(self, args: tuple, act: int | None, context: tuple | None) -> tuple | None:
        resolved = self._resolve(args[0])
        if resolved is None or not os.path.isfile(resolved[0]) or not os.access(resolved[0], os.W_OK):
            return None
        version = self.files.truncate(resolved[0])
        if version is not None:
            self._emit(act, "truncate", resolved[0], version, resolved[1])
        return None

    def _link(self, args: tuple, act: int | None, context: tuple | None) -> tuple | None:
        source = self._resolve(args[0], args[2] if len(args) > 2 else None)
        destination = self._resolve(args[1], args[3] if len(args) > 3 else None, follow=False)
        if source is None or destination is None or not _can_link(source[0], destination[0]):
            return None
        self.files.transferred(source[0], destination[0])
        self._emit(act, "link", source[0], destination[0])
        return None

    def _symlink(self, args: tuple, act: int | None, context: tuple | None) -> tuple | None:
        link = self._resolve(args[1], args[2] if len(args) > 2 else None, follow=False)
        if link is None or os.path.lexists(link[0]) or not _can_create_in(os.path.dirname(link[0])):
            return None
        target = os.fsdecode(os.fspath(args[0]))
        self._emit(act, "symlink", link[0], os.path.normpath(os.path.join(os.path.dirname(link[0]), target)))
        return None

    def _copyfile(self, args: tuple, act: int | None, context: tuple | None) -> tuple | None:
        source, destination = self._resolve(args[0]), self._resolve(args[1])
        if source is None or destination is None or not _can_copy(source[0], destination[0]):
            return None
        self.files.transferred(source[0], destination[0])
        self._emit(act, "copy", source[0], destination[0])
        return ("copy", source[0], destination[0])

    def _copytree(self, args: tuple, act: int | None, context: tuple | None) -> tuple | None:
        source, destination = self._resolve(args[0]), self._resolve(args[1], follow=False)
        if source is not None and destination is not None and os.path.isdir(source[0]):
            self._emit(act, "copy", source[0], destination[0])  # its files follow, one copyfile each
        return None

    def _rmtree(self, args: tuple, act: int | None, context: tuple | None) -> tuple | None:
        root = self._resolve(args[0], args[1] if len(args) > 1 else None, follow=False)
        if root is None or not os.path.isdir(root[0]) or os.path.islink(root[0]):
            return None
        return ("rmtree", root[0])

    # -- the end of the run --------------------------------------------------------------------

    def finish(self) -> None:
        """At the end of capture, after the program's exit handlers: flush the Python buffers of
        files still open for writing, record the user's own modules and what was left out, then
        hash every version not hashed yet."""
        try:
            flush_open_files(self.files.being_written())
        finally:
            self._record_modules()
            self._append((events.SCOPE, {**self.scope.describe(), "ignored_callers": list(IGNORED_CALLERS)}))
            self.files.finish()

    def _record_modules(self) -> None:
        """The program's own imported modules (not the interpreter's or installed libraries')."""
        main = sys.modules.get("__main__")
        script = getattr(main, "__file__", None)
        for name, module in sorted(sys.modules.copy().items()):
            path = getattr(module, "__file__", None)
            if module is main or not isinstance(path, str) or path == script:
                continue  # the program itself (also as __mp_main__) is the record's plan
            absolute = os.path.abspath(path)
            if self.scope.excludes(absolute):  # most modules: no link to resolve, no stat
                continue
            real = os.path.realpath(absolute)
            if (real != absolute and self.scope.excludes(real)) or not os.path.isfile(real):
                continue
            self._append((events.FILE, None, "import", real, time_ns(), self.files.read(real), {"module": name}))


def flush_open_files(paths: set[str]) -> None:
    """Flush Python's buffers of the file objects still open for writing on ``paths``.

    The interpreter does this itself when it destroys them at shutdown, after autoprov's last
    chance to hash; flushing first gives the digests the content the program leaves.  Only the
    buffers of :mod:`io` objects are flushed, never a compressor's (``gzip``) state, so the file
    ends exactly as it would have.  Costs nothing unless such a file is still open (then one pass
    over the objects the garbage collector tracks).
    """
    if not paths:
        return
    try:
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return
    open_paths = {fd_path(int(fd)) for fd in descriptors if fd.isdigit()} & paths
    if not open_paths:
        return
    import gc
    import io

    for candidate in gc.get_objects():
        if isinstance(candidate, (io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom)):
            try:
                if not candidate.closed and candidate.writable() and fd_path(candidate.fileno()) in open_paths:
                    candidate.flush()
            except (OSError, ValueError):
                continue
