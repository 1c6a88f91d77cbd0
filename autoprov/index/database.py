"""The index database: one SQLAlchemy Core engine for SQLite and PostgreSQL, locks, errors, schema.

The same tables and statements serve both databases; what differs is how writers take turns:

* SQLite (WAL journal): a write transaction starts with ``BEGIN IMMEDIATE``, which takes the
  database's single write lock at once, so concurrent indexers queue on the busy timeout instead
  of failing half-way; readers are never blocked.
* PostgreSQL: writers of different runs run in parallel; a transaction-scoped advisory lock on the
  run's id (and on the schema while it is created or migrated) serialises two writers of the same
  run, so re-indexing stays a clean delete-then-insert.

Every failure to reach or use the database becomes one :class:`~autoprov.errors.IndexDatabaseError`
line, with any password in the URL masked.  The busy/connect timeout is ``$AUTOPROV_INDEX_TIMEOUT``
seconds (default 30).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy
import xxhash
from sqlalchemy import event, insert, inspect, select, text
from sqlalchemy.engine import Connection, Engine

from ..errors import IndexDatabaseError
from ..redaction import redact_text
from . import schema
from ..store.location import StoreLocation

TIMEOUT_ENV = "AUTOPROV_INDEX_TIMEOUT"
DEFAULT_TIMEOUT = 30.0
SCHEMA_LOCK = "autoprov index schema"


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for an advisory lock (PostgreSQL's bigint)."""
    return xxhash.xxh64_intdigest(name.encode("utf-8")) - (1 << 63)


class Database:
    """The index of one store.  ``write(run_id)`` and ``read()`` give connections in a transaction."""

    def __init__(self, location: StoreLocation, timeout: float | None = None) -> None:
        self.location = location
        self.timeout = timeout if timeout is not None else _timeout_from_environment()
        self._engine: Engine | None = None
        self._ready = False

    @property
    def is_sqlite(self) -> bool:
        return self.location.url is None

    def exists(self) -> bool:
        """False for an SQLite index that was never created (nothing indexed yet): readers skip it."""
        path = self.location.sqlite_path
        return path is None or path.exists()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self.errors():
                self._engine = self._create_engine()
        return self._engine

    def _create_engine(self) -> Engine:
        if self.is_sqlite:
            path = self.location.sqlite_path
            assert path is not None
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o640))  # private as the run folders are
            engine = sqlalchemy.create_engine(self.location.database_url(), connect_args={"timeout": self.timeout})
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        try:
            import psycopg  # noqa: F401  (the driver; a clear message when the extra is missing)
        except ImportError:
            raise IndexDatabaseError(
                f"cannot use the index {self.location.display()}: PostgreSQL needs psycopg 3 (pip install 'autoprov[postgres]')"
            ) from None
        return sqlalchemy.create_engine(self.location.database_url(), connect_args={"connect_timeout": max(1, round(self.timeout))})

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Database failures as one IndexDatabaseError line (password masked)."""
        try:
            yield
        except IndexDatabaseError:
            raise
        except (sqlalchemy.exc.DBAPIError, sqlalchemy.exc.TimeoutError, OSError) as error:
            raise IndexDatabaseError(f"cannot use the index {self.location.display()}: {self.reason(error)}") from None

    def reason(self, error: BaseException) -> str:
        original = getattr(error, "orig", None) or error
        lines = [line.strip() for line in str(original).splitlines() if line.strip()]
        message = lines[0] if lines else type(original).__name__
        if self.location.url is not None:
            password = sqlalchemy.engine.make_url(self.location.database_url()).password
            if password:
                message = message.replace(str(password), "<redacted>")
        return redact_text(message)

    @contextmanager
    def write(self, lock: list[str] | None = None) -> Iterator[Connection]:
        """A write transaction; ``lock`` names what it rewrites (run ids), serialising their writers."""
        with self.errors():
            self.ensure_schema()
            with self.engine.connect().execution_options(autoprov_write=True) as connection:
                with connection.begin():
                    for name in sorted(lock or ()):  # sorted: two writers never wait on each other in a cycle
                        self._lock(connection, name)
                    yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (one consistent snapshot for the queries made in it)."""
        with self.errors():
            self.ensure_schema()
            with self.engine.connect() as connection:
                with connection.begin():
                    yield connection

    def _lock(self, connection: Connection, name: str) -> None:
        if not self.is_sqlite:  # SQLite: BEGIN IMMEDIATE already holds the only write lock
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})

    # -- schema --------------------------------------------------------------------------------

    def version(self, connection: Connection) -> int | None:
        if not inspect(connection).has_table(schema.schema_version.name):
            return None
        return connection.execute(select(schema.schema_version.c.version)).scalar()

    def ensure_schema(self) -> None:
        """Create the tables, or migrate them, once per process; refuse a newer schema."""
        if self._ready:
            return
        with self.engine.connect() as connection:
            version = self.version(connection)
            connection.rollback()
        if version != schema.SCHEMA_VERSION:
            with self.engine.connect().execution_options(autoprov_write=True) as connection:
                with connection.begin():
                    self._lock(connection, SCHEMA_LOCK)
                    self._upgrade(connection, self.version(connection))
        self._ready = True

    def _upgrade(self, connection: Connection, version: int | None) -> None:
        if version is None:
            schema.metadata.create_all(connection)
            connection.execute(insert(schema.schema_version).values(version=schema.SCHEMA_VERSION))
            return
        if version > schema.SCHEMA_VERSION:
            raise IndexDatabaseError(
                f"the index {self.location.display()} has schema version {version}, newer than this autoprov's "
                f"{schema.SCHEMA_VERSION}: upgrade autoprov, or use another --store"
            )
        while version < schema.SCHEMA_VERSION:
            step = schema.MIGRATIONS.get(version)
            if step is None:
                raise IndexDatabaseError(f"the index {self.location.display()}: no migration from schema version {version}")
            step(connection)
            version += 1
        connection.execute(schema.schema_version.update().values(version=version))

    def dispose(self) -> None:
        """Close the pooled connections (a Store used once inside a user's process lets go of them)."""
        if self._engine is not None:
            self._engine.dispose()


def _timeout_from_environment() -> float:
    try:
        return float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun by _sqlite_begin, not by pysqlite
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA synchronous=NORMAL")  # the index is derived: the event logs are fsynced
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get("autoprov_write")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
