"""Atomic writes: every file autoprov writes besides the append-only log appears whole or not at all.

A temporary file next to the target is written and renamed into place, so a crash never leaves a
truncated document.  Derived documents are renamed without fsync (which cost ~3 ms per file, paid
by every run): after a crash of the whole machine a derived document may be missing or empty, and
``autoprov export RUN --all`` restores it from the event log, which is the only fsynced file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def create_temporary(path: Path) -> tuple[int, str]:
    """(descriptor, name) of a new private file ``.<name>.<random>.tmp`` next to ``path``.

    What ``tempfile.mkstemp`` does (O_EXCL, mode 0600), without importing tempfile and random at
    start-up; 64 random bits make a name collision, which O_EXCL would report, practically impossible.
    """
    temporary = os.path.join(path.parent, f".{path.name}.{os.urandom(8).hex()}.tmp")
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    return os.open(temporary, flags, 0o600), temporary


@contextmanager
def atomic_file(path: Path, binary: bool = False, buffering: int = -1, mode: int = 0o640) -> Iterator[IO]:
    """A file to write ``path`` through: a temporary next to it, renamed into place on success and
    removed on any failure, so ``path`` is never seen half-written (derived documents: no fsync).
    ``mode``: its permissions (a file rewritten in place keeps its own)."""
    path = Path(path)
    handle, temporary = create_temporary(path)
    try:
        if binary:
            out = os.fdopen(handle, "wb", buffering=buffering)
        else:
            out = os.fdopen(handle, "w", encoding="utf-8", buffering=buffering)
        with out:
            yield out
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def atomic_write(path: Path, data: str | bytes, mode: int = 0o640) -> None:
    """Write ``path`` at once through :func:`atomic_file`."""
    with atomic_file(path, binary=isinstance(data, bytes), mode=mode) as out:
        out.write(data)
