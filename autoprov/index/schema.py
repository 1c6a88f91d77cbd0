"""The index schema: IVOA ProvTAP tables, a run table, and the schema version (``docs/index.md``).

The tables are those of ProvTAP (the TAP serialisation of the IVOA Provenance Data Model):
``activity``, ``entity``, ``agent``, ``used``, ``wasgeneratedby``, ``wasderivedfrom``,
``wasassociatedwith``, ``wasattributedto``, ``wasinformedby``, ``hadmember``, ``parameter`` and the
description tables ``activitydescription``, ``entitydescription``, ``usagedescription``,
``generationdescription``, ``parameterdescription``; plus ``run`` (one row per run folder: status,
exit, command, script digest, times, environment summary), ``run_package`` (the package versions
the run loaded) and ``schema_version``.

Every row belongs to one run (``run_id``) and its ids are the PROV ids of that run's documents
(``run:act_5``, ``file:xxh3_128_<hex>``, ``desc:gammapy.modeling.fit.Fit.run``), so a row can be
found in ``provenance.json`` and a run is re-indexed or removed by deleting its rows.  Content-
addressed file ids are the same in every run, which is what cross-run lineage joins on; the
``digest`` column (``<algorithm>:<hex>``) is the file's identity.

The schema is versioned as coverage.py versions its data file: ``schema_version`` holds one number;
a database at an older version is brought up to date by the steps of :data:`MIGRATIONS`, in order,
inside one transaction; a newer one is refused (an older autoprov must not write into it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger, Boolean, Column, DateTime, Float, Index, Integer, MetaData, Table, Text, func, literal_column, text,
)

SCHEMA_VERSION = 3


def _add_key_column(connection: Any) -> None:
    """1 -> 2: ``parameterdescription.key`` (a filter's key parameters, named by ``lineage``); the
    rows of runs indexed before stay NULL until ``autoprov index --force``."""
    connection.execute(text('ALTER TABLE parameterdescription ADD COLUMN "key" BOOLEAN'))


def _add_accessor_column(connection: Any) -> None:
    """2 -> 3: ``activity.accessor`` ("getter": a property read, left out of lineage's steps by
    default); the rows of runs indexed before stay NULL until ``autoprov index --force``."""
    connection.execute(text("ALTER TABLE activity ADD COLUMN accessor TEXT"))


# version n -> the step that brings a database at version n to n + 1 (given a Connection in a transaction)
MIGRATIONS: dict[int, Callable[[Any], None]] = {1: _add_key_column, 2: _add_accessor_column}
VALUE_PREFIX = 200  # parameter values are indexed by their first characters (btree entries are bounded)


def value_key(column: Any) -> Any:
    """``substr(value, 1, 200)``, spelled with literals so that queries match the index expression."""
    return func.substr(column, literal_column("1"), literal_column(str(VALUE_PREFIX)))


metadata = MetaData()
# SQLite: store each table in its primary key's b-tree (no rowid and no copy of the key in a
# second index): the index is half the size.  Other databases ignore the option.
ROW_KEYED = {"sqlite_with_rowid": False}


def _run_id() -> Column:
    return Column("run_id", Text, primary_key=True)


schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

run = Table(
    "run", metadata,
    Column("run_id", Text, primary_key=True),
    Column("status", Text, nullable=False),  # completed, failed, interrupted, incomplete
    Column("exit_code", Integer),
    Column("program", Text),  # the script path or -m module
    Column("command", Text),  # the program's command line, as the program saw it
    Column("script_path", Text),
    Column("script_digest", Text),  # <algorithm>:<hex>
    Column("start_time", DateTime),  # UTC
    Column("end_time", DateTime),
    Column("duration", Float),
    Column("cpu_time", Float),
    Column("peak_rss", BigInteger),
    Column("user_name", Text),
    Column("host", Text),
    Column("cwd", Text),
    Column("folder", Text, nullable=False),  # the run folder, on ``host``
    Column("engine", Text),
    Column("hash_algorithm", Text),
    Column("autoprov_version", Text),
    Column("python_version", Text),
    Column("python_implementation", Text),
    Column("platform", Text),  # system release machine
    Column("git_commit", Text),
    Column("git_dirty", Boolean),
    Column("activity_count", Integer, nullable=False),
    Column("entity_count", Integer, nullable=False),
    Column("log_size", BigInteger, nullable=False),  # events.jsonl as indexed: `autoprov index` skips it unchanged
    Column("log_mtime", BigInteger, nullable=False),
    Column("indexed_at", DateTime, nullable=False),
    Index("ix_run_start_time", "start_time"),
    Index("ix_run_status", "status"),
    Index("ix_run_program", "program"),
)

run_package = Table(
    "run_package", metadata, _run_id(),
    Column("name", Text, primary_key=True),
    Column("version", Text),
    **ROW_KEYED,
)

agent = Table(
    "agent", metadata, _run_id(),
    Column("id", Text, primary_key=True),
    Column("name", Text),
    Column("type", Text),  # Person, SoftwareAgent
    Column("comment", Text),
    **ROW_KEYED,
)

activitydescription = Table(
    "activitydescription", metadata, _run_id(),
    Column("id", Text, primary_key=True),  # desc:<qualified name>
    Column("name", Text, nullable=False),
    Column("label", Text),
    Column("description", Text),
    Column("docurl", Text),
    Column("type", Text),
    Column("subtype", Text),
    Column("origin", Text),  # the filter file and line of the rule
    **ROW_KEYED,
)

entitydescription = Table(
    "entitydescription", metadata, _run_id(),
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("description", Text),
    Column("docurl", Text),
    Column("content_type", Text),
    **ROW_KEYED,
)


def _role_description(name: str) -> Table:
    return Table(
        name, metadata, _run_id(),
        Column("id", Text, primary_key=True),
        Column("activity_description_id", Text, nullable=False),
        Column("role", Text, nullable=False),
        Column("description", Text),
        Column("multiplicity", Text),
        Column("entity_description_id", Text),
        **ROW_KEYED,
    )


usagedescription = _role_description("usagedescription")
generationdescription = _role_description("generationdescription")

parameterdescription = Table(
    "parameterdescription", metadata, _run_id(),
    Column("id", Text, primary_key=True),
    Column("activity_description_id", Text, nullable=False),
    Column("name", Text, nullable=False),  # the parameter's name in activities (argument or self.path)
    Column("label", Text),
    Column("description", Text),
    Column("unit", Text),
    Column("ucd", Text),
    Column("min", Text),
    Column("max", Text),
    Column("options", Text),
    Column("default", Text),
    Column("key", Boolean),  # a key parameter of its activity: named with its step by lineage (docs/filters.md)
    **ROW_KEYED,
)

activity = Table(
    "activity", metadata, _run_id(),
    Column("id", Text, primary_key=True),  # run:session, run:act_<n>
    Column("seq", Integer, nullable=False),  # <n>; 0 for the run's session
    Column("name", Text, nullable=False),  # the qualified function name
    Column("start_time", DateTime),
    Column("end_time", DateTime),
    Column("status", Text),
    Column("error", Text),
    Column("thread", Text),
    Column("rule", Text),
    Column("parent_id", Text),  # wasStartedBy: the enclosing call, run:session for the script's calls
    Column("activity_description_id", Text),
    Column("accessor", Text),  # "getter": a call of a property's getter (autoprov:accessor), a read
    Index("ix_activity_name", "name"),
    **ROW_KEYED,
)

parameter = Table(
    "parameter", metadata, _run_id(),
    Column("activity_id", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("value", Text),  # strings as they are, other values as compact JSON
    Column("parameter_description_id", Text),
    **ROW_KEYED,
)
Index("ix_parameter_name_value", parameter.c.name, value_key(parameter.c.value))

entity = Table(
    "entity", metadata, _run_id(),
    Column("id", Text, primary_key=True),  # file:<alg>_<hex>, run:obj_<n>, run:path_<n>, run:environment
    Column("kind", Text, nullable=False),  # file, path, object, plan (the script), environment
    Column("name", Text),  # file name, object name or type
    Column("location", Text),  # absolute path of a file or path
    Column("digest", Text),  # <algorithm>:<hex>: the file's identity
    Column("size", BigInteger),
    Column("mtime", DateTime),
    Column("version", Integer),  # 0: as found before the run; each write starts a new one
    Column("python_type", Text),
    Column("annotation", Text),  # the object's description (repr, shape, ...) as JSON
    Column("generated_at_time", DateTime),
    Column("invalidated_at_time", DateTime),
    Column("entity_description_id", Text),
    # only files and paths have these: partial indexes leave the many object entities out
    Index("ix_entity_digest", "digest", sqlite_where=text("digest IS NOT NULL"), postgresql_where=text("digest IS NOT NULL")),
    Index("ix_entity_location", "location", sqlite_where=text("location IS NOT NULL"), postgresql_where=text("location IS NOT NULL")),
    **ROW_KEYED,
)


def _link(name: str, *columns: Column, indexes: tuple[tuple[str, ...], ...] = ()) -> Table:
    table = Table(name, metadata, _run_id(), *columns, **ROW_KEYED)
    for names in indexes:
        Index(f"ix_{name}_{'_'.join(names)}", *(table.c[n] for n in names))
    return table


used = _link(
    "used",
    Column("activity_id", Text, primary_key=True),
    Column("entity_id", Text, primary_key=True),
    Column("role", Text),
    Column("time", DateTime),
    Column("usage_description_id", Text),
    indexes=(("run_id", "entity_id"),),
)
wasgeneratedby = _link(
    "wasgeneratedby",
    Column("entity_id", Text, primary_key=True),
    Column("activity_id", Text, primary_key=True),
    Column("role", Text),
    Column("time", DateTime),
    Column("generation_description_id", Text),
)
wasderivedfrom = _link(
    "wasderivedfrom",
    Column("generated_entity_id", Text, primary_key=True),
    Column("used_entity_id", Text, primary_key=True),
    Column("activity_id", Text),
)
wasassociatedwith = _link(
    "wasassociatedwith",
    Column("activity_id", Text, primary_key=True),
    Column("agent_id", Text, primary_key=True),
    Column("role", Text),
    Column("plan_id", Text),
)
wasattributedto = _link(
    "wasattributedto",
    Column("entity_id", Text, primary_key=True),
    Column("agent_id", Text, primary_key=True),
    Column("role", Text),
)
wasinformedby = _link(
    "wasinformedby",
    Column("informed_id", Text, primary_key=True),
    Column("informant_id", Text, primary_key=True),
)
hadmember = _link(
    "hadmember",
    Column("collection_id", Text, primary_key=True),
    Column("entity_id", Text, primary_key=True),
)

# Every table holding a run's rows, in the order rows are inserted (run last: its row says "indexed").
RUN_TABLES = (
    agent, activitydescription, entitydescription, usagedescription, generationdescription,
    parameterdescription, activity, parameter, entity, used, wasgeneratedby, wasderivedfrom,
    wasassociatedwith, wasattributedto, wasinformedby, hadmember, run_package, run,
)
