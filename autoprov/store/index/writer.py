"""Putting runs into the index and taking them out: one transaction per run, idempotent.

Indexing a run deletes whatever rows it had and inserts the rows of its record again, in one
transaction that holds the run's lock (:meth:`Database.write`), so a run indexed twice, or by two
processes at once, ends up indexed once.  The ``run`` row remembers the size and modification time
of the event log it was built from; :func:`index_folders` re-indexes only logs that changed since,
which makes ``autoprov index`` cheap to repeat and lets every query command catch up first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from ..layout import RunFolder
from ..runs import run_dirs
from . import schema
from .database import Database
from .location import this_host
from .rows import run_rows

if TYPE_CHECKING:
    from ...export.model import RunModel


@dataclass
class IndexReport:
    """What :func:`index_folders` did."""

    indexed: list[str] = field(default_factory=list)
    unchanged: int = 0
    dropped: list[str] = field(default_factory=list)  # rows of run folders that no longer exist


def index_run(database: Database, run_dir: Path, model: RunModel | None = None) -> str:
    """Index one run folder (its model, when the caller has it already); returns the run id."""
    if model is None:
        from ...export.model import load

        model = load(run_dir)
    model.run_id = model.run_id or Path(run_dir).name
    rows = run_rows(model, Path(run_dir))
    with database.write(lock=model.run_id) as connection:
        delete_rows(connection, [model.run_id])
        for table in schema.RUN_TABLES:
            table_rows = rows.get(table.name)
            if table_rows:
                connection.execute(insert(table), table_rows)
    return model.run_id


def delete_rows(connection: Connection, run_ids: list[str]) -> None:
    for table in schema.RUN_TABLES:
        connection.execute(delete(table).where(table.c.run_id.in_(run_ids)))


def stale_folders(database: Database, runs_folder: Path) -> tuple[list[Path], int, list[str]]:
    """(run folders whose log is not indexed as it is now, how many are, ids of vanished local runs)."""
    folders = run_dirs(runs_folder)
    indexed: dict[str, tuple[int, int, str, str]] = {}
    if database.exists():
        with database.read() as connection:
            run = schema.run.c
            result = connection.execute(select(run.run_id, run.log_size, run.log_mtime, run.folder, run.host))
            indexed = {row.run_id: (row.log_size, row.log_mtime, row.folder, row.host) for row in result}
    stale = []
    for folder in folders:
        try:
            log = RunFolder(folder).events.stat()
        except OSError:
            continue
        known = indexed.get(folder.name)
        if known is None or (known[0], known[1]) != (log.st_size, log.st_mtime_ns):
            stale.append(folder)
    local = {folder.name for folder in folders}
    prefix = str(runs_folder.absolute()) + os.sep
    host = this_host()
    vanished = [run_id for run_id, (_, _, path, recorded_on) in indexed.items()
                if run_id not in local and recorded_on == host and path.startswith(prefix) and not os.path.isdir(path)]
    return stale, len(folders) - len(stale), vanished


def index_folders(database: Database, runs_folder: Path, force: bool = False, drop_vanished: bool = True) -> IndexReport:
    """Bring the index up to date with the run folders of ``runs_folder`` (all of them with ``force``)."""
    stale, unchanged, vanished = stale_folders(database, runs_folder)
    if force:
        stale, unchanged = run_dirs(runs_folder), 0
    report = IndexReport(unchanged=unchanged)
    for folder in stale:
        report.indexed.append(index_run(database, folder))
    if drop_vanished and vanished:
        with database.write() as connection:
            delete_rows(connection, vanished)
        report.dropped = vanished
    return report
