"""Read-only access to the index for the service, with the bounds every query lives within.

The service never writes: it does not index run folders first as the command line does (that is
the runs' and ``autoprov index``'s job), it refuses to start on an index whose schema it would
have to create or migrate, and a guard on the engine refuses any statement other than a read, so a
bug cannot turn a page into a write.  The same guard enforces the time bound: a walk across runs
is many small statements, and each one first checks the query's deadline (one ``time.monotonic``
call and a context-variable read, well under a microsecond beside a statement's ~100 us).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Connection

from ..errors import StoreError
from ..index import schema
from ..index.database import Database
from ..store.location import StoreLocation, resolve_store

READS = ("SELECT", "WITH", "PRAGMA", "BEGIN", "SHOW", "SET", "ROLLBACK", "COMMIT")
_deadline: ContextVar[float | None] = ContextVar("autoprov_serve_deadline", default=None)


class QueryTimeout(Exception):
    """The query's time bound was reached."""


@dataclass(frozen=True)
class Bounds:
    """What one request may cost: runs deep, nodes in an answer, seconds."""

    depth: int = 200  # processing steps followed (lineage's own bound)
    nodes: int = 5000  # files and activities in one answer
    seconds: float = 60.0


class Index:
    """The store's index, opened read-only for the service's lifetime."""

    def __init__(self, store: str | None, bounds: Bounds | None = None) -> None:
        self.location: StoreLocation = resolve_store(store)
        self.bounds = bounds or Bounds()
        self.database = Database(self.location)
        if not self.database.exists():
            raise StoreError(f"no index {self.location.display()} yet: run `autoprov index --store ...` first")
        with self.database.errors():
            with self.database.engine.connect() as connection:
                version = self.database.version(connection)
        if version != schema.SCHEMA_VERSION:
            state = "no tables" if version is None else f"schema version {version}, not {schema.SCHEMA_VERSION}"
            raise StoreError(f"the index {self.location.display()} has {state}: `autoprov index` brings it up to date "
                             "(the service only reads)")
        event.listen(self.database.engine, "before_cursor_execute", _guard)

    def display(self) -> str:
        """The store as pages show it (a password in a URL masked)."""
        return self.location.display()

    @contextmanager
    def read(self, seconds: float | None = None) -> Iterator[Connection]:
        """A read transaction whose statements stop after ``seconds`` (the bound by default)."""
        token = _deadline.set(time.monotonic() + (seconds if seconds is not None else self.bounds.seconds))
        try:
            with self.database.errors():
                with self.database.engine.connect() as connection:
                    with connection.begin():
                        yield connection
        finally:
            _deadline.reset(token)

    def dispose(self) -> None:
        self.database.dispose()


def _guard(connection: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise QueryTimeout()
    if not statement.lstrip().upper().startswith(READS):
        raise PermissionError(f"the service only reads the index: refused {statement.split(None, 1)[0]}")
