"""The re-run's safety net: an audit hook that refuses to change the original run's files.

``autoprov rerun`` starts the program through ``python -m autoprov.cli.guarded GUARD.json --
<autoprov run options and program>``: this installs :class:`Guard` and then runs the program under
capture exactly as ``autoprov run`` does.  The hook sees every open for writing, rename, removal,
truncation and copy of the process; one whose real path (symbolic links resolved, so a write through
the mirror's links is caught) is a file of the original run, or lies in the original working
directory outside the scratch folder, fails with ``PermissionError`` before anything is changed.
Per-user caches (``~/.astropy``, ``~/.cache``, ...) stay writable even under a home directory.

Cost: one frozenset test per audit event (Python raises audit events for every ``id()`` and frame
access), a ``realpath`` per write-open; nothing for reads.
"""

from __future__ import annotations

import errno
import json
import os

WATCHED = frozenset({"open", "os.rename", "os.remove", "os.rmdir", "os.truncate", "shutil.rmtree", "shutil.copyfile", "shutil.copytree"})
WRITING = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class Guard:
    """The audit hook; settings as written by :func:`settings`."""

    def __init__(self, protected_files: list[str], protected_roots: list[str], allowed_roots: list[str]) -> None:
        self.files = frozenset(protected_files)
        self.roots = tuple(root.rstrip(os.sep) + os.sep for root in protected_roots)
        self.allowed = tuple(root.rstrip(os.sep) + os.sep for root in allowed_roots)

    def __call__(self, event: str, args: tuple) -> None:
        if event not in WATCHED:
            return
        if event == "open":
            if args[2] & WRITING:
                self.check(args[0])
        elif event in ("os.rename", "shutil.copytree"):
            self.check(args[0] if event == "os.rename" else None)
            self.check(args[1])
        elif event == "shutil.copyfile":
            self.check(args[1])
        else:
            self.check(args[0])

    def check(self, path: object) -> None:
        if path is None or isinstance(path, int):
            return
        real = os.path.realpath(os.fsdecode(path))  # type: ignore[arg-type]
        if real.startswith(self.allowed) or real + os.sep in self.allowed:
            return
        if real in self.files or (real + os.sep).startswith(self.roots):
            raise PermissionError(errno.EACCES, "autoprov rerun: refusing to change a file of the original run "
                                  "(the re-run writes into its scratch folder)", real)


def settings(protected_files: list[str], protected_roots: list[str], allowed_roots: list[str]) -> str:
    """The JSON the guard reads: real paths, so that links cannot hide a protected file."""
    return json.dumps({
        "protected_files": sorted({os.path.realpath(path) for path in protected_files}),
        "protected_roots": sorted({os.path.realpath(path) for path in protected_roots}),
        "allowed_roots": sorted({os.path.realpath(path) for path in allowed_roots}),
    })
