"""Putting runs into the index and taking them out: one transaction per run, idempotent.

Indexing a run deletes whatever rows it had and inserts the rows of its record again, in one
transaction that holds the run's lock (:meth:`Database.write`), so a run indexed twice, or by two
processes at once, ends up indexed once.  The ``run`` row remembers the size and modification time
of the event log it was built from; :func:`index_folders` re-indexes only logs that changed since,
which makes ``autoprov index`` cheap to repeat, and :func:`unindexed_folders` is the cheaper check
every query command makes first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from ..errors import AutoprovError
from ..store.layout import RunFolder
from ..store.live import adopt_orphans
from ..store.runs import run_dirs
from . import schema
from .database import Database
from ..store.location import this_host

BATCH = 50  # runs per transaction when many are indexed at once ...
BATCH_ROWS = 50_000  # ... or fewer, when they are large (rows are held in memory until written)
from .rows import run_rows

if TYPE_CHECKING:
    from ..export.model import RunModel


@dataclass
class IndexReport:
    """What :func:`index_folders` did."""

    indexed: list[str] = field(default_factory=list)
    unchanged: int = 0
    dropped: list[str] = field(default_factory=list)  # rows of run folders that no longer exist
    failed: list[str] = field(default_factory=list)  # "<run>: <reason>" for folders that could not be read


def index_run(database: Database, run_dir: Path, model: RunModel | None = None) -> str:
    """Index one run folder (its model, when the caller has it already); returns the run id."""
    return index_runs(database, [Path(run_dir)], {Path(run_dir): model} if model is not None else None)[0]


def index_runs(
    database: Database, folders: list[Path], models: dict[Path, RunModel] | None = None, batch: int = BATCH,
    failures: list[str] | None = None,
) -> list[str]:
    """Index run folders, ``batch`` runs per transaction (a rebuild of thousands of runs commits
    rarely); each run's rows replace any it had.  Returns the run ids.  With ``failures``, a
    folder whose record cannot be read is noted there (``"<folder>: <reason>"``) and skipped, so
    one damaged folder does not stop a rebuild; without, its error propagates."""
    from ..export.model import load  # the exporter's reader: imported when a run is indexed

    done: list[str] = []
    chunk: list[tuple[str, dict]] = []
    size = 0
    for number, folder in enumerate(folders):
        try:
            model = (models or {}).get(folder) or load(folder)
            rows = run_rows(model, folder)
        except Exception as error:
            if failures is None:
                raise
            reason = str(error) if isinstance(error, AutoprovError) else f"{type(error).__name__}: {error}"
            failures.append(f"{folder.name}: {reason}")
        else:
            chunk.append((folder.name, rows))
            size += sum(len(table_rows) for table_rows in rows.values())
        if chunk and (len(chunk) >= batch or size >= BATCH_ROWS or number == len(folders) - 1):
            _write(database, chunk)
            done += [run_id for run_id, _ in chunk]
            chunk, size = [], 0
    return done


def write_rows(database: Database, runs: list[tuple[str, dict]]) -> None:
    """Replace the rows of runs built elsewhere than from a run folder (another program's log, e.g.
    ctapipe's: :mod:`autoprov.interop`), in one transaction, as indexing a folder does."""
    _write(database, runs)


def _write(database: Database, chunk: list[tuple[str, dict]]) -> None:
    run_ids = [run_id for run_id, _ in chunk]
    with database.write(lock=run_ids) as connection:
        run = schema.run.c
        known = [row.run_id for row in connection.execute(select(run.run_id).where(run.run_id.in_(run_ids)))]
        if known:  # a run's rows are only ever written together with its run row
            delete_rows(connection, known)
        for table in schema.RUN_TABLES:
            table_rows = [row for _, rows in chunk for row in rows.get(table.name, ())]
            if table_rows:
                connection.execute(insert(table), table_rows)


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


def unindexed_folders(database: Database, runs_folder: Path) -> list[Path]:
    """The catch-up every query makes first, cheap at any size: folders whose name the index lacks,
    and folders indexed while their run was still going (status incomplete) whose log has changed.

    One directory listing and one index-only query, no stat per folder: a finished run's log never
    changes, so only the (few) incomplete ones are looked at again.  ``autoprov index`` compares
    every log.
    """
    adopt_orphans(runs_folder)  # runs killed while staged outside the store join it first
    try:
        names = os.listdir(runs_folder)
    except OSError:
        return []
    indexed: set[str] = set()
    incomplete: dict[str, tuple[int, int]] = {}
    if database.exists():
        run = schema.run.c
        with database.read() as connection:
            indexed = set(connection.execute(select(run.run_id)).scalars())
            for row in connection.execute(select(run.run_id, run.log_size, run.log_mtime).where(run.status == "incomplete")):
                incomplete[row.run_id] = (row.log_size, row.log_mtime)
    stale = [runs_folder / name for name in sorted(names) if name not in indexed and RunFolder(runs_folder / name).is_run()]
    for run_id, (size, mtime) in incomplete.items():
        try:
            log = RunFolder(runs_folder / run_id).events.stat()
        except OSError:
            continue
        if (log.st_size, log.st_mtime_ns) != (size, mtime):
            stale.append(runs_folder / run_id)
    return stale


def index_folders(database: Database, runs_folder: Path, force: bool = False, drop_vanished: bool = True) -> IndexReport:
    """Bring the index up to date with the run folders of ``runs_folder`` (all of them with ``force``)."""
    stale, unchanged, vanished = stale_folders(database, runs_folder)
    if force:
        stale, unchanged = run_dirs(runs_folder), 0
    report = IndexReport(unchanged=unchanged)
    report.indexed = index_runs(database, stale, failures=report.failed)
    if drop_vanished and vanished:
        with database.write() as connection:
            delete_rows(connection, vanished)
        report.dropped = vanished
    return report
