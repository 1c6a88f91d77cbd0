"""The store stage: run folders under ``.prov/`` (or ``--store DIR``), their layout, atomic writes, look-up."""

from .atomic import atomic_file, atomic_write, create_temporary
from .layout import RunFolder
from .runs import DEFAULT_STORE, STORE_ENV, create_run_dir, default_store, find_run, new_run_id, run_dirs

__all__ = [
    "DEFAULT_STORE", "STORE_ENV", "RunFolder", "atomic_file", "atomic_write", "create_run_dir",
    "create_temporary", "default_store", "find_run", "new_run_id", "run_dirs",
]
