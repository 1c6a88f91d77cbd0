"""The provenance store: one folder per run under ``.prov/`` (or ``--store DIR``).

Run ids sort by start time (``YYYYMMDDTHHMMSSffffff-<pid hex>-<random>``) so ``ls`` and
``autoprov list`` show runs in order; a run folder holds the event log and, once exported, the
PROV documents and graphs (names in :mod:`.layout`, writes through :mod:`.atomic`).

Where a run lives and how it is found: the store folder, run ids, run folders, look-up by id.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from ..errors import StoreError
from .layout import RunFolder

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


def run_dirs(store: Path) -> list[Path]:
    """Run folders of a store, oldest first (runs killed before they reached it are moved in first)."""
    from .live import adopt_orphans

    adopt_orphans(store)
    if not store.is_dir():
        return []
    return sorted(p for p in store.iterdir() if RunFolder(p).is_run())


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
