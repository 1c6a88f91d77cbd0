"""Paths as the operating system resolves them, and the folders whose files are not the analysis' data.

Audit events give paths as the program wrote them: relative to the working directory, relative to
a directory descriptor (``dir_fd``: ``shutil.rmtree`` removes ``f.txt`` relative to the folder it
opened), as a descriptor (``os.ftruncate``), through symbolic links.  :func:`resolve` turns each
into the real path of the file the OS touches, made absolute at event time, and keeps the path as
written when it went through a link.

:class:`Scope` says which files are left out of the record: whole folders only (a folder matches
itself and what is under it, never a name that merely starts with the same letters), listed in
the record so that a reader knows what was not recorded (docs/record.md, "What is left out").
"""

from __future__ import annotations

import os
import site
import sys
from pathlib import Path
from typing import Any

# Pseudo file systems and system trees: devices, kernel tables, system configuration and data.
SYSTEM_FOLDERS = ("/proc", "/sys", "/dev", "/etc", "/usr/lib", "/usr/share", "/usr/local/lib")
# ... except this one: /dev/shm is a RAM disk where programs keep real data.
KEPT_FOLDERS = ("/dev/shm",)
# Folders where libraries keep their own caches and settings (relative to the home directory):
# the astropy, matplotlib, IPython and Jupyter folders, not the whole of ~/.cache or ~/.config.
LIBRARY_HOME_FOLDERS = (".astropy", ".matplotlib", ".ipython", ".jupyter", ".local/share/jupyter", ".keras")
LIBRARY_XDG_FOLDERS = ("astropy", "matplotlib", "fontconfig", "pip", "autoprov")  # under $XDG_CACHE_HOME and $XDG_CONFIG_HOME
AT_FDCWD = -1  # what CPython's audit events give for "no dir_fd"


def interpreter_folders() -> set[str]:
    """The interpreter's and its installed libraries' trees (standard library, site-packages)."""
    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    try:
        folders.update(site.getsitepackages())
        folders.add(site.getusersitepackages())
    except Exception:  # a venv without site's functions
        pass
    return {folder for folder in folders if folder}


def library_folders(environ: dict[str, str] | None = None) -> set[str]:
    """Library caches and settings of the user running the program."""
    environ = os.environ if environ is None else environ
    home = os.path.expanduser("~")
    folders = {os.path.join(home, name) for name in LIBRARY_HOME_FOLDERS}
    cache = environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    config = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    folders.update(os.path.join(base, name) for base in (cache, config) for name in LIBRARY_XDG_FOLDERS)
    if environ.get("MPLCONFIGDIR"):
        folders.add(environ["MPLCONFIGDIR"])
    return folders


def recorder_folders() -> set[str]:
    """autoprov's own code and shipped filters (an editable install lives outside site-packages)."""
    import importlib.util

    folders = {os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}  # the autoprov package
    shipped = importlib.util.find_spec("autoprov.shipped_filters")
    for location in (shipped.submodule_search_locations or []) if shipped is not None else []:
        folders.add(os.path.abspath(location))
    return folders


def excluded_folders(store: Path | str) -> tuple[str, ...]:
    """Every folder whose files are never part of the record: the store itself, by its exact path."""
    folders = interpreter_folders() | library_folders() | recorder_folders() | set(SYSTEM_FOLDERS)
    folders.add(os.path.abspath(os.fspath(store)))
    folders |= {os.path.realpath(folder) for folder in folders}  # the events' paths are real paths
    return tuple(sorted({os.path.normpath(folder) for folder in folders}))


class Scope:
    """Which paths are left out: those inside (or equal to) one of ``folders``, except kept ones."""

    def __init__(self, folders: tuple[str, ...], kept: tuple[str, ...] = KEPT_FOLDERS) -> None:
        self.folders = tuple(folders)
        self.kept = tuple(kept)
        self._inside = tuple(os.path.join(folder, "") for folder in self.folders)  # with the separator
        self._exact = frozenset(self.folders)
        self._kept_inside = tuple(os.path.join(folder, "") for folder in self.kept)

    def excludes(self, path: str) -> bool:
        if not (path.startswith(self._inside) or path in self._exact):
            return False
        return not (path.startswith(self._kept_inside) or path in self.kept)

    def describe(self) -> dict[str, Any]:
        return {"folders": list(self.folders), "kept": list(self.kept)}


def fd_path(fd: int) -> str | None:
    """The path of an open descriptor (Linux ``/proc/self/fd``, macOS ``F_GETPATH``), or None."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        pass
    try:
        import fcntl

        getpath = getattr(fcntl, "F_GETPATH", None)
        if getpath is not None:
            return os.fsdecode(fcntl.fcntl(fd, getpath, bytes(1024)).rstrip(b"\0"))
    except (OSError, ImportError, ValueError):
        pass
    return None


def written_path(path: Any, dir_fd: int | None = None) -> str | None:
    """The absolute path an event's ``path`` (and ``dir_fd``) names, links not resolved; None for
    a descriptor whose path cannot be found or a value that is not a path."""
    if isinstance(path, int):
        return fd_path(path)
    if path is None:
        path = "."
    try:
        text = os.fsdecode(os.fspath(path))
    except TypeError:
        return None
    if dir_fd is not None and dir_fd != AT_FDCWD and not os.path.isabs(text):
        base = fd_path(dir_fd)
        if base is None:
            return None
        text = os.path.join(base, text)
    return os.path.abspath(text)


def real_path(absolute: str) -> tuple[str, str | None]:
    """(real path, the absolute path as written when it went through a symbolic link, else None)."""
    real = os.path.realpath(absolute)
    return real, (absolute if real != absolute else None)
