"""Where a run's folder lives while the program runs, and how it reaches its store at the end.

The program must see its working directory as it would without autoprov.  The default store is
``.prov`` in that directory, so a run must not create it while the program runs: when the store
already exists, the run folder is made in it at once (the program's listing of ``.`` is the same as
without this run); when it does not, the run folder is made in a private staging folder outside
the program's view (``$XDG_STATE_HOME/autoprov/live``, else ``~/.local/state/autoprov/live``, else
``$TMPDIR/autoprov-<uid>/live``), with a small ``target-store`` file naming the store, and it is
moved into the store when the run ends (:func:`settle`).

A run killed with SIGKILL cannot move itself: its log holds an ``flock`` while its process lives,
so :func:`adopt_orphans` (called whenever a store's runs are listed) moves every staged run of that
store whose lock can be taken.  Nothing here hides anything from the program: the store appears
when the program has ended, exactly as ``.coverage`` does for coverage.py.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import StoreError
from .layout import RunFolder

STATE_ENV = "XDG_STATE_HOME"


def staging_root() -> Path:
    """The private folder for runs whose store does not exist yet (created 0700 on first use)."""
    candidates = []
    state = os.environ.get(STATE_ENV)
    if state and os.path.isabs(state):
        candidates.append(Path(state) / "autoprov" / "live")
    home = os.path.expanduser("~")
    if home and home != "~":
        candidates.append(Path(home) / ".local" / "state" / "autoprov" / "live")
    candidates.append(Path(os.environ.get("TMPDIR") or "/tmp") / f"autoprov-{os.getuid()}" / "live")
    for candidate in candidates:
        try:
            candidate.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK | os.X_OK):
            return candidate
    raise StoreError("no writable folder for a run in progress (tried $XDG_STATE_HOME, ~/.local/state, $TMPDIR); use --store DIR")


def check_store(store: Path) -> None:
    """StoreError now if ``store`` could never hold runs (a file in its place, no permission)."""
    if store.exists():
        if not store.is_dir():
            raise StoreError(f"store {store}: it exists and is not a directory; use --store DIR")
        if not os.access(store, os.W_OK | os.X_OK):
            raise StoreError(f"store {store}: cannot create a run folder (permission denied); use --store DIR")
        return
    ancestor = store.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise StoreError(f"store {store}: {ancestor} exists and is not a directory; use --store DIR")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise StoreError(f"store {store}: cannot create it in {ancestor} (permission denied); use --store DIR")


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


def create_live_dir(store: Path, run_id: str) -> tuple[Path, bool]:
    """(run folder, staged): in the store if it exists, else in the staging folder."""
    check_store(store)
    if store.is_dir():
        return create_run_dir(store, run_id), False
    folder = staging_root() / run_id
    try:
        folder.mkdir(mode=0o750)
        (folder / RunFolder(folder).target_store.name).write_text(str(store) + "\n", encoding="utf-8")
    except OSError as error:
        raise StoreError(f"cannot create a folder for the run in {folder.parent} ({error.strerror}); use --store DIR") from None
    return folder, True


def settle(folder: Path, store: Path, run_id: str, log_content: bytes | None) -> Path:
    """Put the run into ``store/run_id`` and return that folder.

    ``folder`` is where the run was written; ``log_content`` is the log read back through its open
    descriptor when the program deleted, renamed or replaced the run folder or its log: then the
    folder is made again and the log written back.
    """
    target = store / run_id
    events = RunFolder(target).events
    if log_content is None and folder != target:
        store.mkdir(mode=0o755, parents=True, exist_ok=True)
        _move(folder, target)
    elif log_content is not None:
        if not target.is_dir():
            target = create_run_dir(store, run_id)
        temporary = events.with_name(events.name + ".restored")
        with open(temporary, "wb") as out:
            out.write(log_content)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o640)
        os.replace(temporary, events)
        if folder != target and folder.is_dir():
            import shutil  # not at start-up: it costs ~3 ms of every run

            shutil.rmtree(folder, ignore_errors=True)
    try:
        RunFolder(target).target_store.unlink()
    except FileNotFoundError:
        pass
    return target


def _move(source: Path, target: Path) -> None:
    try:
        os.rename(source, target)
    except OSError as error:
        if error.errno != 18:  # EXDEV: another file system, copy instead
            raise
        import shutil

        shutil.copytree(source, target)
        shutil.rmtree(source, ignore_errors=True)


def _owner_gone(events: Path) -> bool:
    """True when no live process holds the log's lock (its run has ended, however it ended)."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        fd = os.open(events, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def adopt_orphans(store: Path) -> None:
    """Move staged runs of ``store`` whose process has ended (killed, ``os._exit``) into it."""
    try:
        root = staging_root()
        staged = list(root.iterdir())
    except (OSError, StoreError):
        return
    wanted = str(store.absolute())
    for folder in staged:
        marker = RunFolder(folder).target_store
        try:
            if marker.read_text(encoding="utf-8").strip() != wanted or not _owner_gone(RunFolder(folder).events):
                continue
            store.mkdir(mode=0o755, parents=True, exist_ok=True)
            _move(folder, store / folder.name)
            (store / folder.name / marker.name).unlink()
        except (OSError, ValueError):
            continue  # unreadable, not text, or raced by another adopter: left for the next listing
