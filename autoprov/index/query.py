"""Finding runs in the index: the filters of ``autoprov list`` and run look-up by id.

Files named in filters are identified by their current content, hashed here with each algorithm
the index holds, so ``--used calib.fits`` finds the runs that read this content under any path;
a path that does not exist (any more) is matched by location instead.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from ..errors import StoreError, UsageError
from . import schema

DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)")
UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


@dataclass
class RunInfo:
    """One run as the index knows it (a row of ``autoprov list``; ``dataclasses.asdict`` for a table)."""

    run_id: str
    status: str
    exit_code: int | None
    program: str | None
    command: str | None
    start_time: datetime | None
    end_time: datetime | None
    duration: float | None
    activities: int
    entities: int
    user: str | None
    host: str | None
    folder: str
    python: str | None
    platform: str | None
    script_digest: str | None
    git_commit: str | None


def run_info(row: Any) -> RunInfo:
    return RunInfo(
        row.run_id, row.status, row.exit_code, row.program, row.command, row.start_time, row.end_time,
        row.duration, row.activity_count, row.entity_count, row.user_name, row.host, row.folder,
        row.python_version, row.platform, row.script_digest, row.git_commit,
    )


def parse_duration(text: str) -> timedelta:
    """``90m``, ``12h``, ``30d``, ``2w``, ``1d12h``: a timedelta (UsageError otherwise)."""
    compact = text.replace(" ", "")
    parts = DURATION.findall(compact)
    if not parts or "".join(number + unit for number, unit in parts) != compact:
        raise UsageError(f"cannot read the duration {text!r}: use a number and a unit, s, m, h, d or w (e.g. 30d, 12h)")
    return timedelta(seconds=sum(float(number) * UNITS[unit] for number, unit in parts))


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """A naive UTC datetime from ISO 8601 (local time unless it says otherwise) or a duration ago."""
    now = now or datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            return (now - parse_duration(text)).replace(tzinfo=None)
        except UsageError:
            raise UsageError(f"cannot read the time {text!r}: give a date (2026-12-01), a time (2026-12-01T18:00) or an age (3d, 12h)") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # local time, as the user reads their clock
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def file_digests(connection: Connection, path: Path) -> list[str]:
    """``<algorithm>:<hex>`` of the file's current content for each algorithm runs in the index used."""
    from ..recorder.files import hash_file

    if not path.is_file():
        return []
    algorithms = [row[0] for row in connection.execute(select(schema.run.c.hash_algorithm).distinct()) if row[0] and row[0] != "none"]
    digests = []
    for algorithm in algorithms or ["xxh3_128"]:
        hexdigest, _, _ = hash_file(str(path), algorithm)
        if hexdigest:
            digests.append(f"{algorithm}:{hexdigest}")
    return digests


def _touched(connection: Connection, link: Any, path: Path) -> Any:
    """A condition on ``run``: the run used (or generated) this file's content, or this path."""
    entity = schema.entity.c
    digests = file_digests(connection, path)
    identity = entity.digest.in_(digests) if digests else entity.location == str(path.absolute())
    runs = (select(link.c.run_id).join(schema.entity, (entity.run_id == link.c.run_id) & (entity.id == link.c.entity_id))
            .where(entity.kind.in_(("file", "plan")), identity))
    return schema.run.c.run_id.in_(runs)


def parameter_filter(text: str) -> Any:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise UsageError(f"--param {text!r}: give NAME=VALUE (e.g. --param aeff_percent=10)")
    parameter = schema.parameter.c
    conditions = [parameter.name == name, schema.value_key(parameter.value) == value[: schema.VALUE_PREFIX]]
    if len(value) >= schema.VALUE_PREFIX:  # a shorter value is equal when its prefix is
        conditions.append(parameter.value == value)
    runs = select(parameter.run_id).where(*conditions)
    return schema.run.c.run_id.in_(runs)  # uncorrelated: one index look-up, not one per run


def find_runs(
    connection: Connection,
    status: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    script: str | None = None,
    params: list[str] | None = None,
    used: list[Path] | None = None,
    generated: list[Path] | None = None,
) -> list[RunInfo]:
    """Runs matching every filter given, oldest first."""
    run = schema.run.c
    conditions: list[Any] = []
    if status:
        conditions.append(run.status.in_(status))
    if since is not None:
        conditions.append(run.start_time >= since)
    if until is not None:
        conditions.append(run.start_time <= until)
    if script:
        absolute = os.path.abspath(script)
        conditions.append(or_(run.program == script, run.program == absolute, run.script_path == absolute,
                              run.program.like(f"%/{_like(script)}", escape="\\")))
    conditions += [parameter_filter(text) for text in params or ()]
    conditions += [_touched(connection, schema.used, Path(path)) for path in used or ()]
    conditions += [_touched(connection, schema.wasgeneratedby, Path(path)) for path in generated or ()]
    query = select(schema.run).where(*conditions).order_by(run.start_time, run.run_id)
    return [run_info(row) for row in connection.execute(query)]


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def resolve_run(connection: Connection, spec: str, label: str) -> RunInfo:
    """A run by id, unique id prefix, ``latest`` or ``-N`` (the N-th newest)."""
    run = schema.run.c
    if spec == "latest" or re.fullmatch(r"-\d+", spec):
        back = 1 if spec == "latest" else int(spec[1:])
        rows = connection.execute(select(schema.run).order_by(run.start_time.desc(), run.run_id.desc()).offset(back - 1).limit(1)).all()
    else:
        rows = connection.execute(select(schema.run).where(run.run_id == spec)).all() or connection.execute(
            select(schema.run).where(run.run_id.like(f"{_like(spec)}%", escape="\\")).limit(2)).all()
    if len(rows) == 1:
        return run_info(rows[0])
    if not rows:
        raise StoreError(f"{label}: no run {spec!r} in the index; see `autoprov list`")
    raise StoreError(f"{label}: run prefix {spec!r} is ambiguous; give more of the run id")
