"""Where a store lives: the folder of run folders, and the index database beside it.

A store is named by ``--store``, else ``$AUTOPROV_STORE``, else ``store = ...`` in the
``[tool.autoprov]`` table of the nearest ``pyproject.toml`` (relative to that file), else ``.prov``
in the working directory.  The value is either

* a folder: run folders go into it and the index is the SQLite file ``<folder>/index.sqlite``; or
* a ``postgresql://`` URL: the index is that PostgreSQL database, shared by everyone who names it,
  and run folders still go to a local folder, which is ``$AUTOPROV_RUNS``, else ``runs = ...`` in
  ``[tool.autoprov]``, else ``.prov`` in the working directory.  The event log in each run folder
  stays the record of truth; the database is an index of the folders of every machine that uses it.

This module imports no database code: it runs at every run's start-up.  Passwords in a URL are
never printed: :meth:`StoreLocation.display` masks them.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import StoreError, UsageError
from ..redaction import redact_text

DEFAULT_FOLDER = ".prov"
STORE_ENV = "AUTOPROV_STORE"
RUNS_ENV = "AUTOPROV_RUNS"
INDEX_FILE = "index.sqlite"
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


class StoreLocation:
    """A resolved store: the run folders' folder, and the PostgreSQL URL (None: SQLite beside them).

    A plain class with slots, not a NamedTuple: creating a NamedTuple class costs ~1 ms of every
    run's start-up, which imports this module.
    """

    __slots__ = ("runs", "url", "origin")

    def __init__(self, runs: Path, url: str | None = None, origin: str = "default") -> None:
        self.runs = runs
        self.url = url
        self.origin = origin  # "--store", "AUTOPROV_STORE", the pyproject.toml path, "default"

    def __repr__(self) -> str:
        return f"StoreLocation({str(self.runs)!r}, {self.display()!r}, {self.origin!r})"

    @property
    def sqlite_path(self) -> Path | None:
        return self.runs / INDEX_FILE if self.url is None else None

    def database_url(self) -> str:
        """The SQLAlchemy URL of the index (psycopg 3 as the PostgreSQL driver)."""
        if self.url is None:
            return f"sqlite:///{self.runs / INDEX_FILE}"
        scheme, rest = self.url.split("://", 1)
        return f"postgresql+psycopg://{rest}"

    def display(self) -> str:
        """The index, as messages show it: the SQLite path, or the URL with its password masked."""
        return str(self.sqlite_path) if self.url is None else redact_text(self.url)

    def child_environment(self) -> dict[str, str]:
        """Variables that make a later ``autoprov`` process (the detached indexer) find this store.

        The URL goes through the environment, never a command line: other users can read a
        process's arguments (``ps``), not its environment.
        """
        return {STORE_ENV: self.url or str(self.runs), RUNS_ENV: str(self.runs)}


def this_host() -> str:
    """The host name a run records (``environment.hostname``): the machine its folder is on."""
    return os.uname().nodename


def is_database_url(spec: str) -> bool:
    return "://" in spec


def resolve_store(value: str | None = None, cwd: Path | None = None, environ: dict[str, str] | None = None) -> StoreLocation:
    """The store named by ``value`` (``--store``), the environment or pyproject.toml, or the default."""
    cwd = cwd or Path.cwd()
    environ = os.environ if environ is None else environ
    project: list[tuple[dict, Path]] = []  # read at most once, and only when needed

    def settings() -> tuple[dict, Path]:
        if not project:
            project.append(_settings(cwd))
        return project[0]

    if value:
        spec, origin, base = value, "--store", cwd
    elif environ.get(STORE_ENV):
        spec, origin, base = environ[STORE_ENV], STORE_ENV, cwd
    elif settings()[0].get("store"):
        table, pyproject = settings()
        spec, origin, base = _text(table, "store", pyproject), str(pyproject), pyproject.parent
    else:
        return StoreLocation((cwd / DEFAULT_FOLDER).absolute())
    if not is_database_url(spec):
        return StoreLocation((base / spec).absolute(), None, origin)
    scheme = spec.split("://", 1)[0].lower()
    if scheme not in POSTGRES_SCHEMES:
        raise UsageError(f"store {redact_text(spec)} (from {origin}): give a folder or a postgresql:// URL, not {scheme}://")
    if environ.get(RUNS_ENV):
        runs = cwd / environ[RUNS_ENV]
    elif settings()[0].get("runs"):
        table, pyproject = settings()
        runs = pyproject.parent / _text(table, "runs", pyproject)
    else:
        runs = cwd / DEFAULT_FOLDER
    return StoreLocation(runs.absolute(), spec, origin)


def _settings(cwd: Path) -> tuple[dict, Path]:
    from ..pyproject import PyprojectError, tool_settings

    try:
        found = tool_settings(cwd)
    except PyprojectError as error:
        raise StoreError(f"store settings in {error}") from None
    return (found[1], found[0]) if found else ({}, cwd)


def _text(settings: dict, key: str, pyproject: Path) -> str:
    value = settings[key]
    if not isinstance(value, str):
        raise StoreError(f"store settings in {pyproject}: [tool.autoprov] {key} must be a folder or a postgresql:// URL (a string)")
    return value
