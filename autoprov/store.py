"""The provenance store: one folder per run under ``.prov/`` (or ``--store DIR``).

Run ids sort by start time (``YYYYMMDDTHHMMSSffffff-<pid hex>-<random>``) so ``ls`` and
``autoprov list`` show runs in order; a run folder holds the event log and, once exported, the
PROV documents and graphs.  Every file autoprov writes besides the append-only log goes through
:func:`atomic_write` (temporary file + rename), so a crash never leaves a truncated document.

Only the event log is fsynced (when the run ends): it is the record of truth.  Everything else in
a run folder is derived from it and can be rebuilt at any time with ``autoprov export RUN --all``,
so derived documents are renamed into place without fsync (which cost ~3 ms per file, paid by
every run).  A process crash still never exposes a partial document; after a crash of the whole
machine a derived document may be missing or empty, and re-exporting restores it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from .errors import StoreError

DEFAULT_STORE = ".prov"
STORE_ENV = "AUTOPROV_STORE"


def default_store() -> Path:
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE).absolute()


def new_run_id() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    return f"{stamp}-{os.getpid():x}-{os.urandom(2).hex()}"  # as secrets.token_hex(2), without its import


def create_run_dir(store: Path, run_id: str) -> Path:
    """Make ``store/run_id`` (owner-only writable); a clear StoreError if the store is unusable."""
    try:
        store.mkdir(mode=0o755, parents=True, exist_ok=True)
        run_dir = store / run_id
        run_dir.mkdir(mode=0o750)
    except FileExistsError as error:
        raise StoreError(f"store {store}: {error.filename} exists and is not a directory; use --store DIR") from None
    except OSError as error:
        raise StoreError(f"store {store}: cannot create a run folder ({error.strerror}); use --store DIR") from None
    return run_dir


def create_temporary(path: Path) -> tuple[int, str]:
    """(descriptor, name) of a new private file ``.<name>.<random>.tmp`` next to ``path``.

    What ``tempfile.mkstemp`` does (O_EXCL, mode 0600), without importing tempfile and random at
    start-up; 64 random bits make a name collision, which O_EXCL would report, practically impossible.
    """
    temporary = os.path.join(path.parent, f".{path.name}.{os.urandom(8).hex()}.tmp")
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    return os.open(temporary, flags, 0o600), temporary


@contextmanager
def atomic_file(path: Path, binary: bool = False, buffering: int = -1) -> Iterator[IO]:
    """A file to write ``path`` through: a temporary next to it, renamed into place on success and
    removed on any failure, so ``path`` is never seen half-written (derived documents: no fsync)."""
    path = Path(path)
    handle, temporary = create_temporary(path)
    try:
        if binary:
            out = os.fdopen(handle, "wb", buffering=buffering)
        else:
            out = os.fdopen(handle, "w", encoding="utf-8", buffering=buffering)
        with out:
            yield out
        os.chmod(temporary, 0o640)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``path`` at once through :func:`atomic_file`."""
    with atomic_file(path, binary=isinstance(data, bytes)) as out:
        out.write(data)


def run_dirs(store: Path) -> list[Path]:
    """Run folders of a store, oldest first."""
    if not store.is_dir():
        return []
    return sorted(p for p in store.iterdir() if p.is_dir() and (p / "events.jsonl").exists())


def find_run(store: Path, run: str) -> Path:
    """A run folder by id, unique id prefix, or ``latest``/``-1``."""
    runs = run_dirs(store)
    if run in ("latest", "-1") and runs:
        return runs[-1]
    matches = [p for p in runs if p.name == run] or [p for p in runs if p.name.startswith(run)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise StoreError(f"no run {run!r} in {store}; see `autoprov list`")
    raise StoreError(f"run prefix {run!r} is ambiguous in {store} ({len(matches)} runs)")
