"""``autoprov.Store``: the run index from Python, returning plain objects a notebook can tabulate.

>>> store = autoprov.Store()                        # .prov/ and .prov/index.sqlite, or $AUTOPROV_STORE
>>> store = autoprov.Store("postgresql://team@db.example/prov")
>>> runs = store.runs(status="failed", since="7d")  # [RunInfo(...)]: pandas.DataFrame(runs)
>>> store.diff("latest", "-2").equal
>>> store.lineage("results/flux_points.fits").root.generation.run_id
>>> store.impact("irf.fits").runs                   # what descends from this content: the runs to redo

Every query first indexes the run folders of this machine's store folder that the index does not
have yet (a run whose background indexing failed, a run killed before it ended), so answers cover
every run folder; :meth:`Store.index` rebuilds on demand.  The command line commands are thin
wrappers around these methods.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..errors import StoreError
from .database import Database
from ..store.location import StoreLocation, resolve_store


class Store:
    """A store: its run folders and its index database."""

    def __init__(self, store: str | os.PathLike | StoreLocation | None = None, *, timeout: float | None = None) -> None:
        self.location = store if isinstance(store, StoreLocation) else resolve_store(os.fspath(store) if store else None)
        self.database = Database(self.location, timeout)
        self.unreadable: dict[str, str] = {}  # local run folders the last catch-up could not read

    def __repr__(self) -> str:
        return f"<autoprov.Store {self.location.runs} index {self.location.display()}>"

    # -- indexing ------------------------------------------------------------------------------

    def add(self, run_dir: str | os.PathLike, model: Any = None) -> str:
        """Index one run folder now (the RunModel too, when it is already loaded); its run id."""
        from .writer import index_run

        return index_run(self.database, Path(run_dir), model)

    def index(self, runs: list[str] | None = None, force: bool = False) -> Any:
        """Index the run folders (``runs``: only these ids/prefixes), skipping unchanged logs unless ``force``.

        Returns an :class:`~.writer.IndexReport` (indexed ids, unchanged count, dropped ids).
        """
        from ..store.runs import find_run
        from .writer import IndexReport, index_folders, index_run

        if not runs:
            return index_folders(self.database, self.location.runs, force=force)
        report = IndexReport()
        for spec in runs:
            report.indexed.append(index_run(self.database, find_run(self.location.runs, spec)))
        return report

    def catch_up(self) -> list[str]:
        """Index the local run folders the index lacks (or holds from before their run ended); the ids
        indexed.  Folders whose record cannot be read are kept in :attr:`unreadable` (run id -> why)."""
        from .writer import index_runs, unindexed_folders

        stale = unindexed_folders(self.database, self.location.runs)
        failures: list[str] = []
        indexed = index_runs(self.database, stale, failures=failures) if stale else []
        self.unreadable = dict(failure.split(": ", 1) for failure in failures)
        return indexed

    # -- queries -------------------------------------------------------------------------------

    def runs(
        self,
        status: str | list[str] | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        script: str | None = None,
        param: str | list[str] | None = None,
        used: str | os.PathLike | list | None = None,
        generated: str | os.PathLike | list | None = None,
    ) -> list:
        """Runs matching every filter, oldest first: a list of :class:`~.query.RunInfo`.

        ``status`` one or a list (completed, failed, interrupted, incomplete); ``since``/``until``
        a datetime, ISO text (local time) or an age (``3d``, ``12h``); ``script`` a path or file
        name; ``param`` ``NAME=VALUE`` (one or a list, all must match); ``used``/``generated`` files
        (by their current content, or by path when they no longer exist).
        """
        from .query import find_runs

        self.catch_up()
        if not self.database.exists():
            return []
        with self.database.read() as connection:
            return find_runs(
                connection, status=_listed(status), since=_moment(since), until=_moment(until), script=script,
                params=_listed(param), used=[Path(p) for p in _listed(used) or ()],
                generated=[Path(p) for p in _listed(generated) or ()],
            )

    def run(self, spec: str = "latest") -> Any:
        """One run by id, unique prefix, ``latest`` or ``-N``: a :class:`~.query.RunInfo`."""
        from .query import resolve_run

        self.catch_up()
        self._require_index(spec)
        with self.database.read() as connection:
            return resolve_run(connection, spec, "run")

    def diff(self, a: str, b: str) -> Any:
        """A :class:`~.diff.RunDiff` of two runs (``.equal`` is True when nothing compared differs)."""
        from .diff import diff_runs
        from .query import resolve_run

        self.catch_up()
        self._require_index(a)
        with self.database.read() as connection:
            return diff_runs(connection, resolve_run(connection, a, "RUN_A"), resolve_run(connection, b, "RUN_B"))

    def lineage(self, path: str | os.PathLike, full: bool = False) -> Any:
        """The :class:`~.lineage.Lineage` of a file's current content across runs (``full``: every
        processing step with every parameter, not condensed)."""
        from .lineage import trace

        self.catch_up()
        self._require_index(os.fspath(path))
        with self.database.read() as connection:
            return trace(connection, Path(path), full)

    def impact(self, target: str | os.PathLike, depth: int | None = None, limit: int | None = None) -> Any:
        """The :class:`~.impact.Impact` of a file's current content (or of a digest): every product
        of every indexed run that descends from it, as a tree, and the runs to redo."""
        from .impact import impact

        self.catch_up()
        self._require_index(os.fspath(target))
        with self.database.read() as connection:
            return impact(connection, target, depth, limit)

    # -- removal -------------------------------------------------------------------------------

    def remove(self, runs: list[str]) -> Any:
        """Remove runs (ids, prefixes, ``latest``): index rows and folders; a :class:`~.removal.Removal`."""
        from .query import resolve_run
        from .removal import remove_runs

        self.catch_up()
        self._require_index(runs[0] if runs else "")
        with self.database.read() as connection:
            chosen = {info.run_id: info for info in (resolve_run(connection, spec, "rm") for spec in runs)}
        return remove_runs(self.database, list(chosen.values()))

    def gc(self, older_than: str | timedelta, dry_run: bool = False) -> Any:
        """Remove the runs that started longer ago than ``older_than`` (``30d``, a timedelta), and
        the rows of this machine's runs whose folders are gone; a :class:`~.removal.Removal`."""
        from .query import find_runs, parse_duration
        from .removal import Removal, remove_runs

        age = parse_duration(older_than) if isinstance(older_than, str) else older_than
        self.catch_up()
        if not self.database.exists():
            return Removal()
        cutoff = (datetime.now(timezone.utc) - age).replace(tzinfo=None)
        with self.database.read() as connection:
            chosen = [info for info in find_runs(connection) if (info.start_time is not None and info.start_time < cutoff) or _vanished(info)]
        if dry_run:
            from .removal import removable

            return Removal(removed=[i.run_id for i in chosen if removable(i)], elsewhere=[i for i in chosen if not removable(i)])
        return remove_runs(self.database, chosen, refuse_elsewhere=False)

    def _require_index(self, what: str) -> None:
        if not self.database.exists():
            raise StoreError(f"{what}: no runs in {self.location.runs} (no index {self.location.display()} yet)")


def _vanished(info: Any) -> bool:
    from ..store.location import this_host

    return info.host == this_host() and not os.path.exists(info.folder)


def _listed(value: Any) -> list | None:
    if value is None:
        return None
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _moment(value: str | datetime | None) -> datetime | None:
    from .query import parse_time

    if value is None or isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None) if isinstance(value, datetime) and value.tzinfo else value
    return parse_time(value)
