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
from .location import DEFAULT_FOLDER as DEFAULT_STORE
from .location import STORE_ENV, resolve_store
from .layout import RunFolder
from .live import adopt_orphans, create_run_dir

__all__ = ["DEFAULT_STORE", "STORE_ENV", "create_run_dir", "default_store", "find_run", "new_run_id", "run_dirs"]


def default_store() -> Path:
    """The folder of run folders: ``$AUTOPROV_STORE``, ``[tool.autoprov] store``, else ``.prov``
    (with a PostgreSQL URL there, the local folder its runs go to: :mod:`.location`)."""
    return resolve_store().runs


def new_run_id() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    return f"{stamp}-{os.getpid():x}-{os.urandom(2).hex()}"  # as secrets.token_hex(2), without its import


def run_dirs(store: Path) -> list[Path]:
    """Run folders of a store, oldest first (runs killed before they reached it are moved in first)."""
    adopt_orphans(store)
    if not store.is_dir():
        return []
    try:
        return sorted(p for p in store.iterdir() if RunFolder(p).is_run())
    except OSError as error:
        raise StoreError(f"store {store}: cannot list it ({error.strerror or error})") from None


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
