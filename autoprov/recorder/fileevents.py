"""File events from the audit hook: opens, renames, copies and removals, as versions of files.

The audit hook (:mod:`autoprov.engine.audit`) hands every interesting event here while capture is
active.  Each one is attributed to the innermost activity of its thread (or to the run), its path
made absolute at event time, and filtered by the noise rules below: interpreter and library trees,
per-user caches, devices and the store itself are not the analysis' files.
"""

from __future__ import annotations

import os
import site
import sys
from collections.abc import Callable
from pathlib import Path
from time import time_ns
from typing import Any

from .. import events
from .files import FileTracker

# Files no analysis means when it reads them: interpreter and library trees, caches, devices.
HOME_NOISE = (".astropy", ".cache", ".config", ".matplotlib", ".ipython", ".local/share/jupyter")
SYSTEM_NOISE = ("/proc/", "/sys/", "/dev/", "/etc/", "/usr/lib/", "/usr/share/", "/usr/local/lib/")
IMPORT_SYSTEM = ("importlib", "_frozen_importlib", "zipimport", "pkgutil")
CODE_SUFFIXES = (".py", ".pyc", ".so")


def excluded_paths(store: Path) -> tuple[str, ...]:
    """Path prefixes whose files are never part of the record (see the module docstring)."""
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    try:
        prefixes.update(site.getsitepackages())
        prefixes.add(site.getusersitepackages())
    except Exception:
        pass
    home = os.path.expanduser("~")
    paths = [os.path.join(p, "") for p in prefixes if p]
    paths += [os.path.join(home, name, "") for name in HOME_NOISE]
    paths += list(SYSTEM_NOISE)
    paths.append(os.path.join(str(store), ""))
    paths.append(str(store))
    return tuple(sorted(set(paths)))


def _called_by_import_system() -> bool:
    """True when the event comes from the import machinery (module loading, its path cache)."""
    try:
        frame = sys._getframe(3)  # _called_by_import_system <- on_audit <- audit hook <- caller
    except ValueError:  # no Python caller: the interpreter itself opens the program it starts (a child's script)
        return True
    module = frame.f_globals.get("__name__", "") if frame is not None else ""
    return isinstance(module, str) and module.startswith(IMPORT_SYSTEM)


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
        self.excluded_paths = excluded
        self._fault = fault
        self._reads_seen: set[tuple] = set()  # (activity, path, version) already reported
        # programs started (subprocess.Popen, os.exec audit events): autoprov.children.commands.
        # Imported here, not at module level: the engine package imports the recorder package.
        from ..engine.audit import COMMAND_EVENTS

        self.command_events = COMMAND_EVENTS
        self.on_command: Callable[[str, tuple], None] | None = None

    def fault(self, component: str, error: BaseException) -> None:
        if self._fault is not None:
            self._fault(component, error)

    def on_audit(self, event: str, args: tuple) -> None:
        """An interesting audit event (open, rename, remove, ...) while capture is active."""
        if event in self.command_events:
            if self.on_command is not None:
                self.on_command(event, args)
            return
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
        if absolute.startswith(self.excluded_paths) or absolute.endswith(CODE_SUFFIXES):
            return None
        return absolute
