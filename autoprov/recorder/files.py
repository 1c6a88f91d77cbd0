"""Which file versions a run read and wrote, and their content digests.

The audit hook reports opens, renames, removals and copies as they happen; this module keeps one
small state per path and hashes each version exactly once, when it is complete:

* a file read is hashed at the end of the run (its content as found), unless something is about
  to change it first, in which case it is hashed just before that change;
* a file opened for writing starts a new version, hashed when the next event touches the path
  (it is then closed: re-read, re-written, renamed, copied, removed) or at the end of the run,
  after the program's exit handlers and with Python's buffers of files still open flushed
  (:meth:`autoprov.recorder.fileevents.FileEvents.finish`);
* a rename, copy or hard link gives the destination a new version with the source's content; a
  renamed folder moves every version the run knows under it; a truncation is an update.

So hashing never happens on the tracing hot path, each version is read once, and a file written
and read back in the same run is one entity.  Hashing is streaming xxhash (or hashlib for
sha256/md5); an unreadable or vanished file gets a DIGEST with ``hexdigest = None``.
"""

from __future__ import annotations

import os
import stat as stat_module
from collections.abc import Callable

import xxhash

from .. import events

HASH_ALGORITHMS = ("xxh3_128", "xxh64", "sha256", "md5", "none")
CHUNK = 1 << 20


def hash_file(path: str, algorithm: str) -> tuple[str | None, int | None, int | None]:
    """(hexdigest, size, mtime_ns) of a file, streamed; (None, ...) when it cannot be read.

    Only regular files are opened: opening a named pipe or a device to hash it could block
    forever or consume data meant for the program.
    """
    try:
        info = os.stat(path)
        if not stat_module.S_ISREG(info.st_mode):
            return None, None, info.st_mtime_ns
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            if algorithm == "none":
                return None, stat.st_size, stat.st_mtime_ns
            hasher = _new_hasher(algorithm)
            while chunk := handle.read(CHUNK):
                hasher.update(chunk)
            return hasher.hexdigest(), stat.st_size, stat.st_mtime_ns
    except OSError:
        return None, None, None


def _new_hasher(algorithm: str):
    if algorithm == "xxh3_128":
        return xxhash.xxh3_128()
    if algorithm == "xxh64":
        return xxhash.xxh64()
    import hashlib  # only for sha256/md5: loading OpenSSL costs ~3 ms that xxhash runs never need

    return hashlib.new(algorithm)


class FileTracker:
    """Per-path version bookkeeping; emits DIGEST events through ``emit``."""

    def __init__(self, emit: Callable[[tuple], None], algorithm: str = "xxh3_128") -> None:
        if algorithm not in HASH_ALGORITHMS:
            raise ValueError(f"unknown hash algorithm {algorithm!r}; choose one of {', '.join(HASH_ALGORITHMS)}")
        self._emit = emit
        self.algorithm = algorithm
        self.hash_file = hash_file  # replaced when the hashing must happen in another process
        self._version: dict[str, int] = {}  # path -> current version number
        self._unhashed: set[str] = set()  # paths whose current version has no DIGEST yet
        self._digests: dict[str, tuple[str | None, int | None, int | None]] = {}  # of the current version
        self._writing: set[str] = set()  # paths whose current version was opened for writing, not hashed yet

    def _settle(self, path: str) -> None:
        """Hash the current version of ``path`` if it has not been hashed yet."""
        if path in self._unhashed:
            self._unhashed.discard(path)
            self._writing.discard(path)
            self._record(path, self.hash_file(path, self.algorithm))

    def _record(self, path: str, digest: tuple[str | None, int | None, int | None]) -> None:
        self._digests[path] = digest
        self._emit((events.DIGEST, path, self._version[path], self.algorithm, *digest))

    def read(self, path: str) -> int:
        """A read of ``path``; returns the version read."""
        if path not in self._version:
            self._version[path] = 0
            self._unhashed.add(path)
        else:
            self._settle(path)
        return self._version[path]

    def write(self, path: str, truncates: bool) -> int:
        """An open for writing; returns the new version number."""
        if path in self._version:
            self._settle(path)
        elif not truncates and os.path.exists(path):
            self._version[path] = 0  # appended to or updated in place: the old content was an input
            self._unhashed.add(path)
            self._settle(path)
        self._version[path] = self._version.get(path, 0) + 1
        self._unhashed.add(path)
        self._writing.add(path)
        return self._version[path]

    def truncate(self, path: str) -> int | None:
        """``os.truncate``: a new version (an update of the old content), or None when the file is
        still being written (``handle.truncate()`` while open) and the truncation is part of that version."""
        if path in self._writing:
            return None
        return self.write(path, truncates=False)

    def being_written(self) -> set[str]:
        """Paths whose current version was opened for writing and not hashed yet (maybe still open)."""
        return set(self._writing)

    def before_removal(self, path: str) -> None:
        """``path`` is about to be removed: fix the digest of the version that disappears."""
        if os.path.isfile(path):
            self.read(path)
            self._settle(path)

    def transferred(self, source: str, destination: str) -> None:
        """Before a rename or copy: the destination's next version will hold the source's content."""
        self.read(source)
        self._settle(source)
        content = self._digests.get(source) or (None, None, None)
        self.write(destination, truncates=True)
        self._unhashed.discard(destination)
        self._writing.discard(destination)
        self._record(destination, content)

    def moved_tree(self, source: str, destination: str) -> list[tuple[str, str]]:
        """Before a folder is renamed: each version the run knows under ``source`` moves with it;
        returns the (old path, new path) pairs."""
        prefix = os.path.join(source, "")
        moved = []
        for old in [path for path in self._version if path.startswith(prefix)]:
            if os.path.isfile(old):  # still there: not removed or renamed away before
                new = destination + old[len(source):]
                self.transferred(old, new)
                moved.append((old, new))
        return moved

    def finish(self) -> None:
        """At the end of the run: hash every version still without a digest."""
        for path in sorted(self._unhashed):
            self._settle(path)
